package rx

import (
	"testing"
	"time"
)

// released creates an acute prescription and releases it to pharmacyA.
func released(n int) func(w *world) {
	return func(w *world) { w.must(acute(n)); w.at(time.Hour).must(w.release(pharmacyA)) }
}

// dispensed releases and fully dispenses an acute prescription.
func dispensed(n int) func(w *world) {
	return func(w *world) { released(n)(w); w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusDispensed)) }
}

func TestCancel(t *testing.T) {
	run(t, []scenario{
		{name: "whole prescription To Be Dispensed: cancelled, items too (decision 16)",
			given: func(w *world) { w.must(acute(2)) },
			when:  func(w *world) any { return w.cancel("") },
			ack:   AckAccepted, kind: AnswerCancelResponse, codes: []string{cx + "/0001"}, stored: true,
			statuses: []string{"0005"}, items: map[int][]string{1: {"0005", "0005"}},
			check: func(t *testing.T, w *world) {
				if w.rec.Issues[0].CompletionDate != fmtDate(w.now) || len(w.rec.Issues[0].Cancellations) != 1 {
					t.Errorf("completion %s cancellations %d", w.rec.Issues[0].CompletionDate, len(w.rec.Issues[0].Cancellations))
				}
			}},
		{name: "future-dated 9001: cancelled",
			given: func(w *world) { p := acute(1); p.PrescriptionTime = fmtTime(t0.AddDate(0, 0, 5)); w.must(p) },
			when:  func(w *world) any { return w.cancel("") },
			ack:   AckAccepted, codes: []string{cx + "/0001"}, stored: true, statuses: []string{"0005"}},
		{name: "repeat dispensing: the current issue and every later one",
			given: func(w *world) { w.must(repeatDispensing(3, 1)) },
			when:  func(w *world) any { return w.cancel("") },
			ack:   AckAccepted, codes: []string{cx + "/0001"}, stored: true,
			statuses: []string{"0005", "0005", "0005"}, current: 3},
		{name: "repeat dispensing issue 2 waiting (0000): cancelled from there on",
			given: func(w *world) {
				w.must(repeatDispensing(3, 1))
				w.at(time.Hour).must(w.release(pharmacyA))
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusDispensed))
			},
			when: func(w *world) any { return w.cancel("") },
			ack:  AckAccepted, codes: []string{cx + "/0001"}, stored: true,
			statuses: []string{"0006", "0005", "0005"}},
		{name: "with dispenser: marked for cancellation, performer named",
			given: released(1),
			when:  func(w *world) any { return w.cancel("") },
			ack:   AckError, codes: []string{cx + "/0002"}, stored: true, statuses: []string{"0002"},
			check: func(t *testing.T, w *world) {
				if len(w.rec.PendingCancellations) != 1 || w.out.Answer.Performer == nil || w.out.Answer.Performer.ODS != pharmacyA {
					t.Errorf("pending %v performer %+v", w.rec.PendingCancellations, w.out.Answer.Performer)
				}
			}},
		{name: "with dispenser active: marked for cancellation",
			given: func(w *world) {
				released(2)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemWithDispenser))
			},
			when: func(w *world) any { return w.cancel("") },
			ack:  AckError, codes: []string{cx + "/0003"}, stored: true, statuses: []string{"0003"}},
		{name: "the same cancel again from the same prescriber: the same answer, recorded as a duplicate",
			given: func(w *world) { released(1)(w); w.do(w.cancel("")) },
			when:  func(w *world) any { return w.cancel("") },
			ack:   AckError, codes: []string{cx + "/0002"}, stored: true,
			check: func(t *testing.T, w *world) {
				if len(w.rec.PendingCancellations) != 1 || len(w.rec.UnsuccessfulCancellations) != 1 {
					t.Errorf("pending %d unsuccessful %d", len(w.rec.PendingCancellations), len(w.rec.UnsuccessfulCancellations))
				}
			}},
		{name: "the same cancel from another prescriber: 0007",
			given: func(w *world) { released(1)(w); w.do(w.cancel("")) },
			when:  func(w *world) any { c := w.cancel(""); c.SenderODS = "B81001"; return c },
			ack:   AckError, codes: []string{cx + "/0007"}, stored: true},
		{name: "expired: 0005",
			given: func(w *world) { w.must(acute(1)); w.at(24 * 200 * time.Hour).do(sweep{}) },
			when:  func(w *world) any { return w.cancel("") },
			ack:   AckError, codes: []string{cx + "/0005"}, stored: true, statuses: []string{"0004"}},
		{name: "already cancelled: 0006",
			given: func(w *world) { w.must(acute(1)); w.do(w.cancel("")) },
			when:  func(w *world) any { return w.cancel("") },
			ack:   AckError, codes: []string{cx + "/0006"}, stored: true},
		{name: "dispensed: 0004, performer named",
			given: dispensed(1),
			when:  func(w *world) any { return w.cancel("") },
			ack:   AckError, codes: []string{cx + "/0004"}, stored: true, statuses: []string{"0006"},
			check: func(t *testing.T, w *world) {
				if w.out.Answer.Performer == nil || w.out.Answer.Performer.ODS != pharmacyA {
					t.Errorf("performer %+v", w.out.Answer.Performer)
				}
			}},
		{name: "claimed: 0004",
			given: func(w *world) { dispensed(1)(w); w.at(3 * time.Hour).must(w.claim(pharmacyA, 1)) },
			when:  func(w *world) any { return w.cancel("") },
			ack:   AckError, codes: []string{cx + "/0004"}, stored: true},
		{name: "not dispensed: 0010",
			given: func(w *world) {
				released(1)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusNotDispensed, ItemNotDispensed))
			},
			when: func(w *world) any { return w.cancel("") },
			ack:  AckError, codes: []string{cx + "/0010"}, stored: true},
		{name: "no prescription yet: a placeholder (9005) holds it, 0008 now (decision 17)",
			when: func(w *world) any { return w.cancel("") },
			ack:  AckError, codes: []string{cx + "/0008"}, stored: true, statuses: []string{"9005"},
			check: func(t *testing.T, w *world) {
				if w.rec.PrescriptionPresent || len(w.rec.PendingCancellations) != 1 || w.rec.PrescriptionTime != fmtDate(t0) {
					t.Errorf("placeholder %+v", w.rec)
				}
				if w.rec.NextActivity != ActivityDelete || w.rec.NextActivityDate != "20220731" {
					t.Errorf("placeholder next activity %s %s", w.rec.NextActivity, w.rec.NextActivityDate)
				}
			}},
		{name: "placeholder: a later cancel is blocked by the pending whole cancellation",
			given: func(w *world) { w.do(w.cancel("")) },
			when:  func(w *world) any { return w.cancel(item(1)) },
			ack:   AckError, codes: []string{cx + "/0008"}, stored: true,
			check: func(t *testing.T, w *world) {
				if len(w.rec.PendingCancellations) != 1 || len(w.rec.UnsuccessfulCancellations) != 1 {
					t.Errorf("pending %d unsuccessful %d", len(w.rec.PendingCancellations), len(w.rec.UnsuccessfulCancellations))
				}
			}},
		{name: "placeholder: another prescriber's duplicate is 0007",
			given: func(w *world) { w.do(w.cancel("")) },
			when:  func(w *world) any { c := w.cancel(""); c.SenderODS = "B81001"; return c },
			ack:   AckError, codes: []string{cx + "/0007"}, stored: true},
		{name: "placeholder: cancels of different items are both held",
			given: func(w *world) { w.do(w.cancel(item(1))) },
			when:  func(w *world) any { return w.cancel(item(2)) },
			ack:   AckError, codes: []string{cx + "/0008"}, stored: true,
			check: func(t *testing.T, w *world) {
				if len(w.rec.PendingCancellations) != 2 {
					t.Errorf("pending %d", len(w.rec.PendingCancellations))
				}
			}},
		{name: "a different NHS number: 0008 (decision C3)",
			given: func(w *world) { w.must(acute(1)) },
			when:  func(w *world) any { c := w.cancel(""); c.NHSNumber = "5839945242"; return c },
			ack:   AckError, codes: []string{cx + "/0008"}, stored: true, statuses: []string{"0001"}},
		{name: "replayed cancel: the first answer, nothing stored",
			given: func(w *world) { w.must(acute(1)); w.do(w.cancel("")) },
			when: func(w *world) any {
				c := w.cancel("")
				for id, e := range w.rec.ChangeLog {
					if e.Interaction == "PORX_IN030101UK32" {
						c.MessageID = id
					}
				}
				return c
			},
			ack: AckAccepted, codes: []string{cx + "/0001"}, stored: false, statuses: []string{"0005"}},
		{name: "a cancel without a prescription ID cannot be processed",
			when: func(w *world) any { c := w.cancel(""); c.PrescriptionID = ""; return c }, err: d + "/5000"},
	})
}

