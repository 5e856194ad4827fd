package rx

import (
	"strings"
	"time"

	"github.com/openeps/openeps/internal/epserr"
)

// validItemTransition is the worker's allowed [old, new] line item pairs for a
// dispense notification. ESS compare_line_items_for_dispense checks a list
// that is not public; this one is derived from table 2.3 and the expiry
// mapping (lifecycle.md §3.5 proposal): an item with the dispenser (0008,
// 0003, 0004) may become any of 0001–0004; a finished or cancelled/expired
// item may only stay as it is. Decision D1: an item still untouched (0008)
// may also stay 0008 in a partial notification of another item (table 2.3
// allows 0008 under 0003).
func validItemTransition(from, to string) bool {
	switch from {
	case ItemWithDispenser:
		switch to {
		case ItemFullyDispensed, ItemNotDispensed, ItemPartialDispensed, ItemNotDispensedOwe, ItemWithDispenser:
			return true
		}
		return false
	case ItemPartialDispensed, ItemNotDispensedOwe:
		switch to {
		case ItemFullyDispensed, ItemNotDispensed, ItemPartialDispensed, ItemNotDispensedOwe:
			return true
		}
		return false
	case ItemFullyDispensed, ItemNotDispensed, ItemCancelled, ItemExpired:
		return to == from
	}
	return false
}

// checkDispenseTime is ESS _check_dispense_time (and the claim and withdraw
// variants): a valid YYYYMMDDhhmmss, not more than a day ahead. A time that
// cannot be read gets the Spine's 17.22/9006 "Format of date passed is
// invalid" (BENCH CHAIN060; ESS says 5000 — decision V2).
func checkDispenseTime(cfg Config, name, t string, now time.Time) (string, error) {
	nt, ok := normaliseTime(t)
	if !ok {
		return "", epserr.InvalidCode(epserr.InvalidDateFormat.With(name+" is not a valid time or in the valid format; expected format %Y%m%d%H%M%S"),
			"%s %q", name, t)
	}
	if nt > fmtTime(now.AddDate(0, 0, cfg.DispenseTimeToleranceDays)) {
		return "", invalid("%s is more than one day in the future", name)
	}
	return nt, nil
}

// validateNotification is the Spine's checks of a dispense notification that
// need no record (Dispense_Notification_PORX_MT024001UK31.xsl faults, ESS
// _check_dispense_time, _check_line_items_dispense_side).
func validateNotification(cfg Config, in *DispenseNotification, now time.Time) error {
	if in.PrescriptionID == "" {
		return invalid("A single PrescriptionID must be provided")
	}
	if !reGUID.MatchString(in.NotificationID) {
		return invalid("dispenseNotificationID is not a valid GUID format")
	}
	if in.ReplacementOf != "" && !reGUID.MatchString(in.ReplacementOf) {
		return invalid("replacementOf target must be a 36-character GUID")
	}
	t, err := checkDispenseTime(cfg, "dispenseNotificationTime", in.DispenseTime, now)
	if err != nil {
		return err
	}
	in.DispenseTime = t
	if len(in.Items) == 0 {
		return invalid("At least 1 SuppliedLineItem must be provided")
	}
	switch in.PrescriptionStatus {
	case StatusWithDispenserAct, StatusDispensed, StatusNotDispensed:
	default:
		return invalid("prescriptionStatus %q is not a status a dispense notification can report", in.PrescriptionStatus)
	}
	for i, it := range in.Items {
		if !ValidItemStatus(in.PrescriptionStatus, it.Status) {
			return invalid("Invalid state combination for line item %d", i+1)
		}
		if !reGUID.MatchString(it.ID) {
			return invalid("lineItem%dID is not a valid GUID format", i+1)
		}
	}
	return nil
}

// dispenseTarget finds the issue a DN is for: for an amendment, the issue
// whose last DN it replaces; otherwise the issue its repeat number names, or
// the current one.
func (r *Record) dispenseTarget(repeat int, replacementOf string) (*Issue, bool) {
	if replacementOf != "" {
		for i := range r.Issues {
			if r.Issues[i].Dispense.LastNotificationID == replacementOf {
				return &r.Issues[i], true
			}
		}
		return nil, false
	}
	if repeat > 0 {
		if is := r.issue(repeat); is != nil {
			return is, true
		}
	}
	return r.Current(), true
}

