package rx

import (
	"reflect"
	"testing"
	"time"
)

// rdSecondIssueWaiting: a 3-issue repeat dispensing prescription whose issue 1
// was dispensed at t0+2h; issue 2's nominated download date (prescription date
// + 28 d − 7 d = 20220222) is ahead, so issue 2 is 0000.
func rdSecondIssueWaiting(w *world) {
	w.must(repeatDispensing(3, 1))
	w.at(time.Hour).must(w.release(pharmacyA))
	w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusDispensed))
}

func TestPatientRelease(t *testing.T) {
	run(t, []scenario{
		{name: "To Be Dispensed: with the dispenser, items 0008, shown with their previous statuses",
			given: func(w *world) { w.must(acute(2)) },
			when:  func(w *world) any { return w.release(pharmacyB) },
			ack:   AckAccepted, kind: AnswerReleaseResponse, stored: true,
			statuses: []string{"0002"}, items: map[int][]string{1: {"0008", "0008"}},
			check: func(t *testing.T, w *world) {
				rel := w.out.Answer.Released
				if len(rel) != 1 || rel[0].Status != "0001" || rel[0].Items[0].Status != "0007" || rel[0].MessageRef != w.rec.MessageRef {
					t.Errorf("released %+v", rel)
				}
				is := w.rec.Issues[0]
				if is.Dispense.DispenserODS != pharmacyB || is.ReleaseDate != fmtDate(w.now) || len(is.DispenseHistory) != 1 {
					t.Errorf("issue %+v", is)
				}
				// exemption dates: day before the 16th birthday, the 60th birthday
				if w.rec.Patient.LowerAgeLimit != "19851231" || w.rec.Patient.HigherAgeLimit != "20300101" {
					t.Errorf("exemption dates %s %s", w.rec.Patient.LowerAgeLimit, w.rec.Patient.HigherAgeLimit)
				}
			}},
		{name: "0000 by patient release before the ready date (decision 11), shown as 0001",
			given: rdSecondIssueWaiting,
			when:  func(w *world) any { return w.at(3 * time.Hour).release(pharmacyA) },
			ack:   AckAccepted, stored: true, statuses: []string{"0006", "0002", "9000"}, current: 2,
			check: func(t *testing.T, w *world) {
				r := w.out.Answer.Released[0]
				if r.Status != "0001" || r.Issue != 2 || r.MaxRepeats != 3 || r.Items[0].CurrentInstance != 2 || r.PriorPreviousIssueDate == "" {
					t.Errorf("released %+v", r)
				}
			}},
		{name: "held by another dispenser: 0004 naming the holder",
			given: released(1),
			when:  func(w *world) any { return w.release(pharmacyB) },
			ack:   AckError, kind: AnswerReleaseRejection, codes: []string{d + "/0004"},
			check: func(t *testing.T, w *world) {
				if w.out.Answer.Performer == nil || w.out.Answer.Performer.ODS != pharmacyA {
					t.Errorf("performer %+v", w.out.Answer.Performer)
				}
			}},
		{name: "held by the same dispenser: released again (decision 14)",
			given: released(1),
			when:  func(w *world) any { return w.release(pharmacyA) },
			ack:   AckAccepted, kind: AnswerReleaseResponse, stored: true, statuses: []string{"0002"},
			check: func(t *testing.T, w *world) {
				if r := w.out.Answer.Released[0]; r.Status != "0001" || r.Items[0].Status != "0007" {
					t.Errorf("re-release shows %+v", r)
				}
			}},
		{name: "held by the same dispenser, RejectDoubleRelease: 0004",
			cfg:   func(c *Config) { c.RejectDoubleRelease = true },
			given: released(1),
			when:  func(w *world) any { return w.release(pharmacyA) },
			ack:   AckError, kind: AnswerReleaseRejection, codes: []string{d + "/0004"}},
		{name: "cancelled: 0001",
			given: func(w *world) { w.must(acute(1)); w.do(w.cancel("")) },
			when:  func(w *world) any { return w.release(pharmacyA) },
			kind:  AnswerReleaseRejection, ack: AckError, codes: []string{d + "/0001"}},
		{name: "expired: 0002",
			given: func(w *world) { w.must(acute(1)); w.at(24 * 200 * time.Hour).do(sweep{}) },
			when:  func(w *world) any { return w.release(pharmacyA) },
			ack:   AckError, codes: []string{d + "/0002"}},
		{name: "not found: 0003",
			when: func(w *world) any { return w.release(pharmacyA) }, ack: AckError, codes: []string{d + "/0003"}},
		{name: "only a cancellation placeholder: 0003",
			given: func(w *world) { w.do(w.cancel("")) },
			when:  func(w *world) any { return w.release(pharmacyA) }, ack: AckError, codes: []string{d + "/0003"}},
		{name: "future-dated: 0003 (decision R3)",
			given: func(w *world) { p := acute(1); p.PrescriptionTime = fmtTime(t0.AddDate(0, 0, 5)); w.must(p) },
			when:  func(w *world) any { return w.release(pharmacyA) }, ack: AckError, codes: []string{d + "/0003"}},
		{name: "dispensed: 0005",
			given: dispensed(1),
			when:  func(w *world) any { return w.release(pharmacyA) }, ack: AckError, codes: []string{d + "/0005"}},
		{name: "a prescription ID that is not one",
			when: func(w *world) any { r := w.release(pharmacyA); r.PrescriptionID = "nonsense"; return r }, err: d + "/5000"},
	})
}

