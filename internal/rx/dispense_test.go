package rx

import (
	"testing"
	"time"
)

// partly releases two items and dispenses item 1 partially.
func partly(w *world) {
	released(2)(w)
	w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemWithDispenser))
}

func TestDispenseNotification(t *testing.T) {
	run(t, []scenario{
		{name: "complete: Dispensed, completion date, no-claim in 180 days",
			given: released(2),
			when:  func(w *world) any { return w.at(2*time.Hour).dn(pharmacyA, StatusDispensed) },
			ack:   AckAccepted, kind: AnswerAck, stored: true,
			statuses: []string{"0006"}, items: map[int][]string{1: {"0001", "0001"}},
			check: func(t *testing.T, w *world) {
				is := w.rec.Issues[0]
				if is.CompletionDate != "20220201" || is.Dispense.LastDispenseDate != "20220201" || is.LastDispenseStatus != "0006" {
					t.Errorf("issue %+v", is)
				}
				if w.rec.NextActivity != ActivityCreateNoClaim || w.rec.NextActivityDate != "20220731" {
					t.Errorf("next %s %s", w.rec.NextActivity, w.rec.NextActivityDate)
				}
				if is.LineItems[0].Supplied != "28" || len(is.DispenseHistory) != 2 {
					t.Errorf("supplied %q, history %d", is.LineItems[0].Supplied, len(is.DispenseHistory))
				}
				if w.out.Answer.Text != "Dispense notification successful" {
					t.Errorf("text %q", w.out.Answer.Text)
				}
			}},
		{name: "partial: With Dispenser - Active, no-claim 180 days after the last dispense",
			given: released(2),
			when: func(w *world) any {
				return w.at(2*time.Hour).dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemNotDispensedOwe)
			},
			ack: AckAccepted, stored: true, statuses: []string{"0003"}, items: map[int][]string{1: {"0003", "0004"}},
			check: func(t *testing.T, w *world) {
				if w.rec.NextActivity != ActivityCreateNoClaim || w.rec.NextActivityDate != "20220731" {
					t.Errorf("next %s %s", w.rec.NextActivity, w.rec.NextActivityDate)
				}
			}},
		{name: "partial then the rest: Dispensed",
			given: partly,
			when: func(w *world) any {
				return w.at(3*time.Hour).dn(pharmacyA, StatusDispensed, ItemFullyDispensed, ItemFullyDispensed)
			},
			ack: AckAccepted, stored: true, statuses: []string{"0006"}, items: map[int][]string{1: {"0001", "0001"}}},
		{name: "partial then more partial: still 0003",
			given: partly,
			when: func(w *world) any {
				return w.at(3*time.Hour).dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemPartialDispensed)
			},
			ack: AckAccepted, stored: true, statuses: []string{"0003"},
			check: func(t *testing.T, w *world) {
				if s := w.rec.Issues[0].LineItems[0].Supplied; s != "14" {
					t.Errorf("item 1 supplied %s, want 7+7", s)
				}
			}},
		{name: "partial then not dispensed: Not Dispensed",
			given: func(w *world) {
				released(2)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemNotDispensedOwe, ItemNotDispensedOwe))
			},
			when: func(w *world) any {
				return w.at(3*time.Hour).dn(pharmacyA, StatusNotDispensed, ItemNotDispensed, ItemNotDispensed)
			},
			ack: AckAccepted, stored: true, statuses: []string{"0007"}, items: map[int][]string{1: {"0002", "0002"}}},
		{name: "not dispensed at all: 0007, deleted 30 days on",
			given: released(1),
			when:  func(w *world) any { return w.dn(pharmacyA, StatusNotDispensed, ItemNotDispensed) },
			ack:   AckAccepted, stored: true, statuses: []string{"0007"},
			check: func(t *testing.T, w *world) {
				if w.rec.NextActivity != ActivityDelete || w.rec.NextActivityDate != "20220303" {
					t.Errorf("next %s %s", w.rec.NextActivity, w.rec.NextActivityDate)
				}
			}},
		{name: "item set differs: 0014 (BENCH CHAIN059)",
			given: released(2),
			when:  func(w *world) any { d := w.dn(pharmacyA, StatusDispensed); d.Items = d.Items[:1]; return d },
			ack:   AckError, codes: []string{p + "/0014"}, statuses: []string{"0002"}},
		{name: "an unknown item: 0014",
			given: released(1),
			when:  func(w *world) any { d := w.dn(pharmacyA, StatusDispensed); d.Items[0].ID = item(9); return d },
			ack:   AckError, codes: []string{p + "/0014"}},
		{name: "a fully dispensed item going back to partial: 0013 (BENCH CHAIN058)",
			given: func(w *world) {
				released(2)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemFullyDispensed, ItemWithDispenser))
			},
			when: func(w *world) any {
				return w.at(3*time.Hour).dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemPartialDispensed)
			},
			ack: AckError, codes: []string{p + "/0013"}},
		{name: "repeat dispensing with a wrong item repeat count: 0018",
			given: func(w *world) { w.must(repeatDispensing(3, 1)); w.at(time.Hour).must(w.release(pharmacyA)) },
			when:  func(w *world) any { d := w.dn(pharmacyA, StatusDispensed); d.Items[0].RepeatHigh = 2; return d },
			ack:   AckError, codes: []string{p + "/0018"}},
		{name: "repeat dispensing, item repeat count = the prescription's: accepted (SPII-14044)",
			given: func(w *world) {
				p := repeatDispensing(3, 2)
				p.LineItems[1].RepeatHigh = 2
				w.must(p)
				w.at(time.Hour).must(w.release(pharmacyA))
			},
			when: func(w *world) any { d := w.dn(pharmacyA, StatusDispensed); d.Items[1].RepeatHigh = 3; return d },
			ack:  AckAccepted, stored: true, statuses: []string{"0006", "0000", "9000"}},
		{name: "not released: 0012",
			given: func(w *world) { w.must(acute(1)) },
			when:  func(w *world) any { d := w.dn(pharmacyA, StatusDispensed); return d },
			ack:   AckError, codes: []string{p + "/0012"}},
		{name: "already dispensed: 16.34/0005",
			given: dispensed(1),
			when:  func(w *world) any { return w.dn(pharmacyA, StatusDispensed) },
			ack:   AckError, codes: []string{d + "/0005"}},
		{name: "from another dispenser: 16.34/0004",
			given: released(1),
			when:  func(w *world) any { return w.dn(pharmacyB, StatusDispensed) },
			ack:   AckError, codes: []string{d + "/0004"}},
		{name: "unknown prescription: 0005 (BENCH CHAIN056)",
			given: func(w *world) { released(1)(w) },
			when:  func(w *world) any { d := w.dn(pharmacyA, StatusDispensed); w.rec = nil; return d },
			ack:   AckError, codes: []string{p + "/0005"}},
		{name: "another patient's NHS number: 0005",
			given: released(1),
			when:  func(w *world) any { d := w.dn(pharmacyA, StatusDispensed); d.NHSNumber = "5839945242"; return d },
			ack:   AckError, codes: []string{p + "/0005"}},
		{name: "more than prescribed: refused with 5000 and the figures",
			given: released(1),
			when:  func(w *world) any { d := w.dn(pharmacyA, StatusDispensed); d.Items[0].Quantity = "29"; return d },
			ack:   AckError, codes: []string{d + "/5000"},
			check: func(t *testing.T, w *world) {
				if got := w.out.Answer.Codes[0].Display; got != "Unable to process message. Information missing or invalid - supplied quantity 29 of line item "+item(1)+" exceeds the 28 prescribed" {
					t.Errorf("display %q", got)
				}
			}},
		{name: "a dispense time that is not a time: 9006 (BENCH CHAIN060)",
			given: released(1),
			when:  func(w *world) any { d := w.dn(pharmacyA, StatusDispensed); d.DispenseTime = "2022-02-01"; return d },
			err:   p + "/9006"},
		{name: "a dispense time more than a day ahead: 5000",
			given: released(1),
			when: func(w *world) any {
				d := w.dn(pharmacyA, StatusDispensed)
				d.DispenseTime = fmtTime(w.now.AddDate(0, 0, 2))
				return d
			},
			err: d + "/5000", errText: "more than one day in the future"},
		{name: "an item status that cannot go with the prescription status: 5000",
			given: released(1),
			when:  func(w *world) any { return w.dn(pharmacyA, StatusDispensed, ItemPartialDispensed) },
			err:   d + "/5000", errText: "Invalid state combination for line item 1"},
		{name: "a status a dispenser cannot report: 5000",
			given: released(1),
			when:  func(w *world) any { return w.dn(pharmacyA, StatusClaimed) },
			err:   d + "/5000"},
		{name: "replayed: the first answer, nothing changes",
			given: released(1),
			when: func(w *world) any {
				d := w.dn(pharmacyA, StatusDispensed)
				w.must(d)
				return d
			},
			ack: AckAccepted, stored: false, statuses: []string{"0006"},
			check: func(t *testing.T, w *world) {
				if !w.out.Replay {
					t.Error("not recognised as a replay")
				}
			}},
	})
}

