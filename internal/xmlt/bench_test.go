package xmlt

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/openeps/openeps/internal/testutil"
)

func BenchmarkTokenize(b *testing.B) {
	raw := testutil.ReadFixture(b, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
	s := string(raw)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		d := NewDecoderString(s, Limits{})
		n = 0
		for {
			k, err := d.Next()
			if err != nil {
				b.Fatal(err)
			}
			if k == EOF {
				break
			}
			n++
		}
	}
	b.ReportMetric(float64(n), "tokens")
}

func BenchmarkStdlibTokenize(b *testing.B) {
	raw := testutil.ReadFixture(b, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		d := xml.NewDecoder(bytes.NewReader(raw))
		for {
			_, err := d.RawToken()
			if err != nil {
				break
			}
		}
	}
}

// BenchmarkTokenizeSkipSpace tokenizes as hl7v3 does: the layout white space
// between elements is skipped, not returned.
func BenchmarkTokenizeSkipSpace(b *testing.B) {
	raw := testutil.ReadFixture(b, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
	s := string(raw)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		d := NewDecoderString(s, Limits{})
		d.SkipSpace = true
		n = 0
		for {
			k, err := d.Next()
			if err != nil {
				b.Fatal(err)
			}
			if k == EOF {
				break
			}
			n++
		}
	}
	b.ReportMetric(float64(n), "tokens")
}
