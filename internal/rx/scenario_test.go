package rx

import (
	"reflect"
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/epserr"
)

// A scenario is Given (steps that must be accepted), When (the input under
// test, built from the world as it then is) and Then (the exact answer and the
// record afterwards).
type scenario struct {
	name  string
	cfg   func(*Config)
	given func(w *world)
	when  func(w *world) any

	// Then.
	err      string           // the Go error's code "system/value"; "" = none
	errText  string           // a substring of the error's code display
	ack      string           // AA / AE
	kind     AnswerKind       // the answer kind ("" = don't check)
	codes    []string         // "system/value" in order; nil = none expected
	stored   bool             // a record to store came back
	deleted  bool             // the record is to be deleted
	statuses []string         // statuses of issues 1..n afterwards; nil = don't check
	items    map[int][]string // line item statuses per issue afterwards
	current  int              // current issue afterwards (0 = don't check)
	events   []string         // "kind/code" of the events, in order
	check    func(t *testing.T, w *world)
}

const (
	p  = epserr.SystemPrescribe
	d  = epserr.SystemDispense
	cx = epserr.SystemCancel
)

func run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			w := newWorld(t)
			if sc.cfg != nil {
				sc.cfg(&w.cfg)
			}
			if sc.given != nil {
				sc.given(w)
			}
			in := sc.when(w)
			before := w.rec.Clone()
			o := w.do(in)
			if sc.err != "" {
				e := epserr.As(w.err)
				if e == nil {
					t.Fatalf("want error %s, got %v (answer %s %v)", sc.err, w.err, o.Answer.AckType, codeValues(o.Answer.Codes))
				}
				if got := code(e.Code); got != sc.err {
					t.Fatalf("error code %s (%v), want %s", got, e, sc.err)
				}
				if sc.errText != "" && !strings.Contains(e.Code.Display, sc.errText) {
					t.Fatalf("error display %q does not contain %q", e.Code.Display, sc.errText)
				}
				if !reflect.DeepEqual(w.rec, before) && o.Record != nil {
					t.Fatalf("a refused message returned a record")
				}
				return
			}
			if w.err != nil {
				t.Fatalf("unexpected error: %v", w.err)
			}
			if sc.ack != "" && o.Answer.AckType != sc.ack {
				t.Errorf("ack %s, want %s (codes %v)", o.Answer.AckType, sc.ack, codeValues(o.Answer.Codes))
			}
			if sc.kind != "" && o.Answer.Kind != sc.kind {
				t.Errorf("answer kind %s, want %s", o.Answer.Kind, sc.kind)
			}
			if got := codeValues(o.Answer.Codes); !reflect.DeepEqual(got, sc.codes) {
				t.Errorf("codes %v, want %v", got, sc.codes)
			}
			if (o.Record != nil) != sc.stored {
				t.Errorf("record returned = %v, want %v", o.Record != nil, sc.stored)
			}
			if o.Delete != sc.deleted {
				t.Errorf("delete = %v, want %v", o.Delete, sc.deleted)
			}
			if !sc.stored && !sc.deleted && before != nil && !reflect.DeepEqual(w.rec, before) {
				t.Errorf("nothing to store, but the record changed")
			}
			if sc.statuses != nil {
				var got []string
				if w.rec != nil {
					for _, is := range w.rec.Issues {
						got = append(got, is.Status)
					}
				}
				if !reflect.DeepEqual(got, sc.statuses) {
					t.Errorf("issue statuses %v, want %v", got, sc.statuses)
				}
			}
			for n, want := range sc.items {
				if got := w.items(n); !reflect.DeepEqual(got, want) {
					t.Errorf("issue %d item statuses %v, want %v", n, got, want)
				}
			}
			if sc.current != 0 && w.rec != nil && w.rec.CurrentIssue != sc.current {
				t.Errorf("current issue %d, want %d", w.rec.CurrentIssue, sc.current)
			}
			var evs []string
			for _, e := range o.Events {
				evs = append(evs, string(e.Kind)+"/"+e.Code.Value)
			}
			if !reflect.DeepEqual(evs, sc.events) {
				t.Errorf("events %v, want %v", evs, sc.events)
			}
			if w.rec != nil {
				assertConsistent(t, w.rec)
			}
			if sc.check != nil {
				sc.check(t, w)
			}
		})
	}
}

