package rx

import (
	"strings"
	"time"

	"github.com/openeps/openeps/internal/epserr"
)

// Withdraw types (17.109) and reasons (17.110) ESS accepts
// (constants.py WITHDRAW_TYPELIST, WITHDRAW_RSONLIST).
const (
	WithdrawLast = "LD" // the last dispense notification
	WithdrawAll  = "AD" // all of them
)

var withdrawReasons = map[string]bool{"QU": true, "MU": true, "DA": true, "PA": true, "OC": true, "ONC": true}

// dispenseSnapshots counts an issue's DN snapshots (not the release one).
func (is *Issue) dispenseSnapshots() int {
	n := 0
	for _, s := range is.DispenseHistory {
		if s.Key != snapshotRelease {
			n++
		}
	}
	return n
}

// withdrawnStatus is ESS get_withdrawn_status: a repeat dispensing issue can
// only go back as far as 0003 (a restored 0002 becomes 0003).
func (r *Record) withdrawnStatus(s string) string {
	if r.TreatmentType == TreatmentRepeatDispense && s == StatusWithDispenser {
		return StatusWithDispenserAct
	}
	return s
}

// withdrawTarget is the issue a withdraw is for: its repeat instance if
// given, else the issue whose last DN it names, else the current one.
func (r *Record) withdrawTarget(issue int, ref string) *Issue {
	if issue > 0 {
		if is := r.issue(issue); is != nil {
			return is
		}
	}
	if ref != "" {
		for i := range r.Issues {
			if r.Issues[i].Dispense.LastNotificationID == ref {
				return &r.Issues[i]
			}
		}
	}
	return r.Current()
}

// withdraw handles a dispenser withdraw (PORX_IN510101; ESS
// make_withdrawal_updates, return_dispense_history_events,
// get_withdrawn_status, clear_dispense_notifications_from_history). LD puts
// the issue back to the state before its last DN; AD back to the release.
func withdraw(cfg Config, rec *Record, in DispenserWithdraw, now time.Time) (Outcome, error) {
	if in.PrescriptionID == "" {
		return Outcome{}, invalid("Withdraw ID (target prescription) not found")
	}
	if !reGUID.MatchString(in.WithdrawID) {
		return Outcome{}, invalid("dispenseWithdrawID is not a valid GUID format")
	}
	if in.WithdrawType != WithdrawLast && in.WithdrawType != WithdrawAll {
		return Outcome{}, invalid("withdrawType is not of expected type")
	}
	if !withdrawReasons[in.Reason] {
		return Outcome{}, invalid("withdrawReason is not of expected type")
	}
	if in.NotificationRef != "" && !reGUID.MatchString(in.NotificationRef) {
		return Outcome{}, invalid("dispenseNotificationRef ID is not a valid GUID format")
	}
	if in.EffectiveTime != "" {
		if _, err := checkDispenseTime(cfg, "dispenseWithdrawTime", in.EffectiveTime, now); err != nil {
			return Outcome{}, err
		}
	}
	if rec == nil || !rec.PrescriptionPresent {
		return Outcome{Answer: refuse(epserr.PrescriptionNotFound)}, nil
	}
	if in.NHSNumber != "" && in.NHSNumber != rec.Patient.NHSNumber {
		return Outcome{Answer: refuse(epserr.PrescriptionNotFound)}, nil
	}
	target := rec.withdrawTarget(in.Issue, in.NotificationRef)
	sender := in.SenderODS
	if sender == "" {
		sender = in.DispenserODS
	}
	switch {
	case target.dispenseSnapshots() == 0 || target.Dispense.LastNotificationID == "":
		return Outcome{Answer: refuse(epserr.NoDispenseMessages)}, nil // BENCH CHAIN067
	case target.Status == StatusClaimed || target.Status == StatusNoClaimed:
		// A claimed issue is settled with the pricing authority [U]: refused.
		return Outcome{Answer: refuse(epserr.InvalidPrescriptionState)}, nil
	case in.WithdrawType == WithdrawLast && in.NotificationRef != "" && in.NotificationRef != target.Dispense.LastNotificationID:
		return Outcome{Answer: refuse(epserr.NotLastDispense)}, nil
	case sender != "" && target.Dispense.DispenserODS != "" && !strings.EqualFold(sender, target.Dispense.DispenserODS):
		return Outcome{Answer: refuse(epserr.RejectWithAnother)}, nil
	case sender == "" && in.SenderASID != "" && target.Dispense.DispenserASID != "" && in.SenderASID != target.Dispense.DispenserASID:
		// Decision W1: an ETPWithdraw names no organisation (its author is an
		// SDS person alone), so the sending system stands for the dispenser:
		// it must be the system the issue was released to.
		return Outcome{Answer: refuse(epserr.RejectWithAnother)}, nil
	}
	key := target.Dispense.LastNotificationID
	if in.WithdrawType == WithdrawAll {
		key = snapshotRelease
	}
	snap, ok := target.snapshotOf(key)
	if !ok {
		return Outcome{Answer: refuse(epserr.InvalidDispenseHistory)}, nil // BENCH CHAIN068
	}
	r := rec.Clone()
	is := r.issue(target.Number)
	from := is.Status
	if isCompleted(is.Status) && !r.rollbackNextIssue(is.Number) {
		// Decision 12: the DN withdrawn had released the next repeat issue and
		// that issue has gone on to a dispenser: refused.
		return Outcome{Answer: refuse(epserr.InvalidPrescriptionState)}, nil
	}
	if r.CurrentIssue > is.Number && isCompleted(is.Status) {
		r.CurrentIssue = is.Number
	}
	is.restore(snap)
	if key == snapshotRelease {
		// Back to the release. The Spine's own release entry holds the status
		// from before the release (0000/0001 in its records); released is 0002.
		is.Status = StatusWithDispenser
	}
	is.Status = r.withdrawnStatus(is.Status)
	is.PreviousStatus = from
	if in.WithdrawType == WithdrawAll {
		kept := is.DispenseHistory[:0]
		for _, s := range is.DispenseHistory {
			if s.Key == snapshotRelease {
				kept = append(kept, s)
			}
		}
		is.DispenseHistory = kept
	} else {
		is.dropSnapshot(key)
	}
	r.history(HistoryEntry{Time: fmtTime(now), Kind: HistWithdrawn, Issue: is.Number, MessageID: in.MessageID,
		Interaction: in.Interaction, ODS: sender, FromStatus: from, ToStatus: is.Status,
		Detail: in.WithdrawType + " " + in.Reason + " " + in.NotificationRef, Items: historyItems(is)})
	ans := ack(textWithdrawOK)
	if err := r.commit(cfg, in.Meta, now, is.Number, from, ans); err != nil {
		return Outcome{}, err
	}
	return Outcome{Record: r, Answer: ans}, nil
}

