package rx

import (
	"strings"

	"github.com/openeps/openeps/internal/epserr"
)

// Record is one prescription as the Spine keeps it (lifecycle.md §1): the
// prescription, patient and nomination sections, the issues with their line
// item statuses, dispense and claim details, pending cancellations, a change
// log keyed by message ID and a dispensing history for trackers. It is stored
// as JSON (encoding/json); the field names below are stable.
//
// Beyond the Spine's record openeps also keeps each line item's dm+d code,
// description, quantity, unit and dosage, the prescription UUID, the patient's
// name, birth date and GP and the prescriber's details: the Spine keeps those
// only in the stored message, openeps shows them in its API (decision R1).
type Record struct {
	// PrescriptionID is the short-form ID with its check character.
	PrescriptionID string `json:"prescriptionId"`
	// SCN is the serial change number: +1 for every stored change.
	SCN int64 `json:"scn"`
	// PrescriptionPresent is false for a cancellation placeholder (a cancel
	// that arrived before its prescription).
	PrescriptionPresent bool   `json:"prescriptionPresent"`
	RecordType          string `json:"recordType,omitempty"` // Acute, RepeatPrescribe, RepeatDispense
	UUID                string `json:"uuid,omitempty"`       // pertinentPrescription id[1]
	// MessageRef is the message ID of the parent prescription: the key of the
	// stored signed document a release hands out.
	MessageRef       string `json:"prescriptionMsgRef,omitempty"`
	Interaction      string `json:"interaction,omitempty"` // interaction the prescription came in (020101 / 020102)
	TreatmentType    string `json:"treatmentType,omitempty"`
	PrescriptionType string `json:"prescriptionType,omitempty"` // "NotProvided" when not in the Spine's list
	SitePreference   string `json:"sitePreference,omitempty"`
	// PrescriptionTime is YYYYMMDDhhmmss (ParentPrescription/effectiveTime), or
	// the cancellation date (YYYYMMDD) on a placeholder.
	PrescriptionTime   string `json:"prescriptionTime"`
	SignedTime         string `json:"signedTime,omitempty"`
	Signed             bool   `json:"signed,omitempty"`
	DaysSupply         int    `json:"daysSupply"`
	MaxRepeats         int    `json:"maxRepeats"`
	DispenseWindowLow  string `json:"dispenseWindowLow,omitempty"`
	DispenseWindowHigh string `json:"dispenseWindowHigh,omitempty"`
	ReviewDate         string `json:"reviewDate,omitempty"`
	CurrentIssue       int    `json:"currentIssue"`
	// CreatedAt is when the record was first written (YYYYMMDDhhmmss): the
	// prescription's arrival, or the placeholder's.
	CreatedAt string `json:"createdAt"`
	// NextActivity and NextActivityDate are the record-level next activity
	// (the Spine's nextActivityNAD_bin index), recomputed on every change.
	NextActivity     string `json:"nextActivity,omitempty"`
	NextActivityDate string `json:"nextActivityDate,omitempty"`

	Prescriber Prescriber     `json:"prescriber"`
	Patient    PatientDetails `json:"patient"`
	Nomination Nomination     `json:"nomination"`
	// Items are the prescribed line items in message order.
	Items []Item `json:"items,omitempty"`
	// Issues are issue 1..MaxRepeats in order (one for acute and repeat prescribing).
	Issues []Issue `json:"issues"`

	// PendingCancellations are held at the prescription level (ESS
	// prescription.pendingCancellations) until they can be applied or fail.
	PendingCancellations []Cancellation `json:"pendingCancellations,omitempty"`
	// UnsuccessfulCancellations are pending cancellations that failed and
	// duplicates (ESS set_unsuccessful_cancellation).
	UnsuccessfulCancellations []Cancellation `json:"unsuccessfulCancellations,omitempty"`

	// History is the dispensing history in the order things happened.
	History []HistoryEntry `json:"history,omitempty"`
	// ChangeLog maps each inbound message ID to what it did and what was
	// answered, so a replay is recognised and answered as the first time.
	ChangeLog map[string]ChangeEntry `json:"changeLog"`
}