func TestDispenseAmendment(t *testing.T) {
	var first DispenseNotification
	run(t, []scenario{
		{name: "amending the last DN replaces it",
			given: func(w *world) {
				released(2)(w)
				first = w.at(2*time.Hour).dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemWithDispenser)
				w.must(first)
			},
			when: func(w *world) any {
				return w.at(3*time.Hour).amend(first, StatusDispensed, ItemFullyDispensed, ItemFullyDispensed)
			},
			ack: AckAccepted, stored: true, statuses: []string{"0006"}, items: map[int][]string{1: {"0001", "0001"}},
			check: func(t *testing.T, w *world) {
				is := w.rec.Issues[0]
				// The replaced DN's 7 no longer counts: only the amendment's 21.
				if is.LineItems[0].Supplied != "21" || len(is.DispenseHistory) != 2 || is.Dispense.LastNotificationID == first.NotificationID {
					t.Errorf("supplied %s history %d last %s", is.LineItems[0].Supplied, len(is.DispenseHistory), is.Dispense.LastNotificationID)
				}
			}},
		{name: "amending an earlier DN: 0021",
			given: func(w *world) {
				released(2)(w)
				first = w.at(2*time.Hour).dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemWithDispenser)
				w.must(first)
				w.at(3 * time.Hour).must(w.dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemPartialDispensed))
			},
			when: func(w *world) any {
				return w.at(4*time.Hour).amend(first, StatusDispensed, ItemFullyDispensed, ItemFullyDispensed)
			},
			ack: AckError, codes: []string{p + "/0021"}},
		{name: "repeat dispensing: an amendment that un-completes the issue takes the next one back",
			given: func(w *world) {
				w.must(repeatDispensing(3, 1))
				w.at(time.Hour).must(w.release(pharmacyA))
				first = w.at(2*time.Hour).dn(pharmacyA, StatusDispensed)
				w.must(first)
			},
			when: func(w *world) any {
				return w.at(3*time.Hour).amend(first, StatusWithDispenserAct, ItemPartialDispensed)
			},
			ack: AckAccepted, stored: true, statuses: []string{"0003", "9000", "9000"}, current: 1},
	})
}

