package rx

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/ids"
)

// Codes rx needs that internal/epserr does not define.
var (
	// ExistsWithNextActivityPurge answers a prescription whose ID belongs to a
	// record being purged (ESS EXISTS_WITH_NEXT_ACTIVITY_PURGE; its number is
	// not public, so the duplicate-ID code is used: the ID is taken).
	ExistsWithNextActivityPurge = epserr.Code{System: epserr.SystemPrescribe, Value: "0002",
		Display: "Duplicate prescription ID exists"}
)

// Answer texts the Spine sends (ESS fixture changeLogs "responseText").
const (
	textUploadOK    = "Prescription upload successful"
	textReleaseOK   = "Release Request successful"
	textDispenseOK  = "Dispense notification successful"
	textClaimOK     = "Dispense claim successful"
	textReturnOK    = "Dispense proposal return successful"
	textWithdrawOK  = "Dispense withdraw successful"
	textRebuildOK   = "Rebuild dispense history successful"
	textSubsequent  = "Subsequent cancellation"
	textCancelReply = "Cancellation response"
)

// ESS validation/constants.py regexes.
var (
	reAlnum8  = regexp.MustCompile(`^[A-Za-z0-9\-]{1,8}$`)
	reAlnum12 = regexp.MustCompile(`^[A-Za-z0-9\-]{1,12}$`)
	reGUID    = regexp.MustCompile(`^[A-F0-9]{8}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{12}$`)
	rePrescID = regexp.MustCompile(`^[A-F0-9]{6}-[A-Z0-9]{6}-[A-F0-9]{5}[A-Z0-9+]$`)
)

// prescriptionTypes is ESS PRESC_TYPELIST; anything else is stored as
// "NotProvided", not refused.
var prescriptionTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range strings.Fields(`0001 0002 0003 0004 0005 0006 0007 0008 0009 0010 0011
		0101 0102 0103 0104 0105 0106 0107 0108 0109 0110 0113 0114 0116 0117 0119 0120 0121 0122
		0123 0124 0125 0304 0305 0306 0307 0406 0607 0708 0709 0713 0714 0716 0717 0718 0719 0721
		0722 0901 0904 0908 0913 0914 0915 0916 1004 1005 1008 1013 1014 1016 1017 1024 1025 1104
		1105 1108 1113 1114 1116 1117 1124 1125 1204 1205 1208 1213 1214 1216 1217 1224 1225 1001
		1101 1201 0201 0204 0205 0208 0213 0214 0216 0217 0224 0225 2001 2004 2005 2008 2013 2014
		2016 2017 2024 2025 0707 0501 0504 0505 0508 0513 0514 0516 0517 0524 0525 5001 5004 5005
		5008 5013 5014 5016 5017 5024 5025`) {
		m[s] = true
	}
	return m
}()

// validated is a parent prescription after validation, with the values the
// Spine derives (defaults, normalised times).
type validated struct {
	prescriptionTime, signedTime string
	prescriptionType             string
	daysSupply                   int
	windowLow, windowHigh        string
	maxRepeats                   int // prescription repeatHigh, 1 if absent
	itemMaxRepeats               []int
}

func invalid(format string, args ...any) error { return epserr.Invalid(format, args...) }