// Prescriber is who signed the prescription and for whom.
type Prescriber struct {
	ODS             string `json:"ods"` // agentOrganization: the prescribing organisation
	RoleProfile     string `json:"roleProfile,omitempty"`
	SDSUser         string `json:"sdsUser,omitempty"`
	JobRole         string `json:"jobRole,omitempty"`
	Code            string `json:"code,omitempty"` // professional / prescribing code
	Name            string `json:"name,omitempty"`
	ResponsibleODS  string `json:"responsibleOds,omitempty"`
	CommissionerODS string `json:"commissionerOds,omitempty"` // hcplOrgCode
	SenderASID      string `json:"senderAsid,omitempty"`      // the prescribing system, for later messages
}

// PatientDetails is the patient section, plus the exemption dates a release sets.
type PatientDetails struct {
	NHSNumber      string   `json:"nhsNumber"`
	Prefix         string   `json:"prefix,omitempty"`
	Given          string   `json:"given,omitempty"`
	Family         string   `json:"family,omitempty"`
	Suffix         string   `json:"suffix,omitempty"`
	BirthDate      string   `json:"birthDate,omitempty"` // YYYYMMDD
	Gender         string   `json:"gender,omitempty"`
	AddressLines   []string `json:"addressLines,omitempty"`
	Postcode       string   `json:"postcode,omitempty"`
	GPODS          string   `json:"gpOds,omitempty"`
	LowerAgeLimit  string   `json:"lowerAgeLimit,omitempty"`  // birth + 16 y − 1 d, set on release
	HigherAgeLimit string   `json:"higherAgeLimit,omitempty"` // birth + 60 y, set on release
}

// Nomination is the dispenser the patient nominated.
type Nomination struct {
	Nominated bool     `json:"nominated"`
	ODS       string   `json:"ods,omitempty"`
	Type      string   `json:"type,omitempty"` // P1, P2, P3
	History   []string `json:"history,omitempty"`
}

// Item is one prescribed line item (record-level; statuses live per issue).
type Item struct {
	ID                     string `json:"id"` // upper-case UUID
	Order                  int    `json:"order"`
	DMDCode                string `json:"dmdCode,omitempty"`
	Description            string `json:"description,omitempty"`
	Quantity               string `json:"quantity,omitempty"`
	UnitCode               string `json:"unitCode,omitempty"`
	UnitDisplay            string `json:"unitDisplay,omitempty"`
	Dosage                 string `json:"dosage,omitempty"`
	AdditionalInstructions string `json:"additionalInstructions,omitempty"`
	MaxRepeats             int    `json:"maxRepeats"`
}

// Issue is one issue (the Spine's "instance") of a prescription.
type Issue struct {
	Number                 int    `json:"number"`
	Status                 string `json:"status"`
	PreviousStatus         string `json:"previousStatus,omitempty"`
	LastDispenseStatus     string `json:"lastDispenseStatus,omitempty"`
	DispenseWindowLow      string `json:"dispenseWindowLow,omitempty"`
	DispenseWindowHigh     string `json:"dispenseWindowHigh,omitempty"`
	NominatedDownloadDate  string `json:"nominatedDownloadDate,omitempty"`
	PriorPreviousIssueDate string `json:"priorPreviousIssueDate,omitempty"`
	ReleaseDate            string `json:"releaseDate,omitempty"`
	ReleaseRequestMsgRef   string `json:"releaseRequestMsgRef,omitempty"`
	ExpiryDate             string `json:"expiryDate,omitempty"`
	CompletionDate         string `json:"completionDate,omitempty"`
	NextActivity           string `json:"nextActivity,omitempty"`
	NextActivityDate       string `json:"nextActivityDate,omitempty"`

	LineItems     []IssueItem    `json:"lineItems"`
	Cancellations []Cancellation `json:"cancellations,omitempty"`
	Dispense      Dispense       `json:"dispense"`
	Claim         Claim          `json:"claim"`
	// DispenseHistory holds the snapshots a withdraw restores: "release" (the
	// state right after release) and one per dispense notification (the state
	// just before it), in order.
	DispenseHistory []Snapshot `json:"dispenseHistory,omitempty"`
}