func TestNominatedRelease(t *testing.T) {
	run(t, []scenario{
		{name: "nominated to the sender and To Be Dispensed: released",
			given: func(w *world) { w.must(acute(1)) },
			when:  func(w *world) any { return w.nominated(pharmacyA) },
			ack:   AckAccepted, kind: AnswerReleaseResponse, stored: true, statuses: []string{"0002"}},
		{name: "nominated to someone else: nothing for the sender (0006)",
			given: func(w *world) { w.must(acute(1)) },
			when:  func(w *world) any { return w.nominated(pharmacyB) },
			ack:   AckError, kind: AnswerReleaseRejection, codes: []string{d + "/0006"}, statuses: []string{"0001"}},
		{name: "0000 waits for the ready sweep",
			given: rdSecondIssueWaiting,
			when:  func(w *world) any { return w.at(3 * time.Hour).nominated(pharmacyA) },
			ack:   AckError, codes: []string{d + "/0006"}, statuses: []string{"0006", "0000", "9000"}},
		{name: "returned prescriptions leave the nominated queue",
			given: func(w *world) { released(1)(w); w.must(w.ret(pharmacyA)) },
			when:  func(w *world) any { return w.nominated(pharmacyA) },
			ack:   AckError, codes: []string{d + "/0006"}, statuses: []string{"0001"}},
	})
}

func TestNominatedBatches(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NominatedBatchSize = 2
	var recs []*Record
	for i := 0; i < 3; i++ {
		p := acute(1)
		p.ID = shortID("24F5D"+string(rune('A'+i)), "7EFE6")
		o, err := Create(cfg, nil, p, t0)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, o.Record)
	}
	// Another pharmacy's prescription among the candidates is left alone.
	other := acute(1)
	other.ID, other.NominatedODS = shortID("24F5DF", "7EFE6"), pharmacyB
	ob, _ := Create(cfg, nil, other, t0)
	cands := append([]*Record{ob.Record}, recs...)
	req := NominatedReleaseRequest{Meta: Meta{MessageID: newMsgID(), SenderODS: pharmacyA}, RequestID: newMsgID()}
	first, err := ReleaseNominated(cfg, cands, req, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Records) != 2 || len(first.Answer.Released) != 2 || !first.Answer.More {
		t.Fatalf("first batch: %d records, %d released, more=%v", len(first.Records), len(first.Answer.Released), first.Answer.More)
	}
	if first.Records[0].Key() != recs[0].Key() || first.Records[1].Key() != recs[1].Key() {
		t.Errorf("not oldest first: %s %s", first.Records[0].Key(), first.Records[1].Key())
	}
	// The caller stores them; the next request sees the rest.
	cands = []*Record{ob.Record, first.Records[0], first.Records[1], recs[2]}
	req2 := NominatedReleaseRequest{Meta: Meta{MessageID: newMsgID(), SenderODS: pharmacyA}, RequestID: newMsgID()}
	second, _ := ReleaseNominated(cfg, cands, req2, t0.Add(2*time.Hour))
	if len(second.Records) != 1 || second.Answer.More || second.Records[0].Key() != recs[2].Key() {
		t.Fatalf("second batch: %+v", second.Answer)
	}
	cands[3] = second.Records[0]
	req3 := NominatedReleaseRequest{Meta: Meta{MessageID: newMsgID(), SenderODS: pharmacyA}, RequestID: newMsgID()}
	third, _ := ReleaseNominated(cfg, cands, req3, t0.Add(3*time.Hour))
	if len(third.Records) != 0 || third.Answer.Kind != AnswerReleaseRejection || code(third.Answer.Code()) != d+"/0006" {
		t.Fatalf("third request: %+v", third.Answer)
	}
	// A candidate record the request already released is not released twice.
	again, _ := ReleaseNominated(cfg, []*Record{first.Records[0]}, req, t0.Add(4*time.Hour))
	if len(again.Records) != 0 {
		t.Errorf("released twice by the same request")
	}
	if !reflect.DeepEqual(recs[0].Issues[0].Status, StatusToBeDispensed) {
		t.Errorf("a candidate passed in was changed")
	}
}

func TestReturn(t *testing.T) {
	run(t, []scenario{
		{name: "returned by its dispenser: To Be Dispensed again, nomination cleared",
			given: released(2),
			when:  func(w *world) any { return w.ret(pharmacyA) },
			ack:   AckAccepted, kind: AnswerAck, stored: true,
			statuses: []string{"0001"}, items: map[int][]string{1: {"0007", "0007"}},
			check: func(t *testing.T, w *world) {
				if w.rec.Nomination.ODS != "" || !reflect.DeepEqual(w.rec.Nomination.History, []string{pharmacyA}) ||
					w.rec.Issues[0].Dispense.DispenserODS != "" {
					t.Errorf("nomination %+v dispenser %q", w.rec.Nomination, w.rec.Issues[0].Dispense.DispenserODS)
				}
			}},
		{name: "by another dispenser: 0012",
			given: released(1),
			when:  func(w *world) any { return w.ret(pharmacyB) }, ack: AckError, codes: []string{p + "/0012"}},
		{name: "not with a dispenser: 0012 (BENCH CHAIN009)",
			given: func(w *world) { w.must(acute(1)) },
			when:  func(w *world) any { return w.ret(pharmacyA) }, ack: AckError, codes: []string{p + "/0012"}},
		{name: "part dispensed: 0012",
			given: func(w *world) {
				released(2)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemWithDispenser))
			},
			when: func(w *world) any { return w.ret(pharmacyA) }, ack: AckError, codes: []string{p + "/0012"}},
		{name: "dispensed: 16.34/0005 (BENCH CHAIN017)",
			given: dispensed(1),
			when:  func(w *world) any { return w.ret(pharmacyA) }, ack: AckError, codes: []string{d + "/0005"}},
		{name: "unknown prescription: 0005 (BENCH CHAIN056)",
			when: func(w *world) any { return w.ret(pharmacyA) }, ack: AckError, codes: []string{p + "/0005"}},
	})
}