// validatePrescription runs the Spine's checks of a parent prescription in its
// order: the schematron's signature test, ESS create_prescription
// MANDATORY_ITEMS, then validation/create.py run_validations. The first
// failure is returned as an *epserr.Error.
func validatePrescription(cfg Config, p Prescription, now time.Time) (validated, error) {
	var v validated
	// Parent_Prescription_PORX_MT132004UK31.xsl: count(signatureText/Signature) = 1
	// else ErrorBase1722.DIGITAL_SIGNATURE_NOT_FOUND.
	if cfg.RequireSignature && !p.Signed {
		return v, epserr.InvalidCode(epserr.SignatureNotFound, "no XML-DSig Signature in the prescription's signatureText")
	}
	// ESS create_prescription.py MANDATORY_ITEMS, in its order.
	for _, m := range []struct{ name, value string }{
		{"agentOrganization", p.PrescriberODS},
		{"agentRoleProfileCodeId", p.PrescriberRoleProfile},
		{"hcplOrgCode", p.CommissionerODS},
		{"prescribingGpCode", p.PrescriberCode},
		{"nhsNumber", p.NHSNumber},
		{"prescriptionID", p.ID},
		{"prescriptionTime", p.PrescriptionTime},
		{"prescriptionTreatmentType", p.TreatmentType},
		{"signedTime", p.SignedTime},
		{"birthTime", p.Patient.BirthDate},
		{"agentSdsRole", p.PrescriberJobRole},
		{"hl7EventID", p.EventID},
	} {
		if m.value == "" {
			return v, invalid("Mandatory field %s missing", m.name)
		}
	}
	// check_prescriber_details: 8 characters expected, 12 tolerated.
	if !reAlnum8.MatchString(p.PrescriberCode) && !reAlnum12.MatchString(p.PrescriberCode) {
		return v, invalid("prescribingGpCode has invalid format")
	}
	// check_organisation_and_roles (role profile and job role are only logged).
	if !reAlnum8.MatchString(p.PrescriberODS) {
		return v, invalid("agentOrganization has invalid format")
	}
	// check_nhs_number (mim_rules.is_nhs_number_valid).
	if ids.CheckNHSNumber(p.NHSNumber) != nil {
		return v, invalid("nhsNumber is not valid")
	}
	// check_standard_date_time(prescriptionTime).
	pt, ok := normaliseTime(p.PrescriptionTime)
	if !ok {
		return v, invalid("prescriptionTime is not a valid time or in the valid format; expected format %%Y%%m%%d%%H%%M%%S")
	}
	v.prescriptionTime = pt
	// check_prescription_treatment_type.
	switch p.TreatmentType {
	case TreatmentAcute, TreatmentRepeatPrescribe, TreatmentRepeatDispense:
	default:
		return v, invalid("prescriptionTreatmentType is not of expected type")
	}
	// check_prescription_type: an unknown type is kept as NotProvided.
	v.prescriptionType = p.PrescriptionType
	if !prescriptionTypes[p.PrescriptionType] {
		v.prescriptionType = "NotProvided"
	}
	// check_repeat_dispense_instances.
	v.maxRepeats = 1
	if p.RepeatLow == 0 || p.RepeatHigh == 0 {
		if p.TreatmentType != TreatmentAcute {
			return v, invalid("prescriptionRepeatHigh and prescriptionRepeatLow values must both be provided if not Acute prescription")
		}
	} else {
		if p.RepeatLow != 1 {
			return v, invalid("prescriptionRepeatLow must be 1")
		}
		// Decision V1: a repeat count outside 1..99 gets the Spine's own
		// 17.22/0019 (EPSAPI table) with ESS's text, not the generic 5000.
		if p.RepeatHigh > cfg.MaxRepeats || p.RepeatHigh < 1 {
			return v, epserr.InvalidCode(epserr.RepeatCountOutOfRange.With(
				"prescriptionRepeatHigh must not be over configured maximum of "+strconv.Itoa(cfg.MaxRepeats)),
				"prescriptionRepeatHigh %d", p.RepeatHigh)
		}
		v.maxRepeats = p.RepeatHigh
	}
	// check_birth_date.
	if !validDate(p.Patient.BirthDate) {
		return v, invalid("birthTime is not a valid time or in the valid format; expected format %%Y%%m%%d")
	}
	if p.Patient.BirthDate > fmtTime(now) {
		return v, invalid("birthTime is in the future")
	}
	// check_hl7_event_id.
	if !reGUID.MatchString(p.EventID) {
		return v, invalid("hl7EventID has invalid format")
	}
	// validate_line_items.
	itemMax, err := validateLineItems(cfg, p, v.maxRepeats)
	if err != nil {
		return v, err
	}
	v.itemMaxRepeats = itemMax
	// check_hcpl_org.
	if !reAlnum8.MatchString(p.CommissionerODS) {
		return v, invalid("hcplOrgCode has invalid format")
	}
	// check_nominated_performer (with the schematron's site preference rule).
	if p.NominatedODS != "" {
		if !reAlnum8.MatchString(p.NominatedODS) {
			return v, invalid("nominatedPerformer has invalid format")
		}
		switch p.SitePreference {
		case "P1", "P2", "P3", "":
		default:
			return v, invalid("nominatedPerformer has invalid type")
		}
	}
	// check_prescription_id: format (5000), then the check character.
	if !rePrescID.MatchString(p.ID) {
		return v, invalid("prescriptionID has invalid format")
	}
	if err := ids.CheckShortID(p.ID); err != nil {
		// Decision V1: the Spine's own 17.22/5009 "Error in check digit".
		return v, epserr.InvalidCode(epserr.CheckDigitError.With("prescriptionID has invalid checksum"), "%v", err)
	}
	// check_signed_time.
	st, ok := normaliseTime(p.SignedTime)
	if !ok {
		return v, invalid("signedTime is not a valid time or in the valid format; expected format %%Y%%m%%d%%H%%M%%S")
	}
	v.signedTime = st
	// check_days_supply: default 28; an integer 0..366. Decision 13: 0 is
	// accepted (ESS's "non-zero" text is unreachable: its regex has no sign).
	v.daysSupply = cfg.DefaultDaysSupply
	if p.DaysSupplyText != "" {
		n, ok := atoi(p.DaysSupplyText)
		if !ok {
			return v, invalid("daysSupply is not an integer")
		}
		if n > cfg.MaxDaysSupply {
			return v, invalid("daysSupply cannot exceed %d", cfg.MaxDaysSupply)
		}
		v.daysSupply = n
	} else if p.DaysSupply > 0 {
		if p.DaysSupply > cfg.MaxDaysSupply {
			return v, invalid("daysSupply cannot exceed %d", cfg.MaxDaysSupply)
		}
		v.daysSupply = p.DaysSupply
	}
	// check_repeat_dispense_window.
	today := fmtDate(now)
	maxSupply := fmtDate(addMonths(now, cfg.MaxFutureSupply))
	if p.TreatmentType != TreatmentRepeatDispense {
		v.windowLow, v.windowHigh = today, maxSupply
		return v, nil
	}
	if p.DispenseWindowLow == "" || p.DispenseWindowHigh == "" {
		return v, invalid("daysSupply effective time not provided but prescription treatment type is repeat")
	}
	if !validDate(p.DispenseWindowHigh) {
		return v, invalid("daysSupplyValidHigh is not a valid time or in the valid format; expected format %%Y%%m%%d")
	}
	if !validDate(p.DispenseWindowLow) {
		return v, invalid("daysSupplyValidLow is not a valid time or in the valid format; expected format %%Y%%m%%d")
	}
	if p.DispenseWindowHigh > maxSupply {
		return v, invalid("daysSupplyValidHigh is more than %d months beyond current day", cfg.MaxFutureSupply)
	}
	if p.DispenseWindowHigh < today {
		return v, invalid("daysSupplyValidHigh is in the past")
	}
	if p.DispenseWindowLow > p.DispenseWindowHigh {
		return v, invalid("daysSupplyValid low is after daysSupplyValidHigh")
	}
	v.windowLow, v.windowHigh = p.DispenseWindowLow, p.DispenseWindowHigh
	return v, nil
}

