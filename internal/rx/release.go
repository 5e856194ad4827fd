package rx

import (
	"strings"
	"time"

	"github.com/openeps/openeps/internal/epserr"
)

// rejection builds a release rejection (PORX_IN110101). The wrapper ack is
// AA: the request was understood and answered with a rejection payload, as in
// 7 of the 9 real Spine rejections in the test bench (decision R2).
func rejection(code epserr.Code, requestRef, prescriptionID string, performer *Party) Answer {
	// AE: a rejection is an application error (decision R2).
	return Answer{Kind: AnswerReleaseRejection, AckType: AckError, Codes: []epserr.Code{code}, Text: code.Display,
		RequestRef: requestRef, PrescriptionID: prescriptionID, Performer: performer}
}

// releaseRefusal is the release rejection table of lifecycle.md §3.3 for a
// current issue that cannot be released, with who holds it.
func releaseRefusal(is *Issue) (epserr.Code, *Party) {
	switch is.Status {
	case StatusCancelled:
		return epserr.RejectCancelled, nil
	case StatusExpired:
		return epserr.RejectExpired, nil
	case StatusWithDispenser, StatusWithDispenserAct:
		return epserr.RejectWithAnother, performerOf(is)
	case StatusDispensed, StatusNotDispensed, StatusClaimed, StatusNoClaimed:
		return epserr.RejectDispensed, nil
	}
	// 9000 / 9001 (not yet available) and 9005 (a cancellation placeholder):
	// decision R3 — "can not be found. Contact prescriber", as for an ID the
	// Spine does not hold.
	return epserr.RejectNotFound, nil
}

func validateRelease(id string) error {
	if id == "" {
		return invalid("Mandatory field prescriptionID missing")
	}
	if !rePrescID.MatchString(id) && !(len(id) == 37 || len(id) == 36) {
		return invalid("prescriptionID has invalid format")
	}
	return nil
}

// patientRelease handles a release by prescription ID (PORX_IN132004): any
// dispenser, current issue 0001 — or 0000, which a patient release may take
// before the ready sweep (decision 11; ESS fixture 7D9625 changeLog 0000 →
// 0002).
func patientRelease(cfg Config, rec *Record, in PatientReleaseRequest, now time.Time) (Outcome, error) {
	if err := validateRelease(in.PrescriptionID); err != nil {
		return Outcome{}, err
	}
	if rec == nil || !rec.PrescriptionPresent {
		return Outcome{Answer: rejection(epserr.RejectNotFound, in.RequestID, in.PrescriptionID, nil)}, nil
	}
	cur := rec.Current()
	switch {
	case cur.Status == StatusToBeDispensed || cur.Status == StatusAwaitingRelease:
	case cur.Status == StatusWithDispenser && strings.EqualFold(cur.Dispense.DispenserODS, in.SenderODS) &&
		!cfg.RejectDoubleRelease:
		// Decision 14: the same dispenser asking again for a prescription it
		// holds and has not started dispensing gets the same release again
		// (nothing changes but the history), so a lost response can be recovered.
		r := rec.Clone()
		ans := Answer{Kind: AnswerReleaseResponse, AckType: AckAccepted, Text: textReleaseOK,
			RequestRef: in.RequestID, Released: []Released{r.released(r.Current(), true)}}
		r.history(HistoryEntry{Time: fmtTime(now), Kind: HistReleased, Issue: r.CurrentIssue, MessageID: in.MessageID,
			Interaction: in.Interaction, ODS: in.SenderODS, FromStatus: StatusWithDispenser, ToStatus: StatusWithDispenser,
			Detail: "released again to the dispenser holding it"})
		if err := r.commit(cfg, in.Meta, now, r.CurrentIssue, StatusWithDispenser, ans); err != nil {
			return Outcome{}, err
		}
		return Outcome{Record: r, Answer: ans}, nil
	default:
		code, performer := releaseRefusal(cur)
		return Outcome{Answer: rejection(code, in.RequestID, rec.PrescriptionID, performer)}, nil
	}
	r := rec.Clone()
	from := r.Current().Status
	rel := r.release(in.Meta, in.DispenserRoleProfile, in.DispenserSDSUser, in.DispenserName, now)
	ans := Answer{Kind: AnswerReleaseResponse, AckType: AckAccepted, Text: textReleaseOK, RequestRef: in.RequestID,
		Released: []Released{rel}}
	if err := r.commit(cfg, in.Meta, now, r.CurrentIssue, from, ans); err != nil {
		return Outcome{}, err
	}
	return Outcome{Record: r, Answer: ans}, nil
}