func TestCancelLineItem(t *testing.T) {
	run(t, []scenario{
		{name: "item to be dispensed, another still active: the item only",
			given: func(w *world) { w.must(acute(2)) },
			when:  func(w *world) any { return w.cancel(item(1)) },
			ack:   AckAccepted, codes: []string{cx + "/0001"}, stored: true,
			statuses: []string{"0001"}, items: map[int][]string{1: {"0005", "0007"}}},
		{name: "the last active item: the prescription is cancelled too",
			given: func(w *world) { w.must(acute(2)); w.do(w.cancel(item(1))) },
			when:  func(w *world) any { return w.cancel(item(2)) },
			ack:   AckAccepted, codes: []string{cx + "/0001"}, stored: true,
			statuses: []string{"0005"}, items: map[int][]string{1: {"0005", "0005"}}},
		{name: "repeat dispensing: the item in this and every later issue",
			given: func(w *world) { w.must(repeatDispensing(2, 2)) },
			when:  func(w *world) any { return w.cancel(item(2)) },
			ack:   AckAccepted, codes: []string{cx + "/0001"}, stored: true,
			statuses: []string{"0001", "9000"}, items: map[int][]string{1: {"0007", "0005"}, 2: {"0007", "0005"}}},
		{name: "item with the dispenser: marked (0002)",
			given: released(2),
			when:  func(w *world) any { return w.cancel(item(1)) },
			ack:   AckError, codes: []string{cx + "/0002"}, stored: true, items: map[int][]string{1: {"0008", "0008"}}},
		{name: "item part dispensed: marked (0003)",
			given: func(w *world) {
				released(2)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemFullyDispensed))
			},
			when: func(w *world) any { return w.cancel(item(1)) },
			ack:  AckError, codes: []string{cx + "/0003"}, stored: true},
		{name: "item owing: marked too (decision C4)",
			given: func(w *world) {
				released(2)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemNotDispensedOwe, ItemFullyDispensed))
			},
			when: func(w *world) any { return w.cancel(item(1)) },
			ack:  AckError, codes: []string{cx + "/0003"}, stored: true,
			check: func(t *testing.T, w *world) {
				if len(w.rec.PendingCancellations) != 1 {
					t.Errorf("pending %d", len(w.rec.PendingCancellations))
				}
			}},
		{name: "item fully dispensed: 0004",
			given: func(w *world) {
				released(2)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemFullyDispensed, ItemWithDispenser))
			},
			when: func(w *world) any { return w.cancel(item(1)) },
			ack:  AckError, codes: []string{cx + "/0004"}, stored: true},
		{name: "item not dispensed: 0010",
			given: func(w *world) {
				released(2)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemNotDispensed, ItemWithDispenser))
			},
			when: func(w *world) any { return w.cancel(item(1)) },
			ack:  AckError, codes: []string{cx + "/0010"}, stored: true},
		{name: "item already cancelled: 0006",
			given: func(w *world) { w.must(acute(2)); w.do(w.cancel(item(1))) },
			when:  func(w *world) any { return w.cancel(item(1)) },
			ack:   AckError, codes: []string{cx + "/0006"}, stored: true},
		{name: "item expired: 0005",
			given: func(w *world) { w.must(acute(1)); w.at(24 * 200 * time.Hour).do(sweep{}) },
			when:  func(w *world) any { return w.cancel(item(1)) },
			ack:   AckError, codes: []string{cx + "/0005"}, stored: true},
		{name: "an item not on the prescription: 0008",
			given: func(w *world) { w.must(acute(2)) },
			when:  func(w *world) any { return w.cancel(item(7)) },
			ack:   AckError, codes: []string{cx + "/0008"}, stored: true, statuses: []string{"0001"}},
	})
}