// validateLineItems is ESS validate_line_items / validate_line_item: at least
// one, at most MaxLineItems (the 5th is only noticed after the first four
// pass), upper-case GUIDs, and for non-acute prescriptions repeat.High in
// 1..prescription repeatHigh and repeat.Low = 1; the prescription's repeatHigh
// may not exceed every item's. It returns each item's max repeats.
func validateLineItems(cfg Config, p Prescription, prescriptionHigh int) ([]int, error) {
	// Decision V1: item counts outside 1..4 get the Spine's 17.22/0010.
	if len(p.LineItems) == 0 {
		return nil, epserr.InvalidCode(epserr.ItemCountOutOfRange.With("No valid line items found"), "no line items")
	}
	n := len(p.LineItems)
	if n > cfg.MaxLineItems {
		n = cfg.MaxLineItems
	}
	out := make([]int, n)
	seen := map[string]bool{}
	maxHigh := 1
	for i := 0; i < n; i++ {
		li := p.LineItems[i]
		num := i + 1
		if !reGUID.MatchString(li.ID) {
			return nil, invalid("%s is not a valid GUID format", li.ID)
		}
		// Not an ESS check: EPSAPI lists the Spine's 5008 for a repeated item ID,
		// and a repeated ID would make every later rule ambiguous.
		if seen[li.ID] {
			return nil, epserr.InvalidCode(epserr.DuplicateItemID.With(li.ID), "line item %d repeats ID %s", num, li.ID)
		}
		seen[li.ID] = true
		out[i] = 1
		if li.RepeatHigh == 0 && li.RepeatLow == 0 && p.TreatmentType == TreatmentAcute {
			continue
		}
		switch {
		case li.RepeatHigh == 0 && li.RepeatLow == 0:
			return nil, invalid("repeat.High and repeat.Low values must both be provided for lineItem %d if not acute prescription", num)
		case li.RepeatHigh == 0:
			return nil, invalid("repeat.Low provided but not repeat.High for line item %d", num)
		case li.RepeatLow == 0:
			return nil, invalid("repeat.High provided but not repeat.Low for line item %d", num)
		case p.RepeatHigh == 0:
			return nil, invalid("Line item %d repeat value provided for non-repeat prescription", num)
		}
		if li.RepeatHigh < 1 {
			return nil, invalid("repeat.High for line item %d must be greater than zero", num)
		}
		// Decision 3: ESS calls validate_line_item with two arguments swapped, so
		// its repeat-prescribing "repeat.High ≠ 1" log line would crash; that
		// case is only logged by the Spine, and accepted here.
		if li.RepeatHigh > prescriptionHigh {
			return nil, invalid("repeat.High of %d for line item %d must not be greater than prescriptionRepeatHigh of %d",
				li.RepeatHigh, num, prescriptionHigh)
		}
		if li.RepeatLow != 1 {
			return nil, invalid("repeat.Low for line item %d is not set to 1", num)
		}
		out[i] = li.RepeatHigh
		if li.RepeatHigh > maxHigh {
			maxHigh = li.RepeatHigh
		}
	}
	if len(p.LineItems) > cfg.MaxLineItems || p.ExtraLineItems > 0 {
		return nil, epserr.InvalidCode(epserr.ItemCountOutOfRange.With("lineItems over expected max count of "+strconv.Itoa(cfg.MaxLineItems)),
			"%d line items", len(p.LineItems)+p.ExtraLineItems)
	}
	if p.RepeatHigh != 0 && maxHigh < p.RepeatHigh {
		return nil, invalid("Prescription repeat count must not be greater than all Line Item repeat counts")
	}
	return out, nil
}

