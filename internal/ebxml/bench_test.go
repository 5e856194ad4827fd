package ebxml

import (
	"testing"
	"time"
)

// Parse of the EPS FHIR API's parent prescription (21 KB).
func BenchmarkParseParentPrescription(b *testing.B) {
	f, _ := capture(b, "parent-prescription-PORX_IN020101SM31.http")
	ct := f.Header.Get("Content-Type")
	b.SetBytes(int64(len(f.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(ct, f.Body, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// Parse and the Spine's checks, as eps serve does them for each request.
func BenchmarkParseCheckParentPrescription(b *testing.B) {
	f, _ := capture(b, "parent-prescription-PORX_IN020101SM31.http")
	ct := f.Header.Get("Content-Type")
	opts := SpineEPS
	opts.Party, opts.SOAPAction = "YES-0000806", f.Header.Get("SOAPAction")
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(ct, f.Body, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if errs := m.Check(opts); len(errs) != 0 {
			b.Fatal(errs)
		}
	}
}

func BenchmarkBuildParentPrescription(b *testing.B) {
	f, _ := capture(b, "parent-prescription-PORX_IN020101SM31.http")
	m, err := Parse(f.Header.Get("Content-Type"), f.Body, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Build(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAck(b *testing.B) {
	f, _ := capture(b, "parent-prescription-PORX_IN020101SM31.http")
	m, _ := Parse(f.Header.Get("Content-Type"), f.Body, Limits{})
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		Ack(m.Header, "5BB171D4-53B2-4986-90CF-428BE6D157F5", now, "YES-0000806")
	}
}
