package rx

import (
	"strings"
	"time"

	"github.com/openeps/openeps/internal/epserr"
)

// cancellationOf turns a cancel request into the object the record keeps
// (ESS return_cancellation_object).
func cancellationOf(c CancelRequest, now time.Time) Cancellation {
	t := c.EffectiveTime
	if nt, ok := normaliseTime(t); ok {
		t = nt
	} else {
		t = fmtTime(now)
	}
	return Cancellation{
		ID: c.RequestID, MessageID: c.MessageID, LineItemID: strings.ToUpper(c.LineItemID),
		ODS: c.SenderODS, ASID: c.SenderASID, RoleProfile: c.AuthorRoleProfile, SDSUser: c.AuthorSDSUser,
		Code: c.AuthorCode, Name: c.AuthorName, ReasonCode: c.ReasonCode, ReasonText: c.ReasonText, Time: t, Received: fmtTime(now),
	}
}

func validateCancel(c CancelRequest) error {
	if c.PrescriptionID == "" {
		return invalid("Mandatory field prescriptionID missing")
	}
	if !rePrescID.MatchString(c.PrescriptionID) {
		return invalid("prescriptionID has invalid format")
	}
	if c.MessageID == "" {
		return invalid("Mandatory field messageID missing")
	}
	if c.LineItemID != "" && !reGUID.MatchString(strings.ToUpper(c.LineItemID)) {
		return invalid("cancelLineItemRef is not a valid GUID format")
	}
	return nil
}

func cancelAnswer(code epserr.Code, c Cancellation, prescriptionID string, performer *Party) Answer {
	a := Answer{Kind: AnswerCancelResponse, AckType: AckError, Codes: []epserr.Code{code}, Text: code.Display,
		RequestRef: c.ID, PrescriptionID: prescriptionID, LineItemID: c.LineItemID, Performer: performer}
	if code == epserr.CancelDone {
		a.AckType = AckAccepted
	}
	return a
}

// performerOf returns the dispenser to name in a cancel response, when the
// issue's status is one of ESS INCLUDE_PERFORMER_STATES.
func performerOf(is *Issue) *Party {
	if is == nil || is.Dispense.DispenserODS == "" {
		return nil
	}
	switch is.Status {
	case StatusWithDispenser, StatusWithDispenserAct, StatusDispensed, StatusNotDispensed, StatusClaimed, StatusNoClaimed:
		d := is.Dispense
		return &Party{ODS: d.DispenserODS, ASID: d.DispenserASID, RoleProfile: d.DispenserRoleProfile,
			SDSUser: d.DispenserSDSUser, Name: d.DispenserName, Time: d.ReleaseTime}
	}
	return nil
}

// cancel handles a cancel request (lifecycle.md §3.2; ESS record.py
// cancellation helpers). Every outcome against a record is stored (history and
// change log, SCN + 1), refusals included, so a tracker shows them and a replay
// is answered the same way (decision C2).
func cancel(cfg Config, rec *Record, in CancelRequest, now time.Time) (Outcome, error) {
	if err := validateCancel(in); err != nil {
		return Outcome{}, err
	}
	c := cancellationOf(in, now)
	if rec == nil {
		return cancelPlaceholder(cfg, in, c, now)
	}
	r := rec.Clone()
	cur := r.Current()
	from := ""
	if cur != nil {
		from = cur.Status
	}
	var ans Answer
	hist := HistoryEntry{Time: fmtTime(now), Issue: r.CurrentIssue, MessageID: in.MessageID, Interaction: in.Interaction,
		ODS: in.SenderODS, FromStatus: from, Detail: c.target()}
	switch {
	case !r.PrescriptionPresent:
		ans, hist.Kind = r.addPlaceholderCancel(c)
	case in.NHSNumber != "" && in.NHSNumber != r.Patient.NHSNumber:
		// check_nhs_number_match. The code is not public (U): openeps answers
		// 0008 "not found" — there is no such prescription for that patient —
		// and says nothing about whose it is (decision C3).
		ans, hist.Kind = cancelAnswer(epserr.CancelNotFound, c, r.PrescriptionID, nil), HistCancelRefused
		hist.Detail = "NHS number does not match"
	case c.Whole():
		ans, hist.Kind = r.cancelWhole(cfg, c, now)
	default:
		ans, hist.Kind = r.cancelLineItem(cfg, c, now)
	}
	hist.Code = codePtr(ans.Code())
	if cur := r.Current(); cur != nil {
		hist.ToStatus = cur.Status
	}
	r.history(hist)
	if err := r.commit(cfg, in.Meta, now, hist.Issue, from, ans); err != nil {
		return Outcome{}, err
	}
	return Outcome{Record: r, Answer: ans}, nil
}

