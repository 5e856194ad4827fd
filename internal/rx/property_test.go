package rx

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// legalMoves is every issue status change a single message or sweep may make
// (lifecycle.md §3): release, return, dispense, amend, withdraw, claim,
// no-claim, expire, ready, the next repeat issue, its roll-back, cancel.
var legalMoves = map[[2]string]bool{}

func init() {
	add := func(from []string, to ...string) {
		for _, f := range from {
			for _, t := range to {
				legalMoves[[2]string{f, t}] = true
			}
		}
	}
	add([]string{"0000", "0001"}, "0002")                         // release
	add([]string{"0002"}, "0001")                                 // return
	add([]string{"0002"}, "0005")                                 // return applying a pending cancellation
	add([]string{"0002", "0003"}, "0003", "0006", "0007")         // dispense
	add([]string{"0003", "0006", "0007"}, "0003", "0006", "0007") // amend the last DN
	add([]string{"0003", "0006", "0007"}, "0002", "0003")         // withdraw
	add([]string{"0006"}, "0008")                                 // claim
	add([]string{"0003", "0006"}, "0009")                         // no-claim
	add([]string{"0000", "0001", "0002", "9000", "9001"}, "0004") // expire
	add([]string{"0003"}, "0006")                                 // expire of 0003
	add([]string{"0000", "9001"}, "0001")                         // ready
	add([]string{"9000"}, "0000", "0001")                         // next repeat issue
	add([]string{"0000", "0001"}, "9000")                         // next issue taken back (decision 12)
	add([]string{"0000", "0001", "9000", "9001", "9005"}, "0005") // cancel
	add([]string{"9005"}, "0001", "9001", "0005")                 // the prescription arrives
	add([]string{"0000", "0001", "9000", "9001"}, "0005", "0004") // (multi-step in one sweep)
	add([]string{"0003", "0006", "0007", "0002"}, "0003", "0002") // rebuild
	add([]string{"9000"}, "0004", "0005")                         // later issues expire / cancel with the current
	add([]string{"0006", "0007", "0003"}, "0009", "0006", "0007") // sweep chains
	add([]string{"0002"}, "0002")                                 // re-release
}

// model drives a record through random messages, checking the invariants
// after each one.
type model struct {
	t        *rapid.T
	cfg      Config
	rec      *Record
	now      time.Time
	inputs   []stepIn // everything applied, to replay for determinism
	answered map[string]Answer
	lastDN   map[int]DispenseNotification
	pid      string // the prescription's ID: every message is about it
}

type stepIn struct {
	in  any
	now time.Time
}

func (m *model) apply(in any) Outcome {
	before := m.rec.Clone()
	var out Outcome
	var err error
	switch v := in.(type) {
	case sweep:
		out, err = Sweep(m.cfg, m.rec, m.now)
	case NominatedReleaseRequest:
		var cands []*Record
		if m.rec != nil {
			cands = []*Record{m.rec}
		}
		no, e := ReleaseNominated(m.cfg, cands, v, m.now)
		err = e
		out.Answer = no.Answer
		if len(no.Records) > 0 {
			out.Record = no.Records[0]
		}
	default:
		out, err = Apply(m.cfg, m.rec, in, m.now)
	}
	m.inputs = append(m.inputs, stepIn{in, m.now})
	if err != nil {
		// A Go error is a message that cannot be processed; nothing changes.
		return Outcome{}
	}
	if out.Record != nil {
		b, _ := json.Marshal(out.Record)
		var back Record
		if err := json.Unmarshal(b, &back); err != nil {
			m.t.Fatalf("record does not decode: %v", err)
		}
		m.rec = &back
	}
	if out.Delete {
		// Gone with its change log: replays of its messages are the
		// service's (message store) to answer from now on.
		m.rec = nil
		m.answered = map[string]Answer{}
	}
	if meta, ok := MetaOf(in); ok && meta.MessageID != "" && out.Record != nil {
		m.answered[meta.MessageID] = out.Answer
	}
	m.check(before, out, in)
	return out
}