// Create stores a new prescription (ESS interactions/create_prescription.py
// prescriptions_workflow). existing is nil, or the record already stored under
// the same key: a cancellation placeholder is overwritten and its pending
// cancellations applied; a real prescription makes this a duplicate (AE
// 17.22/0002). A message whose ID is already in the change log is a replay.
// Validation failures are returned as *epserr.Error (5000 and the Spine's
// text, or 0003/0010/0019/5008/5009 as decided).
func Create(cfg Config, existing *Record, p Prescription, now time.Time) (out Outcome, err error) {
	defer epserr.Wrap(&err, "create %s", p.ID)
	// check_for_replay first (decision C1: ESS validates before it looks, so a
	// replay checked against a later clock could fail; a replay must be
	// answered as the first time).
	if o, ok := replayOf(existing, p.Meta); ok {
		return o, nil
	}
	// check_for_late_upload_request.
	if existing != nil && existing.NextActivity == ActivityPurge {
		return Outcome{Answer: refuse(ExistsWithNextActivityPurge)}, nil
	}
	v, err := validatePrescription(cfg, p, now)
	if err != nil {
		return Outcome{}, err
	}
	// check_existing_record_real: a real record → duplicate prescription.
	// Decision 2: ESS names an undefined DUPLICATE_PRESRIPTION; openeps answers
	// the Spine's 17.22/0002.
	if existing != nil && existing.PrescriptionPresent {
		return Outcome{Answer: refuse(epserr.DuplicatePrescription)}, nil
	}
	rec := newRecord(cfg, p, v, now)
	ans := ack(textUploadOK)
	var events []Event
	if existing != nil {
		// Overwrite the placeholder: SCN continues from it (ESS updates.py:
		// stored SCN + 1); its change log and history stay, so replays of the
		// cancels it holds are still recognised.
		old := existing.Clone()
		rec.SCN, rec.ChangeLog, rec.History = old.SCN, old.ChangeLog, old.History
		rec.UnsuccessfulCancellations = old.UnsuccessfulCancellations
	}
	rec.history(HistoryEntry{Time: fmtTime(now), Kind: HistCreated, Issue: 1, MessageID: p.MessageID,
		Interaction: p.Interaction, ODS: p.PrescriberODS, ToStatus: rec.Issues[0].Status})
	if existing != nil {
		// apply_all_cancellations(was_pending=True) from issue 1 upwards.
		// Decision 18: a whole cancellation held by the placeholder blocked any
		// later cancel (addPlaceholderCancel), so item cancels are only here if
		// they came first; they apply in the order they came.
		for _, c := range existing.PendingCancellations {
			events = append(events, rec.applyPendingOnArrival(cfg, c, now)...)
		}
	}
	from := ""
	if existing != nil {
		from = StatusPendingCancelHold
	}
	// Decision 19: a new record gets SCN 1 (ESS INITIAL_SCN); the 2014
	// fixtures show 2 for their create. Only the rise matters to the store.
	if err := rec.commit(cfg, p.Meta, now, 1, from, ans); err != nil {
		return Outcome{}, err
	}
	return Outcome{Record: rec, Answer: ans, Events: events}, nil
}