// cancelPlaceholder stores a cancel that arrived before its prescription (ESS
// set_pending_cancellation with prescription_present False): a placeholder
// record, issue 1 in 9005, prescription time = the cancellation date. The
// answer is 0008 "not found" now; when the prescription arrives it is
// cancelled and the canceller gets a subsequent response (decision 17).
func cancelPlaceholder(cfg Config, in CancelRequest, c Cancellation, now time.Time) (Outcome, error) {
	r := &Record{
		PrescriptionID:       strings.ToUpper(in.PrescriptionID),
		PrescriptionTime:     dateOf(c.Time),
		CurrentIssue:         1,
		MaxRepeats:           1,
		CreatedAt:            fmtTime(now),
		Prescriber:           Prescriber{ODS: in.SenderODS},
		Patient:              PatientDetails{NHSNumber: in.NHSNumber},
		Issues:               []Issue{{Number: 1, Status: StatusPendingCancelHold}},
		PendingCancellations: []Cancellation{c},
		ChangeLog:            map[string]ChangeEntry{},
	}
	ans := cancelAnswer(epserr.CancelNotFound, c, r.PrescriptionID, nil)
	r.history(HistoryEntry{Time: fmtTime(now), Kind: HistPlaceholder, Issue: 1, MessageID: in.MessageID,
		Interaction: in.Interaction, ODS: in.SenderODS, ToStatus: StatusPendingCancelHold, Code: codePtr(ans.Code()),
		Detail: c.target()})
	if err := r.commit(cfg, in.Meta, now, 1, "", ans); err != nil {
		return Outcome{}, err
	}
	return Outcome{Record: r, Answer: ans}, nil
}

// addPlaceholderCancel adds another cancel to a placeholder, unless it is a
// duplicate (ESS check_pending_cancellation_unique: a pending whole
// cancellation blocks every later one; otherwise the same target).
func (r *Record) addPlaceholderCancel(c Cancellation) (Answer, HistoryKind) {
	for _, p := range r.PendingCancellations {
		if p.Whole() || p.target() == c.target() {
			return r.duplicateCancel(c, p, epserr.CancelNotFound)
		}
	}
	r.PendingCancellations = append(r.PendingCancellations, c)
	return cancelAnswer(epserr.CancelNotFound, c, r.PrescriptionID, nil), HistCancelPending
}

// duplicateCancel records a duplicate in unsuccessfulCancellations. Another
// organisation gets 0007 "Cancellation requested by another prescriber"; the
// same organisation gets the pending answer again (3.2.4).
func (r *Record) duplicateCancel(c, pending Cancellation, same epserr.Code) (Answer, HistoryKind) {
	c.FailureReason = "Duplicate of pending cancellation " + pending.ID
	r.UnsuccessfulCancellations = append(r.UnsuccessfulCancellations, c)
	code := same
	if !strings.EqualFold(pending.ODS, c.ODS) {
		code = epserr.CancelByAnotherPrescriber
	}
	return cancelAnswer(code, c, r.PrescriptionID, performerOf(r.Current())), HistCancelDuplicate
}

