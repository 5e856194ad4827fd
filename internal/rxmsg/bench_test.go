package rxmsg

import (
	"testing"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/testutil"
)

// BenchmarkPrescriptionInput: the mapping alone (decoding is internal/hl7v3's).
func BenchmarkPrescriptionInput(b *testing.B) {
	m, err := hl7v3.Decode(testutil.ReadFixture(b, "hl7v3", "PORX_IN020101UK31-parent-prescription-multi-line-item.xml"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PrescriptionInput(m, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNotificationInput(b *testing.B) {
	m, err := hl7v3.Decode(testutil.ReadFixture(b, "hl7v3", "PORX_IN080101UK31-dispense-notification.xml"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Input(m, now); err != nil {
			b.Fatal(err)
		}
	}
}