// IssueItem is a line item's state in one issue.
type IssueItem struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	PreviousStatus string `json:"previousStatus,omitempty"`
	MaxRepeats     int    `json:"maxRepeats"`
	// Supplied is the quantity supplied so far in this issue (sum over its
	// dispense notifications, in the prescribed unit), "" if none.
	Supplied string `json:"supplied,omitempty"`
}

// Dispense is who holds an issue and its last dispense notification.
type Dispense struct {
	DispenserODS           string `json:"dispensingOrganization,omitempty"`
	DispenserASID          string `json:"dispenserAsid,omitempty"`
	DispenserRoleProfile   string `json:"dispenserRoleProfile,omitempty"`
	DispenserSDSUser       string `json:"dispenserSdsUser,omitempty"`
	DispenserName          string `json:"dispenserName,omitempty"`
	ReleaseTime            string `json:"releaseTime,omitempty"`                    // YYYYMMDDhhmmss
	LastNotificationID     string `json:"lastDispenseNotificationGuid,omitempty"`   // DN payload id
	LastNotificationMsgRef string `json:"lastDispenseNotificationMsgRef,omitempty"` // DN message id
	LastDispenseDate       string `json:"lastDispenseDate,omitempty"`               // YYYYMMDD
	LastDispenseTime       string `json:"lastDispenseTime,omitempty"`               // YYYYMMDDhhmmss
}

// Claim is an issue's claim details.
type Claim struct {
	ClaimID          string   `json:"claimGuid,omitempty"`
	MsgRef           string   `json:"dispenseClaimMsgRef,omitempty"`
	HistoricMsgRefs  []string `json:"historicDispenseClaimMsgRef,omitempty"`
	HistoricClaimIDs []string `json:"historicClaimGuids,omitempty"`
	ReceivedDate     string   `json:"claimReceivedDate,omitempty"`
	Status           string   `json:"claimStatus,omitempty"`
	Rebuild          bool     `json:"claimRebuild,omitempty"`
}

// Snapshot is a saved copy of an issue's dispensing state.
type Snapshot struct {
	Key        string `json:"key"`                  // "release" or the DN payload id
	MessageRef string `json:"messageRef,omitempty"` // the DN's message id
	// Dispensed is what the DN recorded (status, date), for rebuilds.
	DispenseDate   string      `json:"dispenseDate,omitempty"`
	Status         string      `json:"status"`
	LastDispStatus string      `json:"lastDispenseStatus,omitempty"`
	CompletionDate string      `json:"completionDate,omitempty"`
	Dispense       Dispense    `json:"dispense"`
	LineItems      []IssueItem `json:"lineItems"`
}

const snapshotRelease = "release"

// Cancellation is a cancel request as the record keeps it.
type Cancellation struct {
	ID            string `json:"id"`        // CancellationRequest payload id
	MessageID     string `json:"messageId"` // wrapper id
	LineItemID    string `json:"lineItemId,omitempty"`
	ODS           string `json:"ods"`            // the cancelling organisation
	ASID          string `json:"asid,omitempty"` // where a subsequent response goes
	RoleProfile   string `json:"roleProfile,omitempty"`
	SDSUser       string `json:"sdsUser,omitempty"`
	Code          string `json:"code,omitempty"` // the canceller's professional code
	Name          string `json:"name,omitempty"`
	ReasonCode    string `json:"reasonCode,omitempty"`
	ReasonText    string `json:"reasonText,omitempty"`
	Time          string `json:"time"` // effective time YYYYMMDDhhmmss
	Received      string `json:"received"`
	FailureReason string `json:"failureReason,omitempty"`
	// Issues lists the issues the cancellation was applied to.
	Issues []int `json:"issues,omitempty"`
}

// Whole reports whether the cancellation targets the whole prescription.
func (c Cancellation) Whole() bool { return c.LineItemID == "" }

// target names what a cancellation is for, as ESS compares them.
func (c Cancellation) target() string {
	if c.Whole() {
		return "Prescription"
	}
	return "LineItem_" + c.LineItemID
}