// assertConsistent checks table 2.3 (every line item status allowed under its
// issue's status) and the SCN/change log bookkeeping.
func assertConsistent(t *testing.T, r *Record) {
	t.Helper()
	for _, is := range r.Issues {
		for _, li := range is.LineItems {
			if !ValidItemStatus(is.Status, li.Status) {
				t.Errorf("issue %d: item status %s not allowed under %s (table 2.3)", is.Number, li.Status, is.Status)
			}
		}
	}
	for id, e := range r.ChangeLog {
		if r.SCN > 0 && (e.SCN > r.SCN || e.SCN < 1) {
			t.Errorf("change log %s has SCN %d, record SCN %d", id, e.SCN, r.SCN)
		}
	}
}

func item(n int) string { return itemID(n) }

func TestCreate(t *testing.T) {
	run(t, []scenario{
		{name: "acute is To Be Dispensed with every item 0007",
			when: func(w *world) any { return acute(2) }, ack: AckAccepted, kind: AnswerAck, stored: true,
			statuses: []string{"0001"}, items: map[int][]string{1: {"0007", "0007"}},
			check: func(t *testing.T, w *world) {
				if w.out.Answer.Text != "Prescription upload successful" || w.rec.SCN != 1 {
					t.Errorf("answer %q SCN %d", w.out.Answer.Text, w.rec.SCN)
				}
				// expire on prescription date + 6 months (lifecycle.md §3.11)
				if w.rec.NextActivity != ActivityExpire || w.rec.NextActivityDate != "20220801" {
					t.Errorf("next activity %s %s, want expire 20220801", w.rec.NextActivity, w.rec.NextActivityDate)
				}
				if w.rec.Items[0].Quantity != "28" || w.rec.Items[0].DMDCode == "" || w.rec.Patient.Family != "JONES" {
					t.Errorf("line item / patient details not kept: %+v %+v", w.rec.Items[0], w.rec.Patient)
				}
				s := w.rec.Summary()
				if s.Status != "0001" || s.NominatedODS != pharmacyA || s.PrescriberODS != prescriber || s.NHSNumber != nhsNumber || s.SCN != 1 {
					t.Errorf("summary %+v", s)
				}
			}},
		{name: "future-dated prescription is 9001 and ready on its date",
			when: func(w *world) any {
				p := acute(1)
				p.PrescriptionTime = fmtTime(t0.AddDate(0, 0, 3))
				return p
			}, ack: AckAccepted, stored: true, statuses: []string{"9001"},
			check: func(t *testing.T, w *world) {
				if w.rec.NextActivity != ActivityReady || w.rec.NextActivityDate != "20220204" {
					t.Errorf("next activity %s %s", w.rec.NextActivity, w.rec.NextActivityDate)
				}
			}},
		{name: "repeat dispensing creates every issue up front, later ones 9000",
			when: func(w *world) any { return repeatDispensing(3, 2) }, ack: AckAccepted, stored: true,
			statuses: []string{"0001", "9000", "9000"}, current: 1,
			items: map[int][]string{1: {"0007", "0007"}, 3: {"0007", "0007"}}},
		{name: "an item with fewer repeats is expired in the issues beyond them",
			when: func(w *world) any {
				p := repeatDispensing(3, 2)
				p.LineItems[1].RepeatHigh = 2
				return p
			}, ack: AckAccepted, stored: true, statuses: []string{"0001", "9000", "9000"},
			items: map[int][]string{2: {"0007", "0007"}, 3: {"0007", "0006"}}},
		{name: "repeat dispensing window starting after tomorrow is future-dated",
			when: func(w *world) any {
				p := repeatDispensing(2, 1)
				p.DispenseWindowLow = fmtDate(t0.AddDate(0, 0, 5))
				return p
			}, ack: AckAccepted, stored: true, statuses: []string{"9001", "9000"}},
		{name: "a second prescription with the same ID is a duplicate",
			given: func(w *world) { w.must(acute(1)) },
			when:  func(w *world) any { return acute(1) }, ack: AckError, codes: []string{p + "/0002"}},
		{name: "the same message again is a replay answered as the first time",
			given: func(w *world) { w.must(acute(1)) },
			when: func(w *world) any {
				p := acute(1)
				p.MessageID = w.rec.MessageRef
				return p
			}, ack: AckAccepted, statuses: []string{"0001"},
			check: func(t *testing.T, w *world) {
				if !w.out.Replay || w.out.Answer.Text != "Prescription upload successful" {
					t.Errorf("replay %v %+v", w.out.Replay, w.out.Answer)
				}
			}},
		{name: "an unsigned prescription: Digital Signature not found",
			when: func(w *world) any { p := acute(1); p.Signed = false; return p }, err: p + "/0003"},
		{name: "a missing mandatory field",
			when: func(w *world) any { p := acute(1); p.CommissionerODS = ""; return p },
			err:  d + "/5000", errText: "Mandatory field hcplOrgCode missing"},
		{name: "an NHS number failing modulus 11",
			when: func(w *world) any { p := acute(1); p.NHSNumber = "9000000008"; return p },
			err:  d + "/5000", errText: "nhsNumber is not valid"},
		{name: "a prescription ID with a wrong check character",
			when: func(w *world) any { p := acute(1); p.ID = p.ID[:19] + "Y"; return p }, err: p + "/5009"},
		{name: "a prescription ID in the wrong format",
			when: func(w *world) any { p := acute(1); p.ID = "24F5DA-A83008"; return p },
			err:  d + "/5000", errText: "prescriptionID has invalid format"},
		{name: "five line items",
			when: func(w *world) any { return acute(5) }, err: p + "/0010", errText: "over expected max count of 4"},
		{name: "no line items",
			when: func(w *world) any { return acute(0) }, err: p + "/0010"},
		{name: "a repeat count over 99",
			when: func(w *world) any { return repeatDispensing(100, 1) }, err: p + "/0019"},
		{name: "repeat low not 1",
			when: func(w *world) any { p := repeatDispensing(3, 1); p.RepeatLow = 2; return p },
			err:  d + "/5000", errText: "prescriptionRepeatLow must be 1"},
		{name: "repeat numbers missing on a repeat dispensing prescription",
			when: func(w *world) any { p := repeatDispensing(3, 1); p.RepeatLow, p.RepeatHigh = 0, 0; return p },
			err:  d + "/5000", errText: "must both be provided"},
		{name: "an item repeating more than the prescription",
			when: func(w *world) any { p := repeatDispensing(3, 1); p.LineItems[0].RepeatHigh = 4; return p },
			err:  d + "/5000", errText: "must not be greater than prescriptionRepeatHigh"},
		{name: "the prescription repeating more than every item",
			when: func(w *world) any { p := repeatDispensing(3, 1); p.LineItems[0].RepeatHigh = 2; return p },
			err:  d + "/5000", errText: "must not be greater than all Line Item"},
		{name: "a repeated line item ID",
			when: func(w *world) any { p := acute(2); p.LineItems[1].ID = p.LineItems[0].ID; return p }, err: p + "/5008"},
		{name: "a lower-case line item ID",
			when: func(w *world) any { p := acute(1); p.LineItems[0].ID = strings.ToLower(p.LineItems[0].ID); return p },
			err:  d + "/5000", errText: "is not a valid GUID format"},
		{name: "an unknown treatment type",
			when: func(w *world) any { p := acute(1); p.TreatmentType = "0004"; return p },
			err:  d + "/5000", errText: "prescriptionTreatmentType is not of expected type"},
		{name: "days supply over 366",
			when: func(w *world) any { p := acute(1); p.DaysSupplyText = "400"; return p },
			err:  d + "/5000", errText: "daysSupply cannot exceed 366"},
		{name: "days supply not an integer",
			when: func(w *world) any { p := acute(1); p.DaysSupplyText = "2.5"; return p },
			err:  d + "/5000", errText: "daysSupply is not an integer"},
		{name: "days supply 0 is accepted (decision 13)",
			when: func(w *world) any { p := acute(1); p.DaysSupplyText = "0"; return p }, ack: AckAccepted, stored: true,
			check: func(t *testing.T, w *world) {
				if w.rec.DaysSupply != 0 {
					t.Errorf("days supply %d", w.rec.DaysSupply)
				}
			}},
		{name: "repeat dispensing window ending in the past",
			when: func(w *world) any { p := repeatDispensing(2, 1); p.DispenseWindowHigh = "20220101"; return p },
			err:  d + "/5000", errText: "daysSupplyValidHigh is in the past"},
		{name: "repeat dispensing window ending over 12 months ahead",
			when: func(w *world) any { p := repeatDispensing(2, 1); p.DispenseWindowHigh = "20230301"; return p },
			err:  d + "/5000", errText: "more than 12 months beyond current day"},
		{name: "repeat dispensing window inverted",
			when: func(w *world) any {
				p := repeatDispensing(2, 1)
				p.DispenseWindowLow, p.DispenseWindowHigh = "20220601", "20220501"
				return p
			}, err: d + "/5000", errText: "low is after"},
		{name: "repeat dispensing without a window",
			when: func(w *world) any { p := repeatDispensing(2, 1); p.DispenseWindowLow = ""; return p },
			err:  d + "/5000", errText: "daysSupply effective time not provided"},
		{name: "a birth date in the future",
			when: func(w *world) any { p := acute(1); p.Patient.BirthDate = "20300101"; return p },
			err:  d + "/5000", errText: "birthTime is in the future"},
		{name: "a prescription time that is not a time",
			when: func(w *world) any { p := acute(1); p.PrescriptionTime = "2022-02-01"; return p },
			err:  d + "/5000", errText: "prescriptionTime is not a valid time"},
		{name: "an international prescription time is converted to GMT",
			when: func(w *world) any { p := acute(1); p.PrescriptionTime = "20220601100000+0100"; return p },
			ack:  AckAccepted, stored: true, statuses: []string{"9001"},
			check: func(t *testing.T, w *world) {
				if w.rec.PrescriptionTime != "20220601090000" {
					t.Errorf("prescription time %s", w.rec.PrescriptionTime)
				}
			}},
		{name: "a nominated performer in the wrong format",
			when: func(w *world) any { p := acute(1); p.NominatedODS = "FA565/XX"; return p },
			err:  d + "/5000", errText: "nominatedPerformer has invalid format"},
		{name: "an unknown prescription type is kept as NotProvided",
			when: func(w *world) any { p := acute(1); p.PrescriptionType = "9999"; return p }, ack: AckAccepted, stored: true,
			check: func(t *testing.T, w *world) {
				if w.rec.PrescriptionType != "NotProvided" {
					t.Errorf("prescription type %s", w.rec.PrescriptionType)
				}
			}},
		{name: "a record being purged refuses the ID",
			given: func(w *world) {
				w.rec = &Record{PrescriptionID: acute(1).ID, NextActivity: ActivityPurge, ChangeLog: map[string]ChangeEntry{}}
			},
			when: func(w *world) any { return acute(1) }, ack: AckError, codes: []string{p + "/0002"}},
		{name: "MaxSCN, when set, guards the change count",
			cfg:   func(c *Config) { c.MaxSCN = 1 },
			given: func(w *world) { w.must(acute(1)) },
			when:  func(w *world) any { return w.release(pharmacyA) }, err: p + "/9999"},
	})
}