// snapshotOf returns the dispense history entry with key k.
func (is *Issue) snapshotOf(k string) (Snapshot, bool) {
	for _, s := range is.DispenseHistory {
		if s.Key == k {
			return s, true
		}
	}
	return Snapshot{}, false
}

func (is *Issue) dropSnapshot(k string) {
	out := is.DispenseHistory[:0]
	for _, s := range is.DispenseHistory {
		if s.Key != k {
			out = append(out, s)
		}
	}
	is.DispenseHistory = out
}

// restore puts an issue back to a saved state (ESS make_withdrawal_updates).
func (is *Issue) restore(s Snapshot) {
	is.Status = s.Status
	is.LastDispenseStatus = s.LastDispStatus
	is.CompletionDate = s.CompletionDate
	is.Dispense = s.Dispense
	is.LineItems = append([]IssueItem(nil), s.LineItems...)
}

// checkItems is ESS compare_line_items_for_dispense against the state
// baseline: the same set of item IDs (else 0014), each change allowed (else
// 0013), and for repeat dispensing each item's max repeats as stored or equal
// to the prescription's (else 0018; repeat prescribing only logs it).
func (r *Record) checkItems(baseline []IssueItem, items []DispensedItem) (epserr.Code, bool) {
	stored := map[string]IssueItem{}
	for _, li := range baseline {
		stored[li.ID] = li
	}
	passed := map[string]bool{}
	for _, it := range items {
		passed[it.ID] = true
	}
	if len(passed) != len(stored) || len(passed) != len(items) {
		return epserr.ItemNotFound, false
	}
	for id := range passed {
		if _, ok := stored[id]; !ok {
			return epserr.ItemNotFound, false
		}
	}
	for _, it := range items {
		old := stored[it.ID]
		if !validItemTransition(old.Status, it.Status) {
			return epserr.InvalidItemState, false
		}
		if r.TreatmentType != TreatmentRepeatDispense {
			continue // acute: not checked; repeat prescribing: only logged (EPS0147b)
		}
		if it.RepeatHigh == old.MaxRepeats || (it.RepeatHigh != 0 && it.RepeatHigh == r.MaxRepeats) {
			continue // SPII-14044: the prescription's max repeats is accepted too
		}
		return epserr.RepeatCountMismatch, false
	}
	return epserr.Code{}, true
}

// checkQuantities refuses a notification that would supply more of an item
// than was prescribed in the same unit (openeps policy beyond the Spine,
// Config.CheckSuppliedQuantity), with 16.34/5000 and the figures.
func (r *Record) checkQuantities(cfg Config, baseline []IssueItem, items []DispensedItem) (epserr.Code, bool) {
	if !cfg.CheckSuppliedQuantity {
		return epserr.Code{}, true
	}
	for _, it := range items {
		total, ok := r.suppliedAfter(baseline, it)
		if !ok {
			continue
		}
		pi := r.item(it.ID)
		if pi == nil || (it.UnitCode != "" && pi.UnitCode != "" && it.UnitCode != pi.UnitCode) {
			continue
		}
		want, ok := ParseQuantity(pi.Quantity)
		if !ok {
			continue
		}
		if total.Cmp(want) > 0 {
			return epserr.UnableToProcess.With("supplied quantity " + total.String() + " of line item " + it.ID +
				" exceeds the " + want.String() + " prescribed"), false
		}
	}
	return epserr.Code{}, true
}

// suppliedAfter is what an item's supplied total becomes with this DN: the
// dispenser's running total when it gives one, else what was supplied before
// this DN plus this DN's quantity.
func (r *Record) suppliedAfter(baseline []IssueItem, it DispensedItem) (Quantity, bool) {
	if rt, ok := ParseQuantity(it.RunningTotal); ok {
		return rt, true
	}
	q, ok := ParseQuantity(it.Quantity)
	if !ok {
		return Quantity{}, false
	}
	for _, li := range baseline {
		if li.ID == it.ID {
			if prev, ok := ParseQuantity(li.Supplied); ok {
				q = q.Add(prev)
			}
		}
	}
	return q, true
}

