package rx

import (
	"strings"
	"time"

	"github.com/openeps/openeps/internal/epserr"
)

// claimTarget is the issue a claim is for: the one its repeat number names
// (a repeat dispensing claim is for an issue already behind the current one),
// else the current issue, or for an acute prescription issue 1.
func (r *Record) claimTarget(repeat int) *Issue {
	if repeat > 0 {
		if is := r.issue(repeat); is != nil {
			return is
		}
	}
	return r.Current()
}

// claim handles a dispense claim (PORX_IN090101) or a claim amendment
// (replacementOf set) (ESS update_for_claim, update_for_claim_amend,
// add_claim_document_ref, add_claim_amend_document_ref).
func claim(cfg Config, rec *Record, in DispenseClaim, now time.Time) (Outcome, error) {
	if in.PrescriptionID == "" {
		return Outcome{}, invalid("A single PrescriptionID must be provided")
	}
	if !reGUID.MatchString(in.ClaimID) {
		return Outcome{}, invalid("dispenseClaimID is not a valid GUID format")
	}
	if in.ReplacementOf != "" && !reGUID.MatchString(in.ReplacementOf) {
		return Outcome{}, invalid("replacementOf target must be a 36-character GUID")
	}
	if len(in.Items) == 0 {
		return Outcome{}, invalid("At least 1 SuppliedLineItem must be provided")
	}
	// ESS _check_claim_time.
	ct, err := checkDispenseTime(cfg, "claimTime", in.ClaimTime, now)
	if err != nil {
		return Outcome{}, err
	}
	if rec == nil || !rec.PrescriptionPresent {
		return Outcome{Answer: refuse(epserr.PrescriptionNotFoundClaim)}, nil // BENCH CHAIN038
	}
	if in.NHSNumber != "" && in.NHSNumber != rec.Patient.NHSNumber {
		return Outcome{Answer: refuse(epserr.PrescriptionNotFoundClaim)}, nil
	}
	target := rec.claimTarget(in.RepeatLow)
	amend := in.ReplacementOf != ""
	switch target.Status {
	case StatusDispensed:
		if amend {
			// Nothing to amend yet: decision CL1, an invalid transition.
			return Outcome{Answer: refuse(epserr.InvalidPrescriptionState)}, nil
		}
	case StatusClaimed:
		if !amend {
			return Outcome{Answer: refuse(epserr.ClaimAlreadyMade)}, nil // BENCH CHAIN002
		}
		// Claim amendments only within the claim period: decision CL2, the
		// notification delay (180 days) from completion, after which the
		// Spine would have sent a no-claim.
		if addDays(target.CompletionDate, cfg.ClaimAmendPeriodDays) < fmtDate(now) {
			return Outcome{Answer: refuse(epserr.ClaimAmendOutsidePeriod)}, nil
		}
	case StatusNoClaimed:
		return Outcome{Answer: refuse(epserr.ClaimAlreadySentToPPA)}, nil // BENCH CHAIN001
	default:
		// Not dispensed yet — and, decision CL3, also 0007 "not dispensed":
		// there is nothing to claim for.
		return Outcome{Answer: refuse(epserr.ClaimNotDispensed)}, nil
	}
	if in.SenderODS != "" && target.Dispense.DispenserODS != "" && !strings.EqualFold(in.SenderODS, target.Dispense.DispenserODS) {
		return Outcome{Answer: refuse(epserr.RejectWithAnother)}, nil
	}
	// The claim's items must be the issue's.
	ids := map[string]bool{}
	for _, it := range in.Items {
		ids[it.ID] = true
	}
	if len(ids) != len(target.LineItems) || len(ids) != len(in.Items) {
		return Outcome{Answer: refuse(epserr.ItemNotFound)}, nil
	}
	for _, li := range target.LineItems {
		if !ids[li.ID] {
			return Outcome{Answer: refuse(epserr.ItemNotFound)}, nil
		}
	}
	r := rec.Clone()
	is := r.issue(target.Number)
	from := is.Status
	c := &is.Claim
	if amend {
		// Decision 4: ESS tests for a key it never writes, so only the last
		// earlier claim GUID survives; openeps keeps them all. ESS's docstring
		// says not to change claimReceivedDate but its code does; openeps keeps
		// the first claim's date, so an amendment cannot extend the record's life.
		c.HistoricClaimIDs = append(c.HistoricClaimIDs, c.ClaimID)
		c.HistoricMsgRefs = append(c.HistoricMsgRefs, c.MsgRef)
		c.Rebuild = true
	} else {
		c.ReceivedDate = dateOf(ct)
		c.Rebuild = false
	}
	c.ClaimID = in.ClaimID
	c.MsgRef = in.MessageID
	c.Status = "claimed"
	is.setStatus(StatusClaimed)
	kind := HistClaimed
	if amend {
		kind = HistClaimAmended
	}
	r.history(HistoryEntry{Time: fmtTime(now), Kind: kind, Issue: is.Number, MessageID: in.MessageID,
		Interaction: in.Interaction, ODS: in.SenderODS, FromStatus: from, ToStatus: is.Status})
	ans := ack(textClaimOK)
	if err := r.commit(cfg, in.Meta, now, is.Number, from, ans); err != nil {
		return Outcome{}, err
	}
	return Outcome{Record: r, Answer: ans}, nil
}