func TestRepeatDispensingProgression(t *testing.T) {
	run(t, []scenario{
		{name: "issue 1 dispensed: issue 2 waits (0000) for its nominated download date",
			given: func(w *world) { w.must(repeatDispensing(3, 1)); w.at(time.Hour).must(w.release(pharmacyA)) },
			when:  func(w *world) any { return w.at(2*time.Hour).dn(pharmacyA, StatusDispensed) },
			ack:   AckAccepted, stored: true, statuses: []string{"0006", "0000", "9000"}, current: 2,
			check: func(t *testing.T, w *world) {
				is := w.rec.Issues[1]
				if is.NominatedDownloadDate != "20220222" || is.DispenseWindowLow != "20220201" || is.PriorPreviousIssueDate == "" {
					t.Errorf("issue 2 %+v", is)
				}
				if w.rec.NextActivity != ActivityReady || w.rec.NextActivityDate != "20220222" {
					t.Errorf("next %s %s", w.rec.NextActivity, w.rec.NextActivityDate)
				}
			}},
		{name: "issue 1 dispensed late: issue 2 is available at once (0001)",
			given: func(w *world) {
				w.must(repeatDispensing(3, 1))
				w.at(24 * 30 * time.Hour).must(w.release(pharmacyA))
			},
			when: func(w *world) any { return w.dn(pharmacyA, StatusDispensed) },
			ack:  AckAccepted, stored: true, statuses: []string{"0006", "0001", "9000"}, current: 2},
		{name: "the last issue dispensed: nothing more to release",
			given: func(w *world) {
				w.must(repeatDispensing(2, 1))
				w.at(24 * 30 * time.Hour).must(w.release(pharmacyA))
				w.must(w.dn(pharmacyA, StatusDispensed))
				w.at(24*30*time.Hour + time.Hour).must(w.release(pharmacyA))
			},
			when: func(w *world) any { return w.dn(pharmacyA, StatusDispensed) },
			ack:  AckAccepted, stored: true, statuses: []string{"0006", "0006"}, current: 2},
	})
}