func (m *model) check(before *Record, out Outcome, in any) {
	t := m.t
	r := m.rec
	if r == nil || before == nil {
		return
	}
	for _, is := range r.Issues {
		// table 2.3 after every step
		for _, li := range is.LineItems {
			if !ValidItemStatus(is.Status, li.Status) {
				t.Fatalf("after %T: issue %d item %s under %s breaks table 2.3", in, is.Number, li.Status, is.Status)
			}
			// no line item dispensed beyond its quantity
			if it := r.item(li.ID); it != nil {
				got, ok1 := ParseQuantity(li.Supplied)
				want, ok2 := ParseQuantity(it.Quantity)
				if ok1 && ok2 && got.Cmp(want) > 0 {
					t.Fatalf("after %T: item %s supplied %s of %s", in, li.ID, li.Supplied, it.Quantity)
				}
			}
		}
		prev := before.Issue(is.Number)
		if prev == nil {
			continue
		}
		// only legal transitions
		if prev.Status != is.Status && !legalMoves[[2]string{prev.Status, is.Status}] {
			t.Fatalf("after %T: issue %d moved %s → %s", in, is.Number, prev.Status, is.Status)
		}
		// a cancelled prescription is never released or dispensed
		if prev.Status == StatusCancelled && is.Status != StatusCancelled {
			t.Fatalf("after %T: cancelled issue %d is now %s", in, is.Number, is.Status)
		}
		// a prescription is with at most one dispenser
		if isWithDispenser(is.Status) && is.Dispense.DispenserODS == "" {
			t.Fatalf("issue %d is %s with nobody", is.Number, is.Status)
		}
		if isWithDispenser(prev.Status) && isWithDispenser(is.Status) && prev.Dispense.DispenserODS != is.Dispense.DispenserODS {
			t.Fatalf("after %T: issue %d moved from %s to %s while with a dispenser", in, is.Number,
				prev.Dispense.DispenserODS, is.Dispense.DispenserODS)
		}
		// a claim only follows dispensing
		if is.Status == StatusClaimed && prev.Status != StatusClaimed {
			if prev.Status != StatusDispensed || is.Dispense.LastNotificationID == "" {
				t.Fatalf("issue %d claimed from %s (last DN %q)", is.Number, prev.Status, is.Dispense.LastNotificationID)
			}
		}
	}
	if out.Answer.Kind == AnswerReleaseResponse {
		for _, rel := range out.Answer.Released {
			if is := before.Issue(rel.Issue); is != nil && is.Status == StatusCancelled {
				t.Fatalf("released a cancelled issue %d", rel.Issue)
			}
		}
	}
	if r.SCN < before.SCN {
		t.Fatalf("SCN went back from %d to %d", before.SCN, r.SCN)
	}
}

func (m *model) ids() (string, string) { return m.pid, nhsNumber }

func (m *model) meta(interaction, ods string) Meta {
	return Meta{MessageID: newMsgID(), Interaction: interaction, SenderASID: asidA, SenderODS: ods, Received: m.now}
}

var (
	genODS        = rapid.SampledFrom([]string{pharmacyA, pharmacyB})
	genItemStatus = rapid.SampledFrom([]string{ItemFullyDispensed, ItemNotDispensed, ItemPartialDispensed, ItemNotDispensedOwe, ItemWithDispenser, ItemCancelled})
	genDNStatus   = rapid.SampledFrom([]string{StatusWithDispenserAct, StatusDispensed, StatusNotDispensed})
)