// newRecord builds the initial record (ESS create_initial_record,
// create_instances, set_initial_prescription_status).
func newRecord(cfg Config, p Prescription, v validated, now time.Time) *Record {
	r := &Record{
		PrescriptionID:      strings.ToUpper(p.ID),
		PrescriptionPresent: true,
		RecordType:          recordType(p.TreatmentType),
		UUID:                strings.ToUpper(p.UUID),
		MessageRef:          p.MessageID,
		Interaction:         p.Interaction,
		TreatmentType:       p.TreatmentType,
		PrescriptionType:    v.prescriptionType,
		SitePreference:      p.SitePreference,
		PrescriptionTime:    v.prescriptionTime,
		SignedTime:          v.signedTime,
		Signed:              p.Signed,
		DaysSupply:          v.daysSupply,
		MaxRepeats:          v.maxRepeats,
		DispenseWindowLow:   v.windowLow,
		DispenseWindowHigh:  v.windowHigh,
		ReviewDate:          p.ReviewDate,
		CurrentIssue:        1,
		CreatedAt:           fmtTime(now),
		Prescriber: Prescriber{
			ODS: p.PrescriberODS, RoleProfile: p.PrescriberRoleProfile, SDSUser: p.PrescriberSDSUser,
			JobRole: p.PrescriberJobRole, Code: p.PrescriberCode, Name: p.PrescriberName,
			ResponsibleODS: p.ResponsibleODS, CommissionerODS: p.CommissionerODS, SenderASID: p.SenderASID,
		},
		Patient: PatientDetails{
			NHSNumber: p.NHSNumber, Prefix: p.Patient.Prefix, Given: p.Patient.Given, Family: p.Patient.Family,
			Suffix: p.Patient.Suffix, BirthDate: p.Patient.BirthDate, Gender: p.Patient.Gender,
			AddressLines: append([]string(nil), p.Patient.AddressLines...), Postcode: p.Patient.Postcode,
			GPODS: p.Patient.GPODS,
		},
		Nomination: Nomination{Nominated: p.NominatedODS != "", ODS: p.NominatedODS},
		ChangeLog:  map[string]ChangeEntry{},
	}
	if p.NominatedODS != "" {
		r.Nomination.Type = p.SitePreference
	}
	for i := range v.itemMaxRepeats {
		li := p.LineItems[i]
		r.Items = append(r.Items, Item{
			ID: li.ID, Order: i + 1, DMDCode: li.DMDCode, Description: li.Description, Quantity: li.Quantity,
			UnitCode: li.UnitCode, UnitDisplay: li.UnitDisplay, Dosage: li.Dosage,
			AdditionalInstructions: li.AdditionalInstructions, MaxRepeats: v.itemMaxRepeats[i],
		})
	}
	// Repeat dispensing: all issues up front (repeat_dispense.create_instances);
	// acute and repeat prescribing: one.
	issues := 1
	if p.TreatmentType == TreatmentRepeatDispense {
		issues = v.maxRepeats
	}
	for n := 1; n <= issues; n++ {
		is := Issue{Number: n, Status: StatusRepeatFuture, DispenseWindowLow: v.windowLow, DispenseWindowHigh: v.windowHigh}
		for _, it := range r.Items {
			st := ItemToBeDispensed
			if it.MaxRepeats < n {
				st = ItemExpired
			}
			is.LineItems = append(is.LineItems, IssueItem{ID: it.ID, Status: st, MaxRepeats: it.MaxRepeats})
		}
		r.Issues = append(r.Issues, is)
	}
	// set_initial_prescription_status: future-dated if the prescription time
	// (or, for repeat dispensing, the dispense window low date) is more than a
	// day after the handle time.
	threshold := fmtTime(now.AddDate(0, 0, cfg.FutureDatedToleranceDays))
	future := v.prescriptionTime > threshold
	if p.TreatmentType == TreatmentRepeatDispense && v.windowLow != "" && v.windowLow+"000000" > threshold {
		future = true
	}
	if future {
		r.Issues[0].Status = StatusFutureDated
	} else {
		r.Issues[0].Status = StatusToBeDispensed
	}
	return r
}
