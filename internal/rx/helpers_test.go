package rx

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/ids"
)

// t0 is the clock of the scenarios: prescriptions are written an hour before.
var t0 = time.Date(2022, 2, 1, 10, 0, 0, 0, time.UTC)

const (
	nhsNumber   = "9449304106"
	prescriber  = "A83008"
	pharmacyA   = "FA565"
	pharmacyB   = "FCG71"
	asidA       = "200000001285"
	prescriberA = "200000001111"
)

var msgSeq int

// newMsgID returns a fresh upper-case UUID (deterministic per test run order).
func newMsgID() string {
	msgSeq++
	return fmt.Sprintf("A0000000-0000-4000-8000-%012d", msgSeq)
}

// shortID builds a valid short-form ID from a 6-hex prefix and 5-hex suffix.
func shortID(prefix, suffix string) string {
	body := prefix + "-" + prescriber + "-" + suffix
	c, err := ids.Mod37Check(body)
	if err != nil {
		panic(err)
	}
	return body + string(c)
}

func itemID(n int) string { return fmt.Sprintf("%08X-0000-4000-8000-0000000000%02X", 0xB0000000+n, n) }

// acute returns a valid acute prescription with n line items, nominated to
// pharmacyA, written an hour before t0.
func acute(n int) Prescription {
	p := Prescription{
		Meta:                  Meta{MessageID: newMsgID(), Interaction: "PORX_IN020101UK31", SenderASID: prescriberA, SenderODS: prescriber},
		ID:                    shortID("24F5DA", "7EFE6"),
		UUID:                  "F5012E83-2B15-4D8C-9A5D-1234567890AB",
		EventID:               "C0000000-0000-4000-8000-000000000001",
		TreatmentType:         TreatmentAcute,
		PrescriptionType:      "0101",
		SitePreference:        "P1",
		PrescriptionTime:      fmtTime(t0.Add(-time.Hour)),
		SignedTime:            fmtTime(t0.Add(-time.Hour)),
		Signed:                true,
		PrescriberODS:         prescriber,
		PrescriberRoleProfile: "555086415105",
		PrescriberSDSUser:     "555086414103",
		PrescriberJobRole:     "R8000",
		PrescriberCode:        "G9999999",
		PrescriberName:        "DR C BOIN",
		CommissionerODS:       "84H",
		NHSNumber:             nhsNumber,
		Patient:               Patient{Given: "TRACE", Family: "JONES", BirthDate: "19700101", Gender: "1", GPODS: prescriber},
		NominatedODS:          pharmacyA,
	}
	for i := 1; i <= n; i++ {
		p.LineItems = append(p.LineItems, LineItem{ID: itemID(i), DMDCode: "39732311000001104",
			Description: fmt.Sprintf("Item %d", i), Quantity: "28", UnitCode: "428673006", UnitDisplay: "tablet",
			Dosage: "1 daily"})
	}
	return p
}

// repeatDispensing returns a valid repeat dispensing prescription of issues
// issues with n items (each for every issue), dispense window t0..t0+11m.
func repeatDispensing(issues, n int) Prescription {
	p := acute(n)
	p.ID = shortID("998244", "238DC")
	p.TreatmentType = TreatmentRepeatDispense
	p.RepeatLow, p.RepeatHigh = 1, issues
	p.DispenseWindowLow = fmtDate(t0)
	p.DispenseWindowHigh = fmtDate(addMonths(t0, 11))
	for i := range p.LineItems {
		p.LineItems[i].RepeatLow, p.LineItems[i].RepeatHigh = 1, issues
	}
	return p
}

// world is a prescription record and a clock.
type world struct {
	t   *testing.T
	cfg Config
	rec *Record
	now time.Time
	// last outcome
	out Outcome
	err error
}

func newWorld(t *testing.T) *world {
	return &world{t: t, cfg: DefaultConfig(), now: t0}
}

// at sets the clock to t0 + d.
func (w *world) at(d time.Duration) *world { w.now = t0.Add(d); return w }

// do applies in (stamping its Meta.Received) and keeps the record if one came back.
func (w *world) do(in any) Outcome {
	w.t.Helper()
	switch v := in.(type) {
	case NominatedReleaseRequest:
		cands := []*Record{}
		if w.rec != nil {
			cands = append(cands, w.rec)
		}
		no, err := ReleaseNominated(w.cfg, cands, v, w.now)
		w.err = err
		w.out = Outcome{Answer: no.Answer}
		if len(no.Records) > 0 {
			w.out.Record = no.Records[0]
			w.rec = no.Records[0]
		}
		return w.out
	case sweep:
		w.out, w.err = Sweep(w.cfg, w.rec, w.now)
	default:
		w.out, w.err = Apply(w.cfg, w.rec, in, w.now)
	}
	if w.out.Record != nil {
		w.roundTrip()
	}
	if w.out.Delete {
		w.rec = nil
	}
	return w.out
}

// must applies in and fails unless it is accepted (AA, or a cancel/release
// answer that is not an error).
func (w *world) must(in any) Outcome {
	w.t.Helper()
	o := w.do(in)
	if w.err != nil {
		w.t.Fatalf("%T: unexpected error %v", in, w.err)
	}
	if _, isSweep := in.(sweep); !isSweep && o.Answer.AckType != AckAccepted {
		w.t.Fatalf("%T: answered %s %v, want AA", in, o.Answer.AckType, o.Answer.Codes)
	}
	return o
}