// cancelWhole is table 3.2.1 (ESS check_current_instance_to_cancel_by_pr_id,
// _w_dispenser_by_pr_id, return_error_for_invalid_cancel_by_pr_id).
func (r *Record) cancelWhole(cfg Config, c Cancellation, now time.Time) (Answer, HistoryKind) {
	cur := r.Current()
	switch {
	case isCancellable(cur.Status):
		r.applyCancellation(cfg, c, r.CurrentIssue)
		return cancelAnswer(epserr.CancelDone, c, r.PrescriptionID, nil), HistCancelled
	case isWithDispenser(cur.Status):
		return r.addPendingWithDispenser(c)
	}
	return cancelAnswer(refusalFor(cur.Status), c, r.PrescriptionID, performerOf(cur)), HistCancelRefused
}

// refusalFor maps a completed status to its cancel response code.
func refusalFor(status string) epserr.Code {
	switch status {
	case StatusExpired:
		return epserr.CancelExpired
	case StatusCancelled:
		return epserr.CancelAlreadyCancelled
	case StatusNotDispensed:
		return epserr.CancelNotDispensed
	case StatusDispensed, StatusClaimed, StatusNoClaimed:
		return epserr.CancelDispensed
	case StatusPendingCancelHold:
		return epserr.CancelNotFound
	}
	return epserr.CancelUnableToProcess
}

// pendingCode is the answer to a cancel held while the prescription is with a
// dispenser: 0002 for 0002, 0003 for 0003.
func pendingCode(status string) epserr.Code {
	if status == StatusWithDispenserAct {
		return epserr.CancelWithDispenserActive
	}
	return epserr.CancelWithDispenser
}

// addPendingWithDispenser holds a cancel while a dispenser has the
// prescription (ESS check_pending_cancellation_unique_w_disp: whole and
// line-item targets are independent; only the same target is a duplicate).
func (r *Record) addPendingWithDispenser(c Cancellation) (Answer, HistoryKind) {
	cur := r.Current()
	code := pendingCode(cur.Status)
	for _, p := range r.PendingCancellations {
		if p.target() == c.target() {
			return r.duplicateCancel(c, p, code)
		}
	}
	r.PendingCancellations = append(r.PendingCancellations, c)
	return cancelAnswer(code, c, r.PrescriptionID, performerOf(cur)), HistCancelPending
}

// cancelLineItem is table 3.2.2 (ESS check_current_instance_to_cancel_by_li_id,
// _w_dispenser_by_li_id, return_error_for_invalid_cancel_by_li_id).
func (r *Record) cancelLineItem(cfg Config, c Cancellation, now time.Time) (Answer, HistoryKind) {
	cur := r.Current()
	li := cur.lineItem(c.LineItemID)
	if li == nil {
		return cancelAnswer(epserr.CancelNotFound, c, r.PrescriptionID, nil), HistCancelRefused
	}
	switch li.Status {
	case ItemToBeDispensed:
		if isCancellable(cur.Status) {
			r.applyCancellation(cfg, c, r.CurrentIssue)
			return cancelAnswer(epserr.CancelDone, c, r.PrescriptionID, nil), HistCancelled
		}
	case ItemWithDispenser, ItemPartialDispensed, ItemNotDispensedOwe:
		// Decision C4: ESS answers an owing item (0004) "with dispenser
		// active, marked for cancellation" by fall-through without marking
		// it; openeps marks it, so the answer is true.
		return r.addPendingWithDispenser(c)
	case ItemFullyDispensed:
		return cancelAnswer(epserr.CancelDispensed, c, r.PrescriptionID, performerOf(cur)), HistCancelRefused
	case ItemNotDispensed:
		return cancelAnswer(epserr.CancelNotDispensed, c, r.PrescriptionID, performerOf(cur)), HistCancelRefused
	case ItemCancelled:
		return cancelAnswer(epserr.CancelAlreadyCancelled, c, r.PrescriptionID, nil), HistCancelRefused
	case ItemExpired:
		return cancelAnswer(epserr.CancelExpired, c, r.PrescriptionID, nil), HistCancelRefused
	}
	return cancelAnswer(refusalFor(cur.Status), c, r.PrescriptionID, performerOf(cur)), HistCancelRefused
}