func TestPendingCancellation(t *testing.T) {
	run(t, []scenario{
		{name: "returned by the dispenser: the pending cancellation is applied, the canceller told",
			given: func(w *world) { released(1)(w); w.do(w.cancel("")) },
			when:  func(w *world) any { return w.ret(pharmacyA) },
			ack:   AckAccepted, stored: true, statuses: []string{"0005"},
			events: []string{"subsequentCancellation/0001"},
			check: func(t *testing.T, w *world) {
				if len(w.rec.PendingCancellations) != 0 {
					t.Errorf("pending cancellations not cleared (decision 1): %v", w.rec.PendingCancellations)
				}
			}},
		{name: "dispensed: the pending cancellation fails, the canceller told 0004",
			given: func(w *world) { released(1)(w); w.do(w.cancel("")) },
			when:  func(w *world) any { return w.dn(pharmacyA, StatusDispensed) },
			ack:   AckAccepted, stored: true, statuses: []string{"0006"},
			events: []string{"subsequentCancellation/0004"},
			check: func(t *testing.T, w *world) {
				if len(w.rec.PendingCancellations) != 0 || len(w.rec.UnsuccessfulCancellations) != 1 {
					t.Errorf("pending %d unsuccessful %d", len(w.rec.PendingCancellations), len(w.rec.UnsuccessfulCancellations))
				}
			}},
		{name: "not dispensed: fails with 0010",
			given: func(w *world) { released(1)(w); w.do(w.cancel("")) },
			when:  func(w *world) any { return w.dn(pharmacyA, StatusNotDispensed, ItemNotDispensed) },
			ack:   AckAccepted, stored: true, events: []string{"subsequentCancellation/0010"}},
		{name: "part dispensed: still pending",
			given: func(w *world) { released(2)(w); w.do(w.cancel("")) },
			when: func(w *world) any {
				return w.dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemWithDispenser)
			},
			ack: AckAccepted, stored: true, statuses: []string{"0003"},
			check: func(t *testing.T, w *world) {
				if len(w.rec.PendingCancellations) != 1 {
					t.Errorf("pending %d", len(w.rec.PendingCancellations))
				}
			}},
		{name: "a pending item cancellation fails when that item is fully dispensed",
			given: func(w *world) { released(2)(w); w.do(w.cancel(item(1))) },
			when: func(w *world) any {
				return w.dn(pharmacyA, StatusWithDispenserAct, ItemFullyDispensed, ItemPartialDispensed)
			},
			ack: AckAccepted, stored: true, events: []string{"subsequentCancellation/0004"}},
		{name: "repeat dispensing: issue 1 dispensed, the issues to come are cancelled",
			given: func(w *world) {
				w.must(repeatDispensing(3, 1))
				w.at(time.Hour).must(w.release(pharmacyA))
				w.do(w.cancel(""))
			},
			when: func(w *world) any { return w.at(2*time.Hour).dn(pharmacyA, StatusDispensed) },
			ack:  AckAccepted, stored: true, statuses: []string{"0006", "0005", "0005"},
			events: []string{"subsequentCancellation/0001"}},
		{name: "expired while pending: fails with 0005",
			given:  func(w *world) { released(1)(w); w.do(w.cancel("")) },
			when:   func(w *world) any { w.at(24 * 200 * time.Hour); return sweep{} },
			stored: true, statuses: []string{"0004"}, events: []string{"subsequentCancellation/0005"}},
	})
}
