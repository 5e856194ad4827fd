package rx

import "time"

// Next activities (ESS fields.py NEXTACTIVITY_*).
const (
	ActivityExpire        = "expire"
	ActivityReady         = "ready"
	ActivityCreateNoClaim = "createNoClaim"
	ActivityDelete        = "delete"
	ActivityPurge         = "purge"
)

// isR1 reports whether the prescription is release 1 (long GUID ID), which
// the Spine deletes instead of no-claiming (ESS record.py _release_version).
func (r *Record) isR1() bool { n := len(r.PrescriptionID); return n == 36 || n == 37 }

// prescriptionDate is the date part of prescriptionTime.
func (r *Record) prescriptionDate() string {
	if len(r.PrescriptionTime) >= 8 {
		return r.PrescriptionTime[:8]
	}
	return ""
}

// issueExpiry is the expiry date of an issue: prescription date + 6 months for
// issue 1, + 12 months for later issues (ESS next_activity_generator
// _calculate_expiry_date). It is not limited by dispenseWindowHigh.
func (r *Record) issueExpiry(cfg Config, n int) string {
	months := cfg.PrescriptionExpiryMonths
	if n > 1 {
		months = cfg.RepeatDispenseExpiryMonths
	}
	return addMonthsDate(r.prescriptionDate(), months)
}

// issueNextActivity is ESS NextActivityGenerator.next_activity_date for one
// issue: its next activity, the date, and the expiry date ("" when completed).
// A date the Spine would read as "now" when missing uses today.
func (r *Record) issueNextActivity(cfg Config, is *Issue, today string) (activity, date, expiry string) {
	or := func(d string) string {
		if d == "" {
			return today
		}
		return d
	}
	exp := r.issueExpiry(cfg, is.Number)
	switch is.Status {
	case StatusToBeDispensed, StatusWithDispenser, StatusRepeatFuture:
		// un_dispensed
		return ActivityExpire, exp, exp
	case StatusWithDispenserAct:
		// part_dispensed: no-claim 180 days after the last dispense, if a DN
		// is on record; otherwise expire at min(last dispense + 180 d, expiry).
		maxDispense := addDays(or(is.Dispense.LastDispenseDate), cfg.WithDispenserActiveExpiryDays)
		e := minDate(maxDispense, exp)
		if r.isR1() || is.Dispense.LastNotificationMsgRef == "" {
			return ActivityExpire, e, e
		}
		return ActivityCreateNoClaim, maxDispense, e
	case StatusExpired:
		return ActivityDelete, addDays(or(is.CompletionDate), cfg.ExpiredDeleteDays), ""
	case StatusCancelled:
		return ActivityDelete, addDays(or(is.CompletionDate), cfg.CancelledDeleteDays), ""
	case StatusDispensed:
		d := addDays(or(is.CompletionDate), cfg.NotificationDelayDays)
		if r.isR1() {
			return ActivityDelete, d, ""
		}
		return ActivityCreateNoClaim, d, ""
	case StatusNotDispensed:
		return ActivityDelete, addDays(or(is.CompletionDate), cfg.NotDispensedDeleteDays), ""
	case StatusClaimed, StatusNoClaimed:
		return ActivityDelete, addDays(or(is.Claim.ReceivedDate), cfg.ClaimedDeleteDays), ""
	case StatusAwaitingRelease:
		// awaiting_nominated_release: ready on the nominated download date
		// (or the dispense window low date) if that is before expiry.
		ready := is.DispenseWindowLow
		if is.NominatedDownloadDate != "" {
			ready = is.NominatedDownloadDate
		}
		if ready != "" && ready < exp {
			return ActivityReady, ready, exp
		}
		return ActivityExpire, exp, exp
	case StatusFutureDated:
		// future_dated: ready at max(dispense window low, prescription date).
		// Decision 5: ESS formats the reported date before replacing it with
		// the nominated download date, so the comparison and the date shown
		// can disagree; openeps uses one ready date for both.
		ready := r.prescriptionDate()
		if is.DispenseWindowLow > ready {
			ready = is.DispenseWindowLow
		}
		if is.NominatedDownloadDate != "" {
			ready = is.NominatedDownloadDate
		}
		if ready < exp {
			return ActivityReady, ready, exp
		}
		return ActivityExpire, exp, exp
	case StatusPendingCancelHold:
		// awaiting_cancellation: ESS deletes the placeholder 180 days after
		// whatever update last touched it (handle time); openeps uses the
		// time of the last cancellation received, which is the same moment
		// but does not move when the record is merely recomputed.
		last := r.CreatedAt
		for _, c := range r.PendingCancellations {
			if c.Received > last {
				last = c.Received
			}
		}
		return ActivityDelete, addDays(or(dateOf(last)), cfg.CancelledDeleteDays), ""
	}
	return "", "", ""
}

func dateOf(t string) string {
	if len(t) >= 8 {
		return t[:8]
	}
	return ""
}

// includeActivity is ESS _include_next_activity_for_instance: which issue
// positions may set the record's next activity. The final issue: any; an
// earlier issue: createNoClaim only; the current (non-final) issue: expire,
// ready, createNoClaim; a future issue: none.
func includeActivity(activity string, n, current, final int) bool {
	switch {
	case n == current && n == final, n < current && n == final:
		return true
	case n < current:
		return activity == ActivityCreateNoClaim
	case n == current:
		return activity == ActivityExpire || activity == ActivityReady || activity == ActivityCreateNoClaim
	}
	return false
}

// refreshNextActivity recomputes every issue's next activity and the record's
// (ESS return_next_activity_index): the earliest activity date over the
// issues allowed to set one; delete only when nothing else remains; on a date
// tie, ready wins.
func (r *Record) refreshNextActivity(cfg Config, now time.Time) {
	today := fmtDate(now)
	final := 0
	for _, is := range r.Issues {
		if is.Number > final {
			final = is.Number
		}
	}
	earliest, earliestDate, deleteDate := "", "99991231", ""
	for i := range r.Issues {
		is := &r.Issues[i]
		act, date, exp := r.issueNextActivity(cfg, is, today)
		is.NextActivity, is.NextActivityDate = act, date
		if exp != "" {
			is.ExpiryDate = exp
		}
		if act == "" || !includeActivity(act, is.Number, r.CurrentIssue, final) {
			continue
		}
		if act == ActivityDelete {
			deleteDate = date
			continue
		}
		if date < earliestDate {
			earliest, earliestDate = act, date
		} else if date == earliestDate && act == ActivityReady {
			earliest = act
		}
	}
	if earliest != "" {
		r.NextActivity, r.NextActivityDate = earliest, earliestDate
		return
	}
	r.NextActivity, r.NextActivityDate = ActivityDelete, deleteDate
}
