package hl7v3

import (
	"testing"

	"github.com/openeps/openeps/internal/testutil"
)

// BenchmarkDecodePrescription decodes (with structural validation) the
// 4-item acute prescription from the fixtures.
func BenchmarkDecodePrescription(b *testing.B) {
	raw := testutil.ReadFixture(b, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePrescription(b *testing.B) {
	raw := testutil.ReadFixture(b, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
	m, err := Decode(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Encode()
	}
}