// rebuild handles a rebuild dispense history request (PORX_IN540101; ESS
// update_for_rebuild): the issue goes back to its release state and the
// dispense notifications it restates are applied in order, each checked as a
// DN would be. It is for an issue still with its dispenser; one already
// dispensed gets 16.34/0005 (BENCH CHAIN041).
func rebuild(cfg Config, rec *Record, in RebuildDispenseHistory, now time.Time) (Outcome, error) {
	if in.PrescriptionID == "" {
		return Outcome{}, invalid("A single PrescriptionID must be provided")
	}
	if len(in.Notifications) == 0 {
		return Outcome{}, invalid("At least one dispense notification must be provided")
	}
	for i := range in.Notifications {
		dn := &in.Notifications[i]
		if dn.ReplacementOf != "" {
			return Outcome{}, invalid("Amendment is not supported within rebuild dispense history")
		}
		if err := validateNotification(cfg, dn, now); err != nil {
			return Outcome{}, err
		}
		// ESS _prescription_id_consistency.
		if KeyOf(dn.PrescriptionID) != KeyOf(in.PrescriptionID) {
			return Outcome{}, invalid("Mismatch between root Prescription ID %s and Dispense Notification component Prescription ID %s",
				in.PrescriptionID, dn.PrescriptionID)
		}
	}
	if rec == nil || !rec.PrescriptionPresent {
		return Outcome{Answer: refuse(epserr.PrescriptionNotFound)}, nil
	}
	target := rec.Current()
	if in.Issue > 0 {
		if is := rec.issue(in.Issue); is != nil {
			target = is
		}
	}
	switch {
	case isCompleted(target.Status):
		return Outcome{Answer: refuse(epserr.RejectDispensed)}, nil
	case !isWithDispenser(target.Status):
		return Outcome{Answer: refuse(epserr.InvalidPrescriptionState)}, nil
	case in.SenderODS != "" && target.Dispense.DispenserODS != "" && !strings.EqualFold(in.SenderODS, target.Dispense.DispenserODS):
		return Outcome{Answer: refuse(epserr.RejectWithAnother)}, nil
	}
	base, ok := target.snapshotOf(snapshotRelease)
	if !ok {
		return Outcome{Answer: refuse(epserr.InvalidDispenseHistory)}, nil
	}
	r := rec.Clone()
	is := r.issue(target.Number)
	from := is.Status
	is.restore(base)
	is.Status = StatusWithDispenser
	is.DispenseHistory = []Snapshot{base}
	var events []Event
	for _, dn := range in.Notifications {
		if dn.NHSNumber != "" && dn.NHSNumber != r.Patient.NHSNumber {
			return Outcome{Answer: refuse(epserr.PrescriptionNotFound)}, nil
		}
		if !isWithDispenser(is.Status) {
			return Outcome{Answer: refuse(epserr.InvalidDispenseHistory)}, nil // a DN after completion
		}
		if code, ok := r.checkItems(is.LineItems, dn.Items); !ok {
			return Outcome{Answer: refuse(code)}, nil
		}
		if code, ok := r.checkQuantities(cfg, is.LineItems, dn.Items); !ok {
			return Outcome{Answer: refuse(code)}, nil
		}
		if dn.MessageID == "" {
			dn.MessageID = in.MessageID
		}
		events = append(events, r.applyNotification(cfg, is, dn, now)...)
	}
	r.history(HistoryEntry{Time: fmtTime(now), Kind: HistRebuilt, Issue: is.Number, MessageID: in.MessageID,
		Interaction: in.Interaction, ODS: in.SenderODS, FromStatus: from, ToStatus: is.Status, Items: historyItems(is)})
	ans := ack(textRebuildOK)
	if err := r.commit(cfg, in.Meta, now, is.Number, from, ans); err != nil {
		return Outcome{}, err
	}
	return Outcome{Record: r, Answer: ans, Events: events}, nil
}
