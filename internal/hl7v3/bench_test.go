package hl7v3

import (
	"syscall"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/testutil"
)

// cpuTime is the CPU time the process has used (user + system). Benchmarks
// report it per operation beside the wall-clock ns/op: on a machine shared
// with other work the wall clock measures the neighbours too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkDecodePrescription decodes, with structural validation (Decode)
// and the Spine's further checks (Validate), the 4-item acute prescription
// from the fixtures. Target: 50 µs per message on one core (-cpu 1).
func BenchmarkDecodePrescription(b *testing.B) {
	raw := testutil.ReadFixture(b, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		m, err := Decode(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := Validate(m); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

func BenchmarkEncodePrescription(b *testing.B) {
	raw := testutil.ReadFixture(b, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
	m, err := Decode(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		_ = m.Encode()
	}
	reportCPU(b, start)
}

// BenchmarkReleaseResponse builds and encodes the answer to a nominated
// release of that prescription.
func BenchmarkReleaseResponse(b *testing.B) {
	m, err := Decode(testutil.ReadFixture(b, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml"))
	if err != nil {
		b.Fatal(err)
	}
	items := []ReleasedPrescription{{Prescription: m.Payload().(*PORX_MT132004UK31_ParentPrescription)}}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		r, err := NewReleaseResponse(testWrapper, NominatedReleaseResponse, "REF", "REQ", items, BatchInfo{InResponse: 1, BatchSize: 25})
		if err != nil {
			b.Fatal(err)
		}
		_ = r.Encode()
	}
	reportCPU(b, start)
}