// isDeath reports whether a reason says "notification of death" (ESS
// interactions/common.py is_death): no subsequent response is sent then.
func (c Cancellation) isDeath() bool {
	return strings.Contains(strings.ToLower(c.ReasonText), "notification of death")
}

// ChangeEntry is one changeLog entry.
type ChangeEntry struct {
	SCN         int64  `json:"scn"`
	Interaction string `json:"interaction"`
	Time        string `json:"time"` // YYYYMMDDhhmmss
	Issue       int    `json:"issue,omitempty"`
	FromStatus  string `json:"fromStatus,omitempty"`
	ToStatus    string `json:"toStatus,omitempty"`
	SenderASID  string `json:"senderAsid,omitempty"`
	SenderODS   string `json:"senderOds,omitempty"`
	Answer      Answer `json:"answer"`
}

// HistoryKind names a dispensing history event.
type HistoryKind string

// Dispensing history events.
const (
	HistCreated         HistoryKind = "created"
	HistPlaceholder     HistoryKind = "placeholder"
	HistReleased        HistoryKind = "released"
	HistReturned        HistoryKind = "returned"
	HistDispensed       HistoryKind = "dispensed"
	HistAmended         HistoryKind = "dispenseAmended"
	HistWithdrawn       HistoryKind = "withdrawn"
	HistClaimed         HistoryKind = "claimed"
	HistClaimAmended    HistoryKind = "claimAmended"
	HistCancelled       HistoryKind = "cancelled"
	HistCancelPending   HistoryKind = "cancellationPending"
	HistCancelApplied   HistoryKind = "pendingCancellationApplied"
	HistCancelFailed    HistoryKind = "pendingCancellationFailed"
	HistCancelRefused   HistoryKind = "cancellationRefused"
	HistCancelDuplicate HistoryKind = "cancellationDuplicate"
	HistRebuilt         HistoryKind = "dispenseHistoryRebuilt"
	HistReady           HistoryKind = "ready"
	HistExpired         HistoryKind = "expired"
	HistNoClaim         HistoryKind = "noClaim"
	HistNextIssue       HistoryKind = "nextIssueReleased"
	// HistSignature records the verdict on the prescriber's signature when
	// the service checked it on receipt (NoteSignature).
	HistSignature HistoryKind = "signatureChecked"
)

// HistoryEntry is one event a tracker shows.
type HistoryEntry struct {
	Time        string        `json:"time"` // YYYYMMDDhhmmss
	Kind        HistoryKind   `json:"kind"`
	Issue       int           `json:"issue,omitempty"`
	MessageID   string        `json:"messageId,omitempty"`
	Interaction string        `json:"interaction,omitempty"`
	ODS         string        `json:"ods,omitempty"` // who did it
	FromStatus  string        `json:"fromStatus,omitempty"`
	ToStatus    string        `json:"toStatus,omitempty"`
	Code        *epserr.Code  `json:"code,omitempty"`
	Detail      string        `json:"detail,omitempty"`
	Items       []HistoryItem `json:"items,omitempty"`
}

// HistoryItem is a line item in a history event.
type HistoryItem struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Quantity string `json:"quantity,omitempty"`
	Unit     string `json:"unit,omitempty"`
}

// Key returns the record key: the prescription ID without its check character
// (ESS remove_check_digit: 20 → 19 characters short form, 37 → 36 long form).
func (r *Record) Key() string { return KeyOf(r.PrescriptionID) }

// KeyOf returns the record key of a prescription ID.
func KeyOf(id string) string {
	id = strings.ToUpper(strings.TrimSpace(id))
	switch len(id) {
	case 20, 37:
		return id[:len(id)-1]
	}
	return id
}

// Summary is what the store indexes and the API lists.
type Summary struct {
	PrescriptionID   string
	NHSNumber        string
	Status           string // current issue's prescription status
	TreatmentType    string
	NominatedODS     string
	DispenserODS     string
	PrescriberODS    string
	NextActivity     string
	NextActivityDate string // YYYYMMDD
	SCN              int64
}