// release is ESS update_for_release, set_exemption_dates,
// create_release_history_entry and add_release_document_ref: the current
// issue goes to 0002 with the requesting dispenser, its 0007 items to 0008.
func (r *Record) release(m Meta, roleProfile, sdsUser, name string, now time.Time) Released {
	is := r.Current()
	from := is.Status
	is.setStatus(StatusWithDispenser)
	is.Dispense.DispenserODS = strings.ToUpper(m.SenderODS)
	is.Dispense.DispenserASID = m.SenderASID
	is.Dispense.DispenserRoleProfile, is.Dispense.DispenserSDSUser, is.Dispense.DispenserName = roleProfile, sdsUser, name
	is.Dispense.ReleaseTime = fmtTime(now)
	is.ReleaseDate = fmtDate(now)
	is.ReleaseRequestMsgRef = m.MessageID
	for i := range is.LineItems {
		if is.LineItems[i].Status == ItemToBeDispensed {
			is.LineItems[i].setStatus(ItemWithDispenser)
		}
	}
	r.setExemptionDates()
	// The release snapshot a withdraw of the first DN restores: items not
	// cancelled or expired shown as 0008, last dispense date = release date.
	snap := Snapshot{Key: snapshotRelease, Status: is.Status, LastDispStatus: is.LastDispenseStatus,
		CompletionDate: is.CompletionDate, Dispense: is.Dispense}
	snap.Dispense.LastDispenseDate = is.ReleaseDate
	for _, li := range is.LineItems {
		if li.Status != ItemCancelled && li.Status != ItemExpired {
			li.Status = ItemWithDispenser
		}
		snap.LineItems = append(snap.LineItems, li)
	}
	is.DispenseHistory = []Snapshot{snap}
	r.history(HistoryEntry{Time: fmtTime(now), Kind: HistReleased, Issue: is.Number, MessageID: m.MessageID,
		Interaction: m.Interaction, ODS: is.Dispense.DispenserODS, FromStatus: from, ToStatus: is.Status,
		Items: historyItems(is)})
	return r.released(is, false)
}

// released is what the release response shows (ESS
// fetch_release_response_parameters, add_line_item_repeat_data): the previous
// status (Spine-1 compatibility; 0000 shown as 0001), each item's previous
// status where it is now 0008, and the repeat numbers. again: a re-release to
// the same dispenser shows what the first release showed.
func (r *Record) released(is *Issue, again bool) Released {
	status := is.PreviousStatus
	if again {
		status = StatusToBeDispensed
	}
	out := Released{
		RecordKey: r.Key(), PrescriptionID: r.PrescriptionID, UUID: r.UUID, MessageRef: r.MessageRef,
		Status: ShownStatus(status), Issue: is.Number, MaxRepeats: r.MaxRepeats,
		Repeat: r.TreatmentType != TreatmentAcute, PriorPreviousIssueDate: is.PriorPreviousIssueDate,
		LowerAgeLimit: r.Patient.LowerAgeLimit, HigherAgeLimit: r.Patient.HigherAgeLimit,
	}
	for _, li := range is.LineItems {
		st := li.Status
		if st == ItemWithDispenser {
			st = li.PreviousStatus
			if again || st == "" {
				st = ItemToBeDispensed
			}
		}
		ci := is.Number
		if li.MaxRepeats < ci {
			ci = li.MaxRepeats
		}
		out.Items = append(out.Items, ReleasedItem{ID: li.ID, Status: st, MaxRepeats: li.MaxRepeats, CurrentInstance: ci})
	}
	return out
}

// setExemptionDates is ESS set_exemption_dates: the day before the 16th
// birthday and the 60th birthday.
func (r *Record) setExemptionDates() {
	b, ok := parseDate(r.Patient.BirthDate)
	if !ok {
		return
	}
	r.Patient.LowerAgeLimit = fmtDate(addYears(b, 16).AddDate(0, 0, -1))
	r.Patient.HigherAgeLimit = fmtDate(addYears(b, 60))
}

