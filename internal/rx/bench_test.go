package rx

import (
	"encoding/json"
	"testing"
	"time"
)

func BenchmarkCreate(b *testing.B) {
	cfg := DefaultConfig()
	p := acute(2)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Create(cfg, nil, p, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAcuteLifecycle: create, release, dispense, claim — the four
// stored changes of the commonest prescription.
func BenchmarkAcuteLifecycle(b *testing.B) {
	cfg := DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		w := &world{t: &testing.T{}, cfg: cfg, now: t0}
		o, _ := Create(cfg, nil, acute(2), t0)
		w.rec = o.Record
		o, _ = Apply(cfg, w.rec, w.release(pharmacyA), t0.Add(time.Hour))
		w.rec = o.Record
		o, _ = Apply(cfg, w.rec, w.dn(pharmacyA, StatusDispensed), t0.Add(2*time.Hour))
		w.rec = o.Record
		o, err := Apply(cfg, w.rec, w.claim(pharmacyA, 1), t0.Add(3*time.Hour))
		if err != nil || o.Record == nil {
			b.Fatal(err, o.Answer)
		}
	}
}

// BenchmarkRecordJSON: what storing and loading a record costs (a six-issue
// repeat dispensing record with its first issue dispensed).
func BenchmarkRecordJSON(b *testing.B) {
	cfg := DefaultConfig()
	w := &world{t: &testing.T{}, cfg: cfg, now: t0}
	o, _ := Create(cfg, nil, repeatDispensing(6, 2), t0)
	w.rec = o.Record
	o, _ = Apply(cfg, w.rec, w.release(pharmacyA), t0.Add(time.Hour))
	w.rec = o.Record
	o, _ = Apply(cfg, w.rec, w.dn(pharmacyA, StatusDispensed), t0.Add(2*time.Hour))
	rec := o.Record
	data, _ := json.Marshal(rec)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := json.Marshal(rec)
		if err != nil {
			b.Fatal(err)
		}
		var back Record
		if err := json.Unmarshal(out, &back); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSweepNothingDue(b *testing.B) {
	cfg := DefaultConfig()
	o, _ := Create(cfg, nil, repeatDispensing(6, 2), t0)
	b.ReportAllocs()
	for b.Loop() {
		if out, _ := Sweep(cfg, o.Record, t0.Add(24*time.Hour)); out.Record != nil {
			b.Fatal("changed")
		}
	}
}

func BenchmarkNominatedRelease25(b *testing.B) {
	cfg := DefaultConfig()
	var cands []*Record
	for i := 0; i < 30; i++ {
		o, _ := Create(cfg, nil, acute(2), t0)
		cands = append(cands, o.Record)
	}
	req := NominatedReleaseRequest{Meta: Meta{MessageID: newMsgID(), SenderODS: pharmacyA}, RequestID: newMsgID()}
	b.ReportAllocs()
	for b.Loop() {
		no, err := ReleaseNominated(cfg, cands, req, t0.Add(time.Hour))
		if err != nil || len(no.Records) != 25 {
			b.Fatal(err, len(no.Records))
		}
	}
}