func (m *model) dn(rt *rapid.T, ods string, replaces *DispenseNotification) DispenseNotification {
	id, nhs := m.ids()
	issue := 1
	if m.rec != nil {
		issue = m.rec.CurrentIssue
	}
	d := DispenseNotification{Meta: m.meta("PORX_IN080101UK31", ods), NotificationID: newMsgID(), PrescriptionID: id,
		NHSNumber: nhs, DispenserODS: ods, PrescriptionStatus: genDNStatus.Draw(rt, "dnStatus"),
		DispenseTime: fmtTime(m.now), RepeatLow: issue}
	if replaces != nil {
		d.ReplacementOf, d.RepeatLow = replaces.NotificationID, replaces.RepeatLow
	}
	if m.rec != nil {
		d.RepeatHigh = m.rec.MaxRepeats
		if is := m.rec.Issue(d.RepeatLow); is != nil {
			for _, li := range is.LineItems {
				st := genItemStatus.Draw(rt, "itemStatus")
				q := ""
				if st == ItemFullyDispensed || st == ItemPartialDispensed {
					q = fmt.Sprint(rapid.IntRange(1, 30).Draw(rt, "qty"))
				}
				d.Items = append(d.Items, DispensedItem{ID: li.ID, Status: st, Quantity: q, UnitCode: "428673006",
					RepeatLow: d.RepeatLow, RepeatHigh: li.MaxRepeats})
			}
		}
	}
	return d
}

// step draws one action and applies it.
func (m *model) step(rt *rapid.T) {
	id, nhs := m.ids()
	switch rapid.IntRange(0, 13).Draw(rt, "action") {
	case 0:
		m.apply(PatientReleaseRequest{Meta: m.meta("PORX_IN132004UK30", genODS.Draw(rt, "ods")), RequestID: newMsgID(), PrescriptionID: id})
	case 1:
		m.apply(NominatedReleaseRequest{Meta: m.meta("PORX_IN060102UK30", genODS.Draw(rt, "ods")), RequestID: newMsgID()})
	case 2, 3:
		d := m.dn(rt, genODS.Draw(rt, "ods"), nil)
		if o := m.apply(d); o.Record != nil && o.Answer.AckType == AckAccepted {
			m.lastDN[d.RepeatLow] = d
		}
	case 4:
		if last, ok := m.lastDN[m.issueDrawn(rt)]; ok {
			d := m.dn(rt, last.DispenserODS, &last)
			if o := m.apply(d); o.Record != nil && o.Answer.AckType == AckAccepted {
				m.lastDN[d.RepeatLow] = d
			}
		}
	case 5:
		n := m.issueDrawn(rt)
		c := DispenseClaim{Meta: m.meta("PORX_IN090101UK31", pharmacyA), ClaimID: newMsgID(), PrescriptionID: id,
			NHSNumber: nhs, ClaimTime: fmtTime(m.now), RepeatLow: n}
		if m.rec != nil && m.rec.Issue(n) != nil {
			for _, li := range m.rec.Issue(n).LineItems {
				c.Items = append(c.Items, DispensedItem{ID: li.ID, Status: li.Status})
			}
			if rapid.Bool().Draw(rt, "amendClaim") && m.rec.Issue(n).Claim.ClaimID != "" {
				c.ReplacementOf = m.rec.Issue(n).Claim.ClaimID
			}
		}
		m.apply(c)
	case 6:
		m.apply(DispenseProposalReturn{Meta: m.meta("PORX_IN100101UK31", genODS.Draw(rt, "ods")), ReturnID: newMsgID(), PrescriptionID: id})
	case 7:
		n := m.issueDrawn(rt)
		ref := ""
		if last, ok := m.lastDN[n]; ok {
			ref = last.NotificationID
		}
		kind := rapid.SampledFrom([]string{WithdrawLast, WithdrawAll}).Draw(rt, "withdraw")
		if o := m.apply(DispenserWithdraw{Meta: m.meta("PORX_IN510101UK31", genODS.Draw(rt, "ods")), WithdrawID: newMsgID(),
			PrescriptionID: id, NHSNumber: nhs, WithdrawType: kind, Reason: "DA", NotificationRef: ref, Issue: n}); o.Record != nil {
			delete(m.lastDN, n) // the next DN is a new one
		}
	case 8:
		item := ""
		if m.rec != nil && len(m.rec.Items) > 0 && rapid.Bool().Draw(rt, "itemCancel") {
			item = m.rec.Items[rapid.IntRange(0, len(m.rec.Items)-1).Draw(rt, "item")].ID
		}
		m.apply(CancelRequest{Meta: m.meta("PORX_IN030101UK32", prescriber), RequestID: newMsgID(), PrescriptionID: id,
			NHSNumber: nhs, LineItemID: item, EffectiveTime: fmtTime(m.now)})
	case 9:
		m.now = m.now.Add(time.Duration(rapid.IntRange(1, 200).Draw(rt, "days")) * day)
		m.apply(sweep{})
	case 10:
		m.now = m.now.Add(time.Duration(rapid.IntRange(1, 48).Draw(rt, "hours")) * time.Hour)
	case 13:
		// restate the dispensing so far as one DN
		d := m.dn(rt, genODS.Draw(rt, "ods"), nil)
		d.MessageID = ""
		m.apply(RebuildDispenseHistory{Meta: m.meta("PORX_IN540101UK31", d.DispenserODS), RebuildID: newMsgID(),
			PrescriptionID: id, Issue: d.RepeatLow, Notifications: []DispenseNotification{d}})
		delete(m.lastDN, d.RepeatLow)
	case 11, 12:
		// replay a message already answered: nothing changes, same answer
		if len(m.inputs) == 0 || m.rec == nil {
			return
		}
		prev := m.inputs[rapid.IntRange(0, len(m.inputs)-1).Draw(rt, "replay")].in
		meta, ok := MetaOf(prev)
		first, answered := m.answered[meta.MessageID]
		if !ok || !answered || meta.MessageID == "" {
			return
		}
		if _, nominated := prev.(NominatedReleaseRequest); nominated {
			return // the service answers those from its message store
		}
		if _, create := prev.(Prescription); create {
			return
		}
		before := m.rec.Clone()
		out, err := Apply(m.cfg, m.rec, prev, m.now)
		if err != nil || out.Record != nil || !out.Replay || !reflect.DeepEqual(out.Answer, first) {
			m.t.Fatalf("replay of %T: err %v record %v replay %v answer %+v (first %+v)", prev, err, out.Record != nil, out.Replay, out.Answer, first)
		}
		if !reflect.DeepEqual(before, m.rec) {
			m.t.Fatalf("replay changed the record")
		}
	}
}