// applyCancellation is ESS apply_cancellation: the cancellation applies to
// issue start and every later issue, then the current issue is reset to the
// first one still active or to come (reset_current_instance).
func (r *Record) applyCancellation(cfg Config, c Cancellation, start int) []int {
	var done []int
	for i := range r.Issues {
		is := &r.Issues[i]
		if is.Number < start {
			continue
		}
		if c.Whole() {
			r.cancelIssue(cfg, is, c)
		} else {
			r.cancelIssueItem(cfg, is, c)
		}
		done = append(done, is.Number)
	}
	c.Issues = done
	r.resetCurrentIssue()
	return done
}

// cancelIssue is ESS process_instance_cancellation: status 0005 and the
// completion date = the cancellation's date. Decision 16: ESS leaves the line
// items as they were (0007 under 0005 breaks table 2.3); openeps cancels every
// active item too.
func (r *Record) cancelIssue(cfg Config, is *Issue, c Cancellation) {
	if is.Status != StatusCancelled {
		is.setStatus(StatusCancelled)
	}
	is.Cancellations = append(is.Cancellations, c)
	is.CompletionDate = dateOf(c.Time)
	if cfg.CancelItemsWithPrescription {
		for j := range is.LineItems {
			if itemIsActive(is.LineItems[j].Status) {
				is.LineItems[j].setStatus(ItemCancelled)
			}
		}
	}
}

// cancelIssueItem is ESS process_line_cancellation: the item → 0005; if no
// other item is still active the whole issue is cancelled. openeps leaves an
// item that is already finished (0001/0002/0006) as it is.
func (r *Record) cancelIssueItem(cfg Config, is *Issue, c Cancellation) {
	active := false
	for j := range is.LineItems {
		li := &is.LineItems[j]
		if li.ID != c.LineItemID {
			if itemIsActive(li.Status) {
				active = true
			}
			continue
		}
		if li.Status != ItemCancelled && itemIsActive(li.Status) {
			li.setStatus(ItemCancelled)
		}
	}
	is.Cancellations = append(is.Cancellations, c)
	if !active {
		r.cancelIssue(cfg, is, c)
	}
}

// resetCurrentIssue is ESS reset_current_instance: the first issue from the
// current one upwards in an active or future state, else the last issue.
func (r *Record) resetCurrentIssue() {
	last := r.CurrentIssue
	for _, is := range r.Issues {
		if is.Number < r.CurrentIssue {
			continue
		}
		if isActiveOrFuture(is.Status) {
			r.CurrentIssue = is.Number
			return
		}
		last = is.Number
	}
	r.CurrentIssue = last
}

// applyPendingOnArrival applies one pending cancellation of a placeholder
// when its prescription arrives (ESS create_initial_record →
// apply_all_cancellations(was_pending=True), log_pending_cancellation_events),
// returning the "Subsequent cancellation" message for the canceller (none for
// a notification of death). A line item that is not on the prescription, or a
// different NHS number, fails the cancellation instead (decision C5).
func (r *Record) applyPendingOnArrival(cfg Config, c Cancellation, now time.Time) []Event {
	code := epserr.CancelDone
	reason := ""
	switch {
	case !c.Whole() && r.item(c.LineItemID) == nil:
		code, reason = epserr.CancelNotFound, "line item not on the prescription"
	default:
		// The first cancel a placeholder holds carries the NHS number it was
		// stored with; later ones are not compared (they were not kept).
	}
	h := HistoryEntry{Time: fmtTime(now), Issue: r.CurrentIssue, MessageID: c.MessageID, ODS: c.ODS,
		FromStatus: r.Current().Status, Detail: c.target(), Code: codePtr(code)}
	if reason != "" {
		c.FailureReason = reason
		r.UnsuccessfulCancellations = append(r.UnsuccessfulCancellations, c)
		h.Kind = HistCancelFailed
	} else {
		c.Issues = r.applyCancellation(cfg, c, 1)
		h.Kind = HistCancelApplied
	}
	h.ToStatus = r.Current().Status
	r.history(h)
	if c.isDeath() {
		return nil
	}
	return []Event{r.subsequentEvent(c, code, nil)}
}

