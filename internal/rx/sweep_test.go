package rx

import (
	"testing"
	"time"
)

const day = 24 * time.Hour

func sweepAt(d time.Duration) func(w *world) any {
	return func(w *world) any { w.at(d); return sweep{} }
}

func TestSweep(t *testing.T) {
	run(t, []scenario{
		{name: "nothing due: nothing changes",
			given: func(w *world) { w.must(acute(1)) },
			when:  sweepAt(30 * day), statuses: []string{"0001"}},
		{name: "To Be Dispensed at its expiry date: Expired, items 0006",
			given: func(w *world) { w.must(acute(2)) },
			when:  sweepAt(181 * day), stored: true, statuses: []string{"0004"}, items: map[int][]string{1: {"0006", "0006"}},
			check: func(t *testing.T, w *world) {
				is := w.rec.Issues[0]
				if is.CompletionDate != fmtDate(w.now) || w.rec.NextActivity != ActivityDelete || w.rec.NextActivityDate != addDays(fmtDate(w.now), 90) {
					t.Errorf("completion %s next %s %s", is.CompletionDate, w.rec.NextActivity, w.rec.NextActivityDate)
				}
			}},
		{name: "the day before expiry: not yet",
			given:    func(w *world) { w.must(acute(1)) },
			when:     func(w *world) any { w.now = time.Date(2022, 7, 31, 23, 0, 0, 0, time.UTC); return sweep{} },
			statuses: []string{"0001"}},
		{name: "With Dispenser at expiry: Expired",
			given: released(1),
			when:  sweepAt(181 * day), stored: true, statuses: []string{"0004"}, items: map[int][]string{1: {"0006"}}},
		{name: "0003 without a DN message ref expires to Dispensed, items by the expiry mapping",
			given: func(w *world) {
				released(3)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemNotDispensedOwe, ItemWithDispenser))
				w.rec.Issues[0].Dispense.LastNotificationMsgRef = "" // as migrated records have it
			},
			when: sweepAt(181 * day), stored: true, statuses: []string{"0006"},
			items: map[int][]string{1: {"0001", "0002", "0006"}}},
		{name: "0003 with a DN: no-claimed 180 days after the last dispense, items mapped (decision 10)",
			given: func(w *world) {
				released(2)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemNotDispensedOwe))
			},
			when: sweepAt(181 * day), stored: true, statuses: []string{"0009"}, items: map[int][]string{1: {"0001", "0002"}},
			events: []string{"noClaimNotification/"}},
		{name: "Dispensed with no claim in 180 days: No-Claimed, the pricing authority told",
			given: dispensed(1),
			when:  sweepAt(181 * day), stored: true, statuses: []string{"0009"},
			events: []string{"noClaimNotification/"},
			check: func(t *testing.T, w *world) {
				is := w.rec.Issues[0]
				if is.Claim.ReceivedDate != fmtDate(w.now) || is.CompletionDate != fmtDate(w.now) {
					t.Errorf("claim date %s completion %s", is.Claim.ReceivedDate, is.CompletionDate)
				}
				if w.rec.NextActivity != ActivityDelete || w.rec.NextActivityDate != addDays(fmtDate(w.now), 36) {
					t.Errorf("next %s %s", w.rec.NextActivity, w.rec.NextActivityDate)
				}
			}},
		{name: "Claimed: deleted 36 days after the claim",
			given: func(w *world) { dispensed(1)(w); w.at(3 * time.Hour).must(w.claim(pharmacyA, 1)) },
			when:  sweepAt(37 * day), deleted: true},
		{name: "Not Dispensed: deleted after 30 days",
			given: func(w *world) { released(1)(w); w.must(w.dn(pharmacyA, StatusNotDispensed, ItemNotDispensed)) },
			when:  sweepAt(31 * day), deleted: true},
		{name: "Cancelled: deleted after 180 days",
			given: func(w *world) { w.must(acute(1)); w.do(w.cancel("")) },
			when:  sweepAt(181 * day), deleted: true},
		{name: "Cancelled: kept at 179 days",
			given: func(w *world) { w.must(acute(1)); w.do(w.cancel("")) },
			when:  sweepAt(179 * day), statuses: []string{"0005"}},
		{name: "expired long after its date: completed today, deleted 90 days on",
			given: func(w *world) { w.must(acute(1)) },
			when:  sweepAt(400 * day), stored: true, statuses: []string{"0004"},
			check: func(t *testing.T, w *world) {
				if w.rec.NextActivityDate != addDays(fmtDate(w.now), 90) {
					t.Errorf("delete on %s", w.rec.NextActivityDate)
				}
			}},
		{name: "Expired: deleted 90 days later",
			given: func(w *world) { w.must(acute(1)); w.at(181 * day).do(sweep{}) },
			when:  sweepAt(272 * day), deleted: true},
		{name: "a cancellation placeholder nobody claims: deleted after 180 days",
			given: func(w *world) { w.do(w.cancel("")) },
			when:  sweepAt(181 * day), deleted: true},
		{name: "future-dated: To Be Dispensed on its date",
			given: func(w *world) { p := acute(1); p.PrescriptionTime = fmtTime(t0.AddDate(0, 0, 3)); w.must(p) },
			when:  sweepAt(3 * day), stored: true, statuses: []string{"0001"},
			check: func(t *testing.T, w *world) {
				if w.rec.NextActivity != ActivityExpire {
					t.Errorf("next %s", w.rec.NextActivity)
				}
			}},
		{name: "repeat dispensing issue 2 waiting: ready on its nominated download date",
			given: rdSecondIssueWaiting,
			when:  sweepAt(21 * day), stored: true, statuses: []string{"0006", "0001", "9000"}, current: 2},
		{name: "repeat dispensing: expiring the current issue expires every later one",
			given: func(w *world) { w.must(repeatDispensing(3, 1)) },
			when:  sweepAt(181 * day), stored: true, statuses: []string{"0004", "0004", "0004"}, current: 3},
		{name: "repeat dispensing: an earlier issue is no-claimed while a later one waits",
			given: rdSecondIssueWaiting,
			when: func(w *world) any {
				// issue 2 is released and dispensed on day 21 (issue 3 then
				// waits for 20220322); on day 181 issue 1's no-claim is due
				// and issue 3's ready date has passed.
				w.at(21 * day).do(sweep{})
				w.must(w.release(pharmacyA))
				w.must(w.dn(pharmacyA, StatusDispensed))
				w.at(181 * day)
				return sweep{}
			},
			stored: true, statuses: []string{"0009", "0006", "0001"}, current: 3,
			events: []string{"noClaimNotification/"}},
		{name: "repeat dispensing: a no-claim releases the next issue",
			given: func(w *world) {
				w.must(repeatDispensing(2, 1))
				w.at(time.Hour).must(w.release(pharmacyA))
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed))
			},
			when: sweepAt(181 * day), stored: true, statuses: []string{"0009", "0001"}, current: 2,
			events: []string{"noClaimNotification/"}},
	})
}

func TestSweepIsIdempotent(t *testing.T) {
	for _, given := range []func(*world){
		func(w *world) { w.must(acute(1)) },
		dispensed(2),
		rdSecondIssueWaiting,
		func(w *world) { w.do(w.cancel("")) },
	} {
		w := newWorld(t)
		given(w)
		for _, at := range []time.Duration{21 * day, 181 * day, 200 * day, 400 * day} {
			w.at(at).do(sweep{})
			if w.err != nil {
				t.Fatal(w.err)
			}
			again, err := Sweep(w.cfg, w.rec, w.now)
			if err != nil || again.Record != nil || again.Delete || len(again.Events) != 0 {
				t.Fatalf("sweeping twice at %v changed something: %+v %v", at, again, err)
			}
		}
	}
}