func TestCreateOverPlaceholder(t *testing.T) {
	run(t, []scenario{
		{name: "a pending whole cancellation is applied on arrival and the canceller told",
			given: func(w *world) { w.do(w.cancel("")) },
			when:  func(w *world) any { return acute(2) }, ack: AckAccepted, stored: true,
			statuses: []string{"0005"}, items: map[int][]string{1: {"0005", "0005"}},
			events: []string{"subsequentCancellation/0001"},
			check: func(t *testing.T, w *world) {
				if w.rec.SCN != 2 || !w.rec.PrescriptionPresent || len(w.rec.PendingCancellations) != 0 {
					t.Errorf("SCN %d present %v pending %d", w.rec.SCN, w.rec.PrescriptionPresent, len(w.rec.PendingCancellations))
				}
				e := w.out.Events[0]
				if e.ToODS != prescriber || e.Text != "Subsequent cancellation" || e.Cancellation == nil {
					t.Errorf("event %+v", e)
				}
			}},
		{name: "a notification of death sends no subsequent response",
			given: func(w *world) {
				c := w.cancel("")
				c.ReasonText = "0005: Notification of death"
				w.do(c)
			},
			when: func(w *world) any { return acute(1) }, ack: AckAccepted, stored: true, statuses: []string{"0005"}},
		{name: "a pending line item cancellation cancels that item only",
			given: func(w *world) { w.do(w.cancel(item(1))) },
			when:  func(w *world) any { return acute(2) }, ack: AckAccepted, stored: true,
			statuses: []string{"0001"}, items: map[int][]string{1: {"0005", "0007"}},
			events: []string{"subsequentCancellation/0001"}},
		{name: "a pending cancellation of an item not on the prescription fails",
			given: func(w *world) { w.do(w.cancel(item(9))) },
			when:  func(w *world) any { return acute(2) }, ack: AckAccepted, stored: true,
			statuses: []string{"0001"}, items: map[int][]string{1: {"0007", "0007"}},
			events: []string{"subsequentCancellation/0008"},
			check: func(t *testing.T, w *world) {
				if len(w.rec.UnsuccessfulCancellations) != 1 {
					t.Errorf("unsuccessful %v", w.rec.UnsuccessfulCancellations)
				}
			}},
		{name: "a repeat dispensing prescription cancelled before it arrived: every issue",
			given: func(w *world) { w.do(w.cancel("")) },
			when:  func(w *world) any { p := repeatDispensing(3, 1); p.ID = shortID("24F5DA", "7EFE6"); return p },
			ack:   AckAccepted, stored: true, statuses: []string{"0005", "0005", "0005"}, current: 3,
			events: []string{"subsequentCancellation/0001"}},
	})
}