func (r *Record) subsequentEvent(c Cancellation, code epserr.Code, performer *Party) Event {
	cc := c
	return Event{Kind: EventSubsequentCancellation, ToODS: c.ODS, ToASID: c.ASID, RecordKey: r.Key(),
		PrescriptionID: r.PrescriptionID, Issue: r.CurrentIssue, RefMessageID: c.MessageID, RequestRef: c.ID,
		Code: code, Text: textSubsequent, LineItemID: c.LineItemID, Performer: performer, Cancellation: &cc}
}

// resolvePending settles the pending cancellations after the dispenser acted
// (3.2.3). When the issue is back with the Spine (returned), they are applied;
// when it was completed, a whole cancellation still stops the issues to come
// of a repeat dispensing prescription and fails for the one dispensed, and a
// line-item cancellation fails when its item is finished; otherwise they stay
// pending. Decision 1: the pending list is cleared at the prescription level
// (ESS remove_pending_cancellations writes to the wrong level).
func (r *Record) resolvePending(cfg Config, issueNo int, now time.Time) []Event {
	if len(r.PendingCancellations) == 0 {
		return nil
	}
	is := r.issue(issueNo)
	var events []Event
	var keep []Cancellation
	for _, c := range r.PendingCancellations {
		h := HistoryEntry{Time: fmtTime(now), Issue: issueNo, MessageID: c.MessageID, ODS: c.ODS,
			FromStatus: is.Status, Detail: c.target()}
		var code epserr.Code
		var performer *Party
		switch {
		case isCancellable(is.Status):
			li := is.lineItem(c.LineItemID)
			if !c.Whole() && (li == nil || li.Status != ItemToBeDispensed) {
				code = epserr.CancelNotFound
				if li != nil {
					code = itemRefusal(li.Status)
				}
				break
			}
			r.applyCancellation(cfg, c, issueNo)
			code = epserr.CancelDone
		case isCompleted(is.Status):
			performer = performerOf(is)
			if c.Whole() {
				// Repeat dispensing: the issue now current (if any is left to
				// come) is cancelled with the rest.
				if next := r.Current(); next != nil && next.Number > issueNo && isCancellable(next.Status) {
					r.applyCancellation(cfg, c, next.Number)
					code = epserr.CancelDone
					break
				}
				code = refusalFor(is.Status)
				break
			}
			code = epserr.CancelNotFound
			if li := is.lineItem(c.LineItemID); li != nil {
				code = itemRefusal(li.Status)
			}
			if next := r.Current(); next != nil && next.Number > issueNo && isCancellable(next.Status) &&
				next.lineItem(c.LineItemID) != nil {
				r.applyCancellation(cfg, c, next.Number)
				code = epserr.CancelDone
			}
		default:
			// Still with the dispenser: a line-item cancel whose item is now
			// finished fails; anything else waits.
			li := is.lineItem(c.LineItemID)
			if c.Whole() || li == nil || itemIsActive(li.Status) {
				keep = append(keep, c)
				continue
			}
			code, performer = itemRefusal(li.Status), performerOf(is)
		}
		h.Code = codePtr(code)
		if code == epserr.CancelDone {
			h.Kind = HistCancelApplied
		} else {
			h.Kind = HistCancelFailed
			c.FailureReason = code.Display
			r.UnsuccessfulCancellations = append(r.UnsuccessfulCancellations, c)
		}
		if cur := r.issue(issueNo); cur != nil {
			h.ToStatus = cur.Status
		}
		r.history(h)
		if !c.isDeath() {
			events = append(events, r.subsequentEvent(c, code, performer))
		}
	}
	r.PendingCancellations = keep
	return events
}

// itemRefusal maps a line item status to the cancel response code (ESS
// return_error_for_invalid_cancel_by_li_id).
func itemRefusal(status string) epserr.Code {
	switch status {
	case ItemFullyDispensed:
		return epserr.CancelDispensed
	case ItemNotDispensed:
		return epserr.CancelNotDispensed
	case ItemCancelled:
		return epserr.CancelAlreadyCancelled
	case ItemExpired:
		return epserr.CancelExpired
	}
	return epserr.CancelWithDispenserActive
}