// Summary returns the values the store indexes and the API shows.
func (r *Record) Summary() Summary {
	s := Summary{
		PrescriptionID:   r.PrescriptionID,
		NHSNumber:        r.Patient.NHSNumber,
		TreatmentType:    r.TreatmentType,
		NominatedODS:     r.Nomination.ODS,
		PrescriberODS:    r.Prescriber.ODS,
		NextActivity:     r.NextActivity,
		NextActivityDate: r.NextActivityDate,
		SCN:              r.SCN,
	}
	if is := r.issue(r.CurrentIssue); is != nil {
		s.Status = is.Status
		s.DispenserODS = is.Dispense.DispenserODS
	}
	return s
}

// Current returns the current issue, or nil if the record has none.
func (r *Record) Current() *Issue { return r.issue(r.CurrentIssue) }

// Issue returns issue n (1-based), or nil.
func (r *Record) Issue(n int) *Issue { return r.issue(n) }

func (r *Record) issue(n int) *Issue {
	for i := range r.Issues {
		if r.Issues[i].Number == n {
			return &r.Issues[i]
		}
	}
	return nil
}

func (r *Record) item(id string) *Item {
	for i := range r.Items {
		if r.Items[i].ID == id {
			return &r.Items[i]
		}
	}
	return nil
}

func (is *Issue) lineItem(id string) *IssueItem {
	for i := range is.LineItems {
		if is.LineItems[i].ID == id {
			return &is.LineItems[i]
		}
	}
	return nil
}

// setStatus changes an issue's status keeping the old one (ESS update_instance_status).
func (is *Issue) setStatus(s string) {
	is.PreviousStatus = is.Status
	is.Status = s
}

// setStatus changes a line item's status keeping the old one (ESS line_item.update_status).
func (li *IssueItem) setStatus(s string) {
	li.PreviousStatus = li.Status
	li.Status = s
}

// Clone returns a deep copy of r, so a caller's record is never changed.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	c.Prescriber = r.Prescriber
	c.Patient.AddressLines = append([]string(nil), r.Patient.AddressLines...)
	c.Nomination.History = append([]string(nil), r.Nomination.History...)
	c.Items = append([]Item(nil), r.Items...)
	if r.Issues != nil {
		c.Issues = make([]Issue, len(r.Issues))
		for i := range r.Issues {
			c.Issues[i] = r.Issues[i].clone()
		}
	}
	c.PendingCancellations = cloneCancellations(r.PendingCancellations)
	c.UnsuccessfulCancellations = cloneCancellations(r.UnsuccessfulCancellations)
	c.History = make([]HistoryEntry, len(r.History))
	for i, h := range r.History {
		h.Items = append([]HistoryItem(nil), h.Items...)
		if h.Code != nil {
			cc := *h.Code
			h.Code = &cc
		}
		c.History[i] = h
	}
	if r.History == nil {
		c.History = nil
	}
	if r.ChangeLog == nil {
		return &c
	}
	c.ChangeLog = make(map[string]ChangeEntry, len(r.ChangeLog))
	for k, v := range r.ChangeLog {
		v.Answer = v.Answer.clone()
		c.ChangeLog[k] = v
	}
	return &c
}

func (is Issue) clone() Issue {
	c := is
	c.LineItems = append([]IssueItem(nil), is.LineItems...)
	c.Cancellations = cloneCancellations(is.Cancellations)
	c.Claim.HistoricMsgRefs = append([]string(nil), is.Claim.HistoricMsgRefs...)
	c.Claim.HistoricClaimIDs = append([]string(nil), is.Claim.HistoricClaimIDs...)
	if is.DispenseHistory != nil {
		c.DispenseHistory = make([]Snapshot, len(is.DispenseHistory))
		for i, s := range is.DispenseHistory {
			s.LineItems = append([]IssueItem(nil), s.LineItems...)
			c.DispenseHistory[i] = s
		}
	}
	return c
}

func cloneCancellations(cs []Cancellation) []Cancellation {
	if cs == nil {
		return nil
	}
	out := make([]Cancellation, len(cs))
	for i, c := range cs {
		c.Issues = append([]int(nil), c.Issues...)
		out[i] = c
	}
	return out
}