func TestWithdraw(t *testing.T) {
	var first DispenseNotification
	run(t, []scenario{
		{name: "LD of the only DN: back to the release state",
			given: dispensed(2),
			when: func(w *world) any {
				return w.withdraw(pharmacyA, WithdrawLast, w.rec.Issues[0].Dispense.LastNotificationID)
			},
			ack: AckAccepted, kind: AnswerAck, stored: true,
			statuses: []string{"0002"}, items: map[int][]string{1: {"0008", "0008"}},
			check: func(t *testing.T, w *world) {
				is := w.rec.Issues[0]
				if is.CompletionDate != "" || is.Dispense.LastDispenseDate != is.ReleaseDate || is.PreviousStatus != "0006" || is.LineItems[0].Supplied != "" {
					t.Errorf("issue %+v", is)
				}
			}},
		{name: "LD of the second DN: back to the first",
			given: func(w *world) {
				partly(w)
				w.at(3 * time.Hour).must(w.dn(pharmacyA, StatusDispensed))
			},
			when: func(w *world) any {
				return w.withdraw(pharmacyA, WithdrawLast, w.rec.Issues[0].Dispense.LastNotificationID)
			},
			ack: AckAccepted, stored: true, statuses: []string{"0003"}, items: map[int][]string{1: {"0003", "0008"}}},
		{name: "AD: back to the release, every DN gone",
			given: func(w *world) {
				partly(w)
				w.at(3 * time.Hour).must(w.dn(pharmacyA, StatusDispensed))
			},
			when: func(w *world) any { return w.withdraw(pharmacyA, WithdrawAll, "") },
			ack:  AckAccepted, stored: true, statuses: []string{"0002"}, items: map[int][]string{1: {"0008", "0008"}},
			check: func(t *testing.T, w *world) {
				if n := w.rec.Issues[0].dispenseSnapshots(); n != 0 {
					t.Errorf("%d DN snapshots left", n)
				}
			}},
		{name: "no DN on the issue: 0022 (BENCH CHAIN067)",
			given: released(1),
			when:  func(w *world) any { return w.withdraw(pharmacyA, WithdrawLast, newMsgID()) },
			ack:   AckError, codes: []string{p + "/0022"}},
		{name: "naming a DN that is not the last: 0021",
			given: func(w *world) {
				released(2)(w)
				first = w.at(2*time.Hour).dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemWithDispenser)
				w.must(first)
				w.at(3 * time.Hour).must(w.dn(pharmacyA, StatusDispensed))
			},
			when: func(w *world) any { return w.withdraw(pharmacyA, WithdrawLast, first.NotificationID) },
			ack:  AckError, codes: []string{p + "/0021"}},
		{name: "the DN's snapshot missing: 0023 (BENCH CHAIN068)",
			given: func(w *world) { dispensed(1)(w); w.rec.Issues[0].DispenseHistory = w.rec.Issues[0].DispenseHistory[:1] },
			when: func(w *world) any {
				return w.withdraw(pharmacyA, WithdrawLast, w.rec.Issues[0].Dispense.LastNotificationID)
			},
			ack: AckError, codes: []string{p + "/0022"}},
		{name: "the release snapshot missing for AD: 0023 (BENCH CHAIN068)",
			given: func(w *world) { dispensed(1)(w); w.rec.Issues[0].DispenseHistory = w.rec.Issues[0].DispenseHistory[1:] },
			when:  func(w *world) any { return w.withdraw(pharmacyA, WithdrawAll, "") },
			ack:   AckError, codes: []string{p + "/0023"}},
		{name: "claimed: 0012",
			given: func(w *world) { dispensed(1)(w); w.at(3 * time.Hour).must(w.claim(pharmacyA, 1)) },
			when: func(w *world) any {
				return w.withdraw(pharmacyA, WithdrawLast, w.rec.Issues[0].Dispense.LastNotificationID)
			},
			ack: AckError, codes: []string{p + "/0012"}},
		{name: "by another dispenser: 16.34/0004",
			given: dispensed(1),
			when: func(w *world) any {
				return w.withdraw(pharmacyB, WithdrawLast, w.rec.Issues[0].Dispense.LastNotificationID)
			},
			ack: AckError, codes: []string{d + "/0004"}},
		{name: "naming no organisation, from another system: 16.34/0004 (decision W1)",
			given: dispensed(1),
			when: func(w *world) any {
				wd := w.withdraw("", WithdrawLast, w.rec.Issues[0].Dispense.LastNotificationID)
				wd.SenderASID = "230811201999"
				return wd
			},
			ack: AckError, codes: []string{d + "/0004"}},
		{name: "naming no organisation, from the system it was released to",
			given: dispensed(1),
			when: func(w *world) any {
				return w.withdraw("", WithdrawLast, w.rec.Issues[0].Dispense.LastNotificationID)
			},
			ack: AckAccepted, stored: true, statuses: []string{"0002"}},
		{name: "repeat dispensing: back only to 0003, the released next issue taken back (decision 12)",
			given: rdSecondIssueWaiting,
			when: func(w *world) any {
				return w.withdraw(pharmacyA, WithdrawLast, w.rec.Issues[0].Dispense.LastNotificationID)
			},
			ack: AckAccepted, stored: true, statuses: []string{"0003", "9000", "9000"}, current: 1,
			items: map[int][]string{1: {"0008"}}},
		{name: "repeat dispensing: the next issue already with a dispenser: 0012 (decision 12)",
			given: func(w *world) {
				rdSecondIssueWaiting(w)
				w.at(3 * time.Hour).must(w.release(pharmacyA))
			},
			when: func(w *world) any {
				wd := w.withdraw(pharmacyA, WithdrawLast, w.rec.Issues[0].Dispense.LastNotificationID)
				wd.Issue = 1
				return wd
			},
			ack: AckError, codes: []string{p + "/0012"}},
		{name: "an unknown withdraw type",
			given: dispensed(1),
			when:  func(w *world) any { return w.withdraw(pharmacyA, "XX", "") }, err: d + "/5000"},
		{name: "an unknown withdraw reason",
			given: dispensed(1),
			when:  func(w *world) any { wd := w.withdraw(pharmacyA, WithdrawAll, ""); wd.Reason = "ZZ"; return wd }, err: d + "/5000"},
	})
}

