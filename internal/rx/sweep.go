package rx

import (
	"time"

	"github.com/openeps/openeps/internal/epserr"
)

// Sweep applies the time-based next activities due on rec by now (ESS
// update_by_action, find_instances_to_action_update,
// perform_instance_specific_updates): ready, expire, createNoClaim and
// delete. An action applies to the issues whose own next activity it is and
// whose date is today or earlier; after one action the next activities are
// recomputed and anything else due is applied too. Sweeping again at the same
// time changes nothing (Record nil). Delete is only done when every issue's
// next activity is delete (ESS _verify_record_deletion).
func Sweep(cfg Config, rec *Record, now time.Time) (Outcome, error) {
	if rec == nil || len(rec.Issues) == 0 {
		return Outcome{}, nil
	}
	today := fmtDate(now)
	r := rec.Clone()
	r.refreshNextActivity(cfg, now)
	changed := false
	var events []Event
	// Each pass applies one due activity; a record has at most a few per issue.
	for pass := 0; pass < 4*len(r.Issues)+4; pass++ {
		if r.NextActivity == "" || r.NextActivityDate == "" || r.NextActivityDate > today {
			break
		}
		act := r.NextActivity
		if act == ActivityDelete {
			for _, is := range r.Issues {
				if is.NextActivity != ActivityDelete {
					act = ""
				}
			}
			if act == "" {
				break
			}
			return Outcome{Delete: true, Record: nil}, nil
		}
		if act == ActivityPurge {
			break // set only on records imported from the Spine; nothing to do here
		}
		did := false
		for i := range r.Issues {
			is := &r.Issues[i]
			if is.NextActivity != act || is.NextActivityDate == "" || is.NextActivityDate > today {
				continue
			}
			if !includeActivity(act, is.Number, r.CurrentIssue, r.Issues[len(r.Issues)-1].Number) {
				continue
			}
			switch act {
			case ActivityReady:
				events = append(events, r.sweepReady(is, now)...)
			case ActivityExpire:
				events = append(events, r.sweepExpire(cfg, is.Number, now)...)
			case ActivityCreateNoClaim:
				events = append(events, r.sweepNoClaim(cfg, is.Number, now)...)
			}
			did = true
			break
		}
		if !did {
			break
		}
		changed = true
		r.refreshNextActivity(cfg, now)
	}
	if !changed {
		return Outcome{}, nil
	}
	if err := r.commit(cfg, Meta{}, now, r.CurrentIssue, "", Answer{}); err != nil {
		return Outcome{}, err
	}
	return Outcome{Record: r, Events: events}, nil
}

// sweepReady is ESS _update_make_available_for_nominated_download: 0000 /
// 9001 → 0001, line items unchanged.
func (r *Record) sweepReady(is *Issue, now time.Time) []Event {
	from := is.Status
	is.setStatus(StatusToBeDispensed)
	r.history(HistoryEntry{Time: fmtTime(now), Kind: HistReady, Issue: is.Number, FromStatus: from, ToStatus: is.Status})
	return nil
}

// sweepExpire is ESS NEXTACTIVITY_EXPIRE: the issue and every later one
// expire by the expiry mapping (table 2.4) and the current issue becomes the
// last. Decision 9: only issues whose status changes get today's completion
// date (ESS re-stamps issues already completed). Pending cancellations can no
// longer apply: they fail with 0005 "expired" and the canceller is told.
func (r *Record) sweepExpire(cfg Config, n int, now time.Time) []Event {
	for i := range r.Issues {
		is := &r.Issues[i]
		if is.Number < n {
			continue
		}
		from := is.Status
		if !isCompleted(from) {
			is.setStatus(expiredStatus(from))
			is.CompletionDate = fmtDate(now)
		}
		for j := range is.LineItems {
			li := &is.LineItems[j]
			if to := expiredItemStatus(li.Status); to != li.Status {
				li.setStatus(to)
			}
		}
		if from != is.Status {
			r.history(HistoryEntry{Time: fmtTime(now), Kind: HistExpired, Issue: is.Number, FromStatus: from, ToStatus: is.Status})
		}
	}
	r.CurrentIssue = r.Issues[len(r.Issues)-1].Number
	var events []Event
	for _, c := range r.PendingCancellations {
		c.FailureReason = epserr.CancelExpired.Display
		r.UnsuccessfulCancellations = append(r.UnsuccessfulCancellations, c)
		r.history(HistoryEntry{Time: fmtTime(now), Kind: HistCancelFailed, Issue: n, MessageID: c.MessageID, ODS: c.ODS,
			Detail: c.target(), Code: codePtr(epserr.CancelExpired)})
		if !c.isDeath() && r.PrescriptionPresent {
			events = append(events, r.subsequentEvent(c, epserr.CancelExpired, nil))
		}
	}
	if r.PrescriptionPresent {
		r.PendingCancellations = nil
	}
	return events
}

// sweepNoClaim is ESS _create_no_claim and mark_completed: a dispensed issue
// no claim came for becomes 0009 with today as its claim and completion date,
// and the next repeat issue is released if possible. Decision 10: from 0003
// the line items are mapped with the expiry mapping as well (ESS leaves them,
// breaking table 2.3). The pricing authority is sent a no-claim notification.
func (r *Record) sweepNoClaim(cfg Config, n int, now time.Time) []Event {
	is := r.issue(n)
	from := is.Status
	is.setStatus(StatusNoClaimed)
	is.Claim.ReceivedDate = fmtDate(now)
	is.CompletionDate = fmtDate(now)
	if from == StatusWithDispenserAct && cfg.ExpireItemsOnNoClaim {
		for j := range is.LineItems {
			li := &is.LineItems[j]
			if to := expiredItemStatus(li.Status); to != li.Status {
				li.setStatus(to)
			}
		}
	}
	r.history(HistoryEntry{Time: fmtTime(now), Kind: HistNoClaim, Issue: n, FromStatus: from, ToStatus: is.Status})
	r.releaseNextIssue(cfg, n, fmtDate(now), now, "")
	return []Event{{Kind: EventNoClaimNotification, RecordKey: r.Key(), PrescriptionID: r.PrescriptionID, Issue: n,
		Performer:    &Party{ODS: is.Dispense.DispenserODS, ASID: is.Dispense.DispenserASID},
		RefMessageID: is.Dispense.LastNotificationMsgRef, Text: "No claim received"}}
}
