package dispense

import (
	"testing"

	"github.com/openeps/openeps/internal/testutil"
)

// The builders run once per message a simulated pharmacy sends (eps demo,
// eps bench): they must stay far below the Spine's own cost per message.

func benchReleased(b *testing.B) Released {
	b.Helper()
	rel, err := ReadRelease(testutil.ReadFixture(b, "hl7v3", "PORX_IN070101UK31-nominated-release-response.xml"))
	if err != nil {
		b.Fatal(err)
	}
	return rel[0]
}

func BenchmarkReadRelease(b *testing.B) {
	msg := testutil.ReadFixture(b, "hl7v3", "PORX_IN070101UK31-nominated-release-response.xml")
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadRelease(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNominatedRelease(b *testing.B) {
	d := Example()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NominatedRelease(d, day0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNotification(b *testing.B) {
	r, d := benchReleased(b), Example()
	sup := FullSupplies(r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Notification(d, r, sup, day0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClaim(b *testing.B) {
	r, d := benchReleased(b), Example()
	sup := FullSupplies(r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Claim(d, r, sup, day0, WithExemption(Exemption{Code: "0001"})); err != nil {
			b.Fatal(err)
		}
	}
}