func TestClaim(t *testing.T) {
	run(t, []scenario{
		{name: "dispensed: Claimed, deleted 36 days after the claim",
			given: dispensed(1),
			when:  func(w *world) any { return w.at(3*time.Hour).claim(pharmacyA, 1) },
			ack:   AckAccepted, stored: true, statuses: []string{"0008"}, items: map[int][]string{1: {"0001"}},
			check: func(t *testing.T, w *world) {
				c := w.rec.Issues[0].Claim
				if c.ReceivedDate != "20220201" || c.Status != "claimed" || c.ClaimID == "" || c.Rebuild {
					t.Errorf("claim %+v", c)
				}
				if w.rec.NextActivity != ActivityDelete || w.rec.NextActivityDate != "20220309" {
					t.Errorf("next %s %s", w.rec.NextActivity, w.rec.NextActivityDate)
				}
			}},
		{name: "claimed again: 0011 (BENCH CHAIN002)",
			given: func(w *world) { dispensed(1)(w); w.at(3 * time.Hour).must(w.claim(pharmacyA, 1)) },
			when:  func(w *world) any { return w.claim(pharmacyA, 1) },
			ack:   AckError, codes: []string{p + "/0011"}},
		{name: "a claim amendment: history kept, received date unchanged (decision 4)",
			given: func(w *world) {
				dispensed(1)(w)
				w.at(3 * time.Hour).must(w.claim(pharmacyA, 1))
			},
			when: func(w *world) any {
				c := w.at(24*10*time.Hour).claim(pharmacyA, 1)
				c.ReplacementOf = w.rec.Issues[0].Claim.ClaimID
				return c
			},
			ack: AckAccepted, stored: true, statuses: []string{"0008"},
			check: func(t *testing.T, w *world) {
				c := w.rec.Issues[0].Claim
				if len(c.HistoricClaimIDs) != 1 || len(c.HistoricMsgRefs) != 1 || !c.Rebuild || c.ReceivedDate != "20220201" {
					t.Errorf("claim %+v", c)
				}
			}},
		{name: "a claim amendment after the claim period: 0100",
			given: func(w *world) {
				dispensed(1)(w)
				w.at(3 * time.Hour).must(w.claim(pharmacyA, 1))
			},
			when: func(w *world) any {
				c := w.at(24*181*time.Hour).claim(pharmacyA, 1)
				c.ReplacementOf = w.rec.Issues[0].Claim.ClaimID
				return c
			},
			ack: AckError, codes: []string{p + "/0100"}},
		{name: "a claim amendment before any claim: 0012",
			given: dispensed(1),
			when:  func(w *world) any { c := w.claim(pharmacyA, 1); c.ReplacementOf = newMsgID(); return c },
			ack:   AckError, codes: []string{p + "/0012"}},
		{name: "not dispensed yet: 0015",
			given: released(1),
			when:  func(w *world) any { return w.claim(pharmacyA, 1) },
			ack:   AckError, codes: []string{p + "/0015"}},
		{name: "not dispensed (0007): 0015 (decision CL3)",
			given: func(w *world) {
				released(1)(w)
				w.at(2 * time.Hour).must(w.dn(pharmacyA, StatusNotDispensed, ItemNotDispensed))
			},
			when: func(w *world) any { return w.claim(pharmacyA, 1) },
			ack:  AckError, codes: []string{p + "/0015"}},
		{name: "no-claimed already: 0016 (BENCH CHAIN001)",
			given: func(w *world) { dispensed(1)(w); w.at(24 * 181 * time.Hour).do(sweep{}) },
			when:  func(w *world) any { return w.claim(pharmacyA, 1) },
			ack:   AckError, codes: []string{p + "/0016"}},
		{name: "unknown prescription: 0006 (BENCH CHAIN038)",
			given: dispensed(1),
			when:  func(w *world) any { c := w.claim(pharmacyA, 1); w.rec = nil; return c },
			ack:   AckError, codes: []string{p + "/0006"}},
		{name: "items that are not the prescription's: 0014",
			given: dispensed(1),
			when:  func(w *world) any { c := w.claim(pharmacyA, 1); c.Items[0].ID = item(8); return c },
			ack:   AckError, codes: []string{p + "/0014"}},
		{name: "repeat dispensing: the claim names its issue",
			given: rdSecondIssueWaiting,
			when:  func(w *world) any { return w.at(3*time.Hour).claim(pharmacyA, 1) },
			ack:   AckAccepted, stored: true, statuses: []string{"0008", "0000", "9000"}, current: 2},
		{name: "a claim time more than a day ahead",
			given: dispensed(1),
			when: func(w *world) any {
				c := w.claim(pharmacyA, 1)
				c.ClaimTime = fmtTime(w.now.AddDate(0, 0, 3))
				return c
			},
			err: d + "/5000", errText: "claimTime is more than one day in the future"},
	})
}