// ReleaseNominated answers a nominated release request (PORX_IN060102):
// candidates are the records nominated to the sender, oldest first; up to
// cfg.NominatedBatchSize whose current issue is 0001 — not 0000, which waits
// for the ready sweep (decision 11) — are released and the rest are left
// untouched. With nothing to release the answer is the rejection 16.34/0006
// "No more nominated prescriptions available" (BENCH CHAIN033/046).
func ReleaseNominated(cfg Config, candidates []*Record, req NominatedReleaseRequest, now time.Time) (NominatedOutcome, error) {
	if req.SenderODS == "" {
		return NominatedOutcome{}, invalid("Mandatory field agentOrganization missing")
	}
	batch := cfg.NominatedBatchSize
	if batch <= 0 {
		batch = 25
	}
	var out NominatedOutcome
	ans := Answer{Kind: AnswerReleaseResponse, AckType: AckAccepted, Text: textReleaseOK, RequestRef: req.RequestID}
	for _, rec := range candidates {
		if rec == nil || !rec.PrescriptionPresent || !strings.EqualFold(rec.Nomination.ODS, req.SenderODS) {
			continue
		}
		if _, seen := rec.ChangeLog[req.MessageID]; seen && req.MessageID != "" {
			continue // already released by this very request
		}
		cur := rec.Current()
		if cur == nil || cur.Status != StatusToBeDispensed {
			continue
		}
		if len(out.Records) == batch {
			ans.More = true
			break
		}
		r := rec.Clone()
		ans.Released = append(ans.Released, r.release(req.Meta, req.DispenserRoleProfile, req.DispenserSDSUser,
			req.DispenserName, now))
		out.Records = append(out.Records, r)
	}
	if len(out.Records) == 0 {
		out.Answer = rejection(epserr.RejectNoMoreNominated, req.RequestID, "", nil)
		return out, nil
	}
	// Each record's change log keeps its own part of the answer.
	for i, r := range out.Records {
		own := ans
		own.Released = []Released{ans.Released[i]}
		if err := r.commit(cfg, req.Meta, now, r.CurrentIssue, StatusToBeDispensed, own); err != nil {
			return NominatedOutcome{}, err
		}
	}
	out.Answer = ans
	return out, nil
}

// proposalReturn handles a dispense proposal return (PORX_IN100101; ESS
// update_for_return): the dispenser holding a 0002 issue gives it back. The
// dispensing organisation is cleared, the issue goes to 0001 and its 0008
// items to 0007; a nominated prescription loses its nomination (kept in the
// history), so it leaves every nominated queue. Pending cancellations are then
// applied (3.2.3).
func proposalReturn(cfg Config, rec *Record, in DispenseProposalReturn, now time.Time) (Outcome, error) {
	if err := validateRelease(in.PrescriptionID); err != nil {
		return Outcome{}, err
	}
	if rec == nil || !rec.PrescriptionPresent {
		return Outcome{Answer: refuse(epserr.PrescriptionNotFound)}, nil // BENCH CHAIN056
	}
	cur := rec.Current()
	if in.Issue != 0 && in.Issue != cur.Number {
		if is := rec.issue(in.Issue); is != nil {
			cur = is
		}
	}
	switch {
	case isCompleted(cur.Status):
		// BENCH CHAIN017: a return against a dispensed prescription.
		return Outcome{Answer: refuse(epserr.RejectDispensed)}, nil
	case cur.Status != StatusWithDispenser || cur.Number != rec.CurrentIssue:
		return Outcome{Answer: refuse(epserr.InvalidPrescriptionState)}, nil // BENCH CHAIN009
	case in.SenderODS != "" && !strings.EqualFold(cur.Dispense.DispenserODS, in.SenderODS):
		return Outcome{Answer: refuse(epserr.InvalidPrescriptionState)}, nil
	}
	r := rec.Clone()
	is := r.Current()
	is.Dispense.DispenserODS, is.Dispense.DispenserASID = "", ""
	is.Dispense.DispenserRoleProfile, is.Dispense.DispenserSDSUser, is.Dispense.DispenserName = "", "", ""
	is.setStatus(StatusToBeDispensed)
	for i := range is.LineItems {
		if is.LineItems[i].Status == ItemWithDispenser {
			is.LineItems[i].setStatus(ItemToBeDispensed)
		}
	}
	if r.Nomination.Nominated && r.Nomination.ODS != "" {
		found := false
		for _, h := range r.Nomination.History {
			if h == r.Nomination.ODS {
				found = true
			}
		}
		if !found {
			r.Nomination.History = append(r.Nomination.History, r.Nomination.ODS)
		}
		r.Nomination.ODS = ""
	}
	r.history(HistoryEntry{Time: fmtTime(now), Kind: HistReturned, Issue: is.Number, MessageID: in.MessageID,
		Interaction: in.Interaction, ODS: in.SenderODS, FromStatus: StatusWithDispenser, ToStatus: is.Status,
		Detail: strings.TrimSpace(in.ReasonCode + " " + in.ReasonText)})
	events := r.resolvePending(cfg, is.Number, now)
	ans := ack(textReturnOK)
	if err := r.commit(cfg, in.Meta, now, is.Number, StatusWithDispenser, ans); err != nil {
		return Outcome{}, err
	}
	return Outcome{Record: r, Answer: ans, Events: events}, nil
}