// dispense handles a dispense notification (PORX_IN080101; ESS
// update_for_dispense, compare_line_items_for_dispense,
// create_dispense_history_entry, release_next_instance), or an amendment of
// the last one (replacementOf).
func dispense(cfg Config, rec *Record, in DispenseNotification, now time.Time) (Outcome, error) {
	if err := validateNotification(cfg, &in, now); err != nil {
		return Outcome{}, err
	}
	if rec == nil || !rec.PrescriptionPresent {
		return Outcome{Answer: refuse(epserr.PrescriptionNotFound)}, nil // BENCH CHAIN056/066
	}
	if in.NHSNumber != "" && in.NHSNumber != rec.Patient.NHSNumber {
		// return_details_for_dispense [I]: no such prescription for that patient.
		return Outcome{Answer: refuse(epserr.PrescriptionNotFound)}, nil
	}
	amend := in.ReplacementOf != ""
	target, ok := rec.dispenseTarget(in.RepeatLow, in.ReplacementOf)
	if !ok {
		return Outcome{Answer: refuse(epserr.NotLastDispense)}, nil
	}
	switch {
	case amend && (target.Status == StatusClaimed || target.Status == StatusNoClaimed):
		return Outcome{Answer: refuse(epserr.InvalidPrescriptionState)}, nil
	case amend:
	case isCompleted(target.Status):
		return Outcome{Answer: refuse(epserr.RejectDispensed)}, nil
	case !isWithDispenser(target.Status):
		return Outcome{Answer: refuse(epserr.InvalidPrescriptionState)}, nil
	}
	if in.SenderODS != "" && target.Dispense.DispenserODS != "" && !strings.EqualFold(in.SenderODS, target.Dispense.DispenserODS) {
		return Outcome{Answer: refuse(epserr.RejectWithAnother)}, nil
	}
	baseline := target.LineItems
	var replaced Snapshot
	if amend {
		s, ok := target.snapshotOf(in.ReplacementOf)
		if !ok {
			return Outcome{Answer: refuse(epserr.InvalidDispenseHistory)}, nil
		}
		replaced, baseline = s, s.LineItems
	}
	if code, ok := rec.checkItems(baseline, in.Items); !ok {
		return Outcome{Answer: refuse(code)}, nil
	}
	if code, ok := rec.checkQuantities(cfg, baseline, in.Items); !ok {
		return Outcome{Answer: refuse(code)}, nil
	}
	r := rec.Clone()
	is := r.issue(target.Number)
	from := is.Status
	if amend {
		// The amendment replaces the last DN: back to the state before it,
		// then apply this one. If the replaced DN completed the issue and
		// released the next one, and this one does not, the next issue goes
		// back to 9000 — refused if it has already been released to a dispenser.
		if isCompleted(is.Status) && !isCompleted(in.PrescriptionStatus) {
			if !r.rollbackNextIssue(is.Number) {
				return Outcome{Answer: refuse(epserr.InvalidPrescriptionState)}, nil
			}
		}
		is.restore(replaced)
		is.dropSnapshot(in.ReplacementOf)
	}
	kind := HistDispensed
	if amend {
		kind = HistAmended
	}
	h := HistoryEntry{Time: fmtTime(now), Kind: kind, Issue: is.Number, MessageID: in.MessageID,
		Interaction: in.Interaction, ODS: is.Dispense.DispenserODS, FromStatus: from, ToStatus: in.PrescriptionStatus}
	for _, it := range in.Items {
		h.Items = append(h.Items, HistoryItem{ID: it.ID, Status: it.Status, Quantity: it.Quantity, Unit: it.UnitCode})
	}
	if amend {
		h.Detail = "replaces " + in.ReplacementOf
	}
	r.history(h)
	events := r.applyNotification(cfg, is, in, now)
	ans := ack(textDispenseOK)
	if err := r.commit(cfg, in.Meta, now, is.Number, from, ans); err != nil {
		return Outcome{}, err
	}
	return Outcome{Record: r, Answer: ans, Events: events}, nil
}