// roundTrip stores the record as the service would (JSON) and reads it back,
// so every scenario also proves the record survives encoding unchanged.
func (w *world) roundTrip() {
	w.t.Helper()
	b, err := json.Marshal(w.out.Record)
	if err != nil {
		w.t.Fatalf("marshal record: %v", err)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		w.t.Fatalf("unmarshal record: %v", err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		w.t.Fatalf("record does not survive a JSON round trip:\n%s\n%s", b, b2)
	}
	w.rec = &back
}

// sweep is the pseudo-input that runs Sweep at the world's clock.
type sweep struct{}

func (w *world) meta(interaction, ods string) Meta {
	return Meta{MessageID: newMsgID(), Interaction: interaction, SenderASID: asidA, SenderODS: ods, Received: w.now}
}

func (w *world) cancel(item string) CancelRequest {
	return CancelRequest{Meta: w.meta("PORX_IN030101UK32", prescriber), RequestID: newMsgID(),
		PrescriptionID: w.id(), NHSNumber: nhsNumber, LineItemID: item, ReasonCode: "0001",
		ReasonText: "0001: Prescribing Error", EffectiveTime: fmtTime(w.now)}
}

func (w *world) id() string {
	if w.rec != nil {
		return w.rec.PrescriptionID
	}
	return shortID("24F5DA", "7EFE6")
}

func (w *world) release(ods string) PatientReleaseRequest {
	return PatientReleaseRequest{Meta: w.meta("PORX_IN132004UK30", ods), RequestID: newMsgID(), PrescriptionID: w.id(),
		EffectiveTime: fmtTime(w.now), DispenserName: "Pharmacist"}
}

func (w *world) nominated(ods string) NominatedReleaseRequest {
	return NominatedReleaseRequest{Meta: w.meta("PORX_IN060102UK30", ods), RequestID: newMsgID(), EffectiveTime: fmtTime(w.now)}
}

func (w *world) ret(ods string) DispenseProposalReturn {
	return DispenseProposalReturn{Meta: w.meta("PORX_IN100101UK31", ods), ReturnID: newMsgID(), PrescriptionID: w.id(),
		ReasonCode: "0002", ReasonText: "Unable to dispense medication on prescriptions"}
}

// dn builds a dispense notification for the current issue (or issue n via
// repeat) with the given prescription status and item statuses (in item order).
func (w *world) dn(ods, status string, items ...string) DispenseNotification {
	w.t.Helper()
	is := w.rec.Current()
	d := DispenseNotification{Meta: w.meta("PORX_IN080101UK31", ods), NotificationID: newMsgID(), PrescriptionID: w.id(),
		NHSNumber: nhsNumber, DispenserODS: ods, PrescriptionStatus: status, DispenseTime: fmtTime(w.now),
		RepeatLow: is.Number, RepeatHigh: w.rec.MaxRepeats}
	for i, li := range is.LineItems {
		st := ItemFullyDispensed
		if i < len(items) {
			st = items[i]
		}
		// What is left to supply of the 28 prescribed, or 7 for a partial supply.
		left, _ := ParseQuantity("28")
		if got, ok := ParseQuantity(li.Supplied); ok {
			left = left.Sub(got)
		}
		q := left.String()
		if st == ItemPartialDispensed {
			q = "7"
		}
		if st == ItemNotDispensed || st == ItemNotDispensedOwe || st == ItemCancelled || st == ItemExpired || st == ItemWithDispenser {
			q = ""
		}
		d.Items = append(d.Items, DispensedItem{ID: li.ID, SuppliedItemID: newMsgID(), Status: st, Quantity: q,
			UnitCode: "428673006", RepeatLow: is.Number, RepeatHigh: li.MaxRepeats})
	}
	return d
}

func (w *world) amend(prev DispenseNotification, status string, items ...string) DispenseNotification {
	w.t.Helper()
	d := w.dn(prev.DispenserODS, status, items...)
	d.RepeatLow = prev.RepeatLow
	d.ReplacementOf = prev.NotificationID
	return d
}

func (w *world) claim(ods string, issue int) DispenseClaim {
	w.t.Helper()
	is := w.rec.Issue(issue)
	c := DispenseClaim{Meta: w.meta("PORX_IN090101UK31", ods), ClaimID: newMsgID(), PrescriptionID: w.id(),
		NHSNumber: nhsNumber, DispenserODS: ods, PrescriptionStatus: StatusDispensed, ClaimTime: fmtTime(w.now),
		RepeatLow: issue, RepeatHigh: w.rec.MaxRepeats}
	for _, li := range is.LineItems {
		c.Items = append(c.Items, DispensedItem{ID: li.ID, SuppliedItemID: newMsgID(), Status: li.Status})
	}
	return c
}

func (w *world) withdraw(ods, kind string, ref string) DispenserWithdraw {
	return DispenserWithdraw{Meta: w.meta("PORX_IN510101UK31", ods), WithdrawID: newMsgID(), PrescriptionID: w.id(),
		NHSNumber: nhsNumber, DispenserODS: ods, WithdrawType: kind, Reason: "DA", NotificationRef: ref,
		EffectiveTime: fmtTime(w.now)}
}

// status returns the status of issue n.
func (w *world) status(n int) string {
	w.t.Helper()
	if w.rec == nil {
		return "(no record)"
	}
	is := w.rec.Issue(n)
	if is == nil {
		return "(no issue)"
	}
	return is.Status
}

// items returns the line item statuses of issue n in order.
func (w *world) items(n int) []string {
	var out []string
	if w.rec == nil || w.rec.Issue(n) == nil {
		return nil
	}
	for _, li := range w.rec.Issue(n).LineItems {
		out = append(out, li.Status)
	}
	return out
}

func codeValues(cs []epserr.Code) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.System+"/"+c.Value)
	}
	return out
}

func code(c epserr.Code) string { return c.System + "/" + c.Value }