func TestRebuild(t *testing.T) {
	run(t, []scenario{
		{name: "replays the DNs it restates from the release state",
			given: partly,
			when: func(w *world) any {
				a := w.at(3*time.Hour).dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemWithDispenser)
				w.rec.Issues[0].LineItems[0].Status = ItemWithDispenser // the DN is built against the release state
				b := w.dn(pharmacyA, StatusWithDispenserAct, ItemPartialDispensed, ItemPartialDispensed)
				w.rec.Issues[0].LineItems[0].Status = ItemPartialDispensed
				return RebuildDispenseHistory{Meta: w.meta("PORX_IN540101UK31", pharmacyA), RebuildID: newMsgID(),
					PrescriptionID: w.id(), WithdrawReason: "DA", Notifications: []DispenseNotification{a, b}}
			},
			ack: AckAccepted, stored: true, statuses: []string{"0003"}, items: map[int][]string{1: {"0003", "0003"}},
			check: func(t *testing.T, w *world) {
				is := w.rec.Issues[0]
				if is.dispenseSnapshots() != 2 || is.LineItems[0].Supplied != "14" {
					t.Errorf("snapshots %d supplied %s", is.dispenseSnapshots(), is.LineItems[0].Supplied)
				}
			}},
		{name: "on a dispensed prescription: 16.34/0005 (BENCH CHAIN041)",
			given: dispensed(1),
			when: func(w *world) any {
				return RebuildDispenseHistory{Meta: w.meta("PORX_IN540101UK31", pharmacyA), RebuildID: newMsgID(),
					PrescriptionID: w.id(), Notifications: []DispenseNotification{w.dn(pharmacyA, StatusDispensed)}}
			},
			ack: AckError, codes: []string{d + "/0005"}},
		{name: "without a release snapshot: 0023",
			given: func(w *world) { partly(w); w.rec.Issues[0].DispenseHistory = w.rec.Issues[0].DispenseHistory[1:] },
			when: func(w *world) any {
				return RebuildDispenseHistory{Meta: w.meta("PORX_IN540101UK31", pharmacyA), RebuildID: newMsgID(),
					PrescriptionID: w.id(), Notifications: []DispenseNotification{w.dn(pharmacyA, StatusDispensed)}}
			},
			ack: AckError, codes: []string{p + "/0023"}},
		{name: "restating an item the prescription does not have: 0014",
			given: partly,
			when: func(w *world) any {
				dn := w.dn(pharmacyA, StatusDispensed)
				dn.Items[0].ID = item(9)
				return RebuildDispenseHistory{Meta: w.meta("PORX_IN540101UK31", pharmacyA), RebuildID: newMsgID(),
					PrescriptionID: w.id(), Notifications: []DispenseNotification{dn}}
			},
			ack: AckError, codes: []string{p + "/0014"}},
		{name: "no DNs to restate",
			given: partly,
			when: func(w *world) any {
				return RebuildDispenseHistory{Meta: w.meta("PORX_IN540101UK31", pharmacyA), RebuildID: newMsgID(), PrescriptionID: w.id()}
			},
			err: d + "/5000"},
	})
}