// applyNotification changes issue is as the DN says (ESS update_for_dispense):
// the pre-change snapshot a withdraw restores, the last dispense details, the
// item statuses and supplied totals, the status, and — when the issue is
// completed — the completion date and the next repeat issue (3.10). It
// returns the subsequent cancellation messages of pending cancellations the
// DN settled.
func (r *Record) applyNotification(cfg Config, is *Issue, in DispenseNotification, now time.Time) []Event {
	date := dateOf(in.DispenseTime)
	snap := Snapshot{Key: in.NotificationID, MessageRef: in.MessageID, DispenseDate: date, Status: is.Status,
		LastDispStatus: is.LastDispenseStatus, CompletionDate: is.CompletionDate, Dispense: is.Dispense,
		LineItems: append([]IssueItem(nil), is.LineItems...)}
	if snap.Dispense.LastDispenseDate == "" {
		snap.Dispense.LastDispenseDate = is.ReleaseDate
	}
	is.DispenseHistory = append(is.DispenseHistory, snap)
	is.Dispense.LastDispenseDate = date
	is.Dispense.LastDispenseTime = in.DispenseTime
	is.Dispense.LastNotificationID = in.NotificationID
	is.Dispense.LastNotificationMsgRef = in.MessageID
	if in.DispenserODS != "" && is.Dispense.DispenserODS == "" {
		is.Dispense.DispenserODS = strings.ToUpper(in.DispenserODS)
	}
	is.LastDispenseStatus = in.PrescriptionStatus
	for _, it := range in.Items {
		li := is.lineItem(it.ID)
		if li == nil {
			continue
		}
		if total, ok := r.suppliedAfter(snap.LineItems, it); ok {
			li.Supplied = total.String()
		}
		if li.Status != it.Status || li.PreviousStatus == "" {
			li.setStatus(it.Status)
		}
	}
	is.setStatus(in.PrescriptionStatus)
	var events []Event
	if isCompleted(in.PrescriptionStatus) {
		is.CompletionDate = date
		if next := r.issue(is.Number + 1); next != nil {
			next.PriorPreviousIssueDate = in.DispenseTime
		}
		r.releaseNextIssue(cfg, is.Number, date, now, in.MessageID)
	}
	return append(events, r.resolvePending(cfg, is.Number, now)...)
}

// releaseNextIssue is ESS release_next_instance: after issue n completes, the
// next issue — only if it exists and is 9000 — gets its nominated download
// date (prescription date + daysSupply × (next − 1) − 7 days; legacy: dispense
// date + daysSupply − 7) and becomes 0000 if that date is today or later
// (the ready sweep makes it 0001), else 0001; its dispense window starts on
// the dispense date, and it becomes the current issue.
func (r *Record) releaseNextIssue(cfg Config, n int, dispenseDate string, now time.Time, msgID string) {
	next := r.issue(n + 1)
	if next == nil || next.Status != StatusRepeatFuture {
		return
	}
	var ndd string
	if cfg.NominatedDownloadFromPrescribed {
		ndd = addDays(r.prescriptionDate(), r.DaysSupply*(next.Number-1)-cfg.NominatedDownloadLeadDays)
	} else {
		ndd = addDays(dispenseDate, r.DaysSupply-cfg.NominatedDownloadLeadDays)
	}
	st := StatusToBeDispensed
	if ndd >= fmtDate(now) {
		st = StatusAwaitingRelease
	}
	next.setStatus(st)
	next.DispenseWindowLow = dispenseDate
	next.NominatedDownloadDate = ndd
	r.CurrentIssue = next.Number
	r.history(HistoryEntry{Time: fmtTime(now), Kind: HistNextIssue, Issue: next.Number, MessageID: msgID,
		FromStatus: StatusRepeatFuture, ToStatus: st, Detail: "nominated download date " + ndd})
}

// rollbackNextIssue undoes releaseNextIssue for the issue after n, if it has
// not gone further than 0000/0001 (decision 12: ESS never rolls it back). It
// reports false when the next issue has moved on and cannot be taken back.
func (r *Record) rollbackNextIssue(n int) bool {
	next := r.issue(n + 1)
	if next == nil || next.Status == StatusRepeatFuture {
		return true // nothing was released
	}
	if next.Status != StatusAwaitingRelease && next.Status != StatusToBeDispensed {
		return false
	}
	next.setStatus(StatusRepeatFuture)
	next.NominatedDownloadDate = ""
	next.PriorPreviousIssueDate = ""
	next.DispenseWindowLow = r.DispenseWindowLow
	r.CurrentIssue = n
	return true
}