func (m *model) issueDrawn(rt *rapid.T) int {
	if m.rec == nil || len(m.rec.Issues) == 0 {
		return 1
	}
	return rapid.IntRange(1, len(m.rec.Issues)).Draw(rt, "issue")
}

func TestLifecycleProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := &model{t: rt, cfg: DefaultConfig(), now: t0, answered: map[string]Answer{}, lastDN: map[int]DispenseNotification{}}
		var p Prescription
		if rapid.Bool().Draw(rt, "repeatDispensing") {
			p = repeatDispensing(rapid.IntRange(2, 3).Draw(rt, "issues"), rapid.IntRange(1, 2).Draw(rt, "items"))
		} else {
			p = acute(rapid.IntRange(1, 3).Draw(rt, "items"))
		}
		m.pid = p.ID
		if rapid.IntRange(0, 4).Draw(rt, "cancelFirst") == 0 {
			m.apply(CancelRequest{Meta: m.meta("PORX_IN030101UK32", prescriber), RequestID: newMsgID(),
				PrescriptionID: p.ID, NHSNumber: nhsNumber, EffectiveTime: fmtTime(m.now)})
		}
		m.apply(p)
		steps := rapid.IntRange(1, 25).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			m.step(rt)
		}
		// The same messages at the same times give the same record.
		again := &model{t: rt, cfg: m.cfg, now: t0, answered: map[string]Answer{}, lastDN: map[int]DispenseNotification{}, pid: m.pid}
		for _, s := range m.inputs {
			again.now = s.now
			again.apply(s.in)
		}
		a, _ := json.Marshal(m.rec)
		b, _ := json.Marshal(again.rec)
		if string(a) != string(b) {
			rt.Fatalf("the same messages gave different records:\n%s\n%s", a, b)
		}
	})
}
