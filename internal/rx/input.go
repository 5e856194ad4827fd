package rx

import "time"

// Meta is what every inbound message says about itself (the transmission
// wrapper), filled by rxmsg from the decoded HL7.
type Meta struct {
	MessageID   string // wrapper id/@root (upper-case UUID): the replay key
	Interaction string // MIM spelling, e.g. PORX_IN080101UK31
	SenderASID  string
	SenderODS   string // the author's organisation
	Received    time.Time
}

// meta lets any input type be asked for its Meta.
func (m Meta) meta() Meta { return m }

// Input is implemented by every input type (they embed Meta).
type Input interface{ meta() Meta }

// Patient is the patient a prescription is for.
type Patient struct {
	Prefix, Given, Family, Suffix string
	BirthDate                     string // YYYYMMDD
	Gender                        string // 0 unknown, 1 male, 2 female, 9 indeterminate
	AddressLines                  []string
	Postcode                      string
	GPODS                         string // registered GP practice
}

// LineItem is one prescribed medication.
type LineItem struct {
	ID                     string // upper-case UUID
	DMDCode                string
	Description            string
	Quantity               string // decimal as written
	UnitCode               string // dm+d unit of measure
	UnitDisplay            string
	Dosage                 string
	AdditionalInstructions string
	RepeatLow, RepeatHigh  int // 0 when absent
}

// Prescription is a parent prescription (PORX_IN020101 / 020102).
type Prescription struct {
	Meta
	ID               string // short form with check character
	UUID             string // pertinentPrescription id[1]
	EventID          string // ParentPrescription id/@root (ESS hl7EventID)
	TreatmentType    string
	PrescriptionType string
	SitePreference   string
	PrescriptionTime string // YYYYMMDDhhmmss: ParentPrescription/effectiveTime (the Spine's prescriptionTime)
	SignedTime       string // pertinentPrescription/author/time
	// Signed: an XML-DSig Signature element is present (the Spine's schematron
	// test); verifying it is another package's job.
	Signed                bool
	PrescriberODS         string // author's represented organisation (agentOrganization)
	PrescriberRoleProfile string
	PrescriberSDSUser     string
	PrescriberJobRole     string
	PrescriberCode        string // agentPerson id (prescribingGpCode)
	PrescriberName        string
	ResponsibleODS        string
	CommissionerODS       string // healthCareProviderLicense organisation (hcplOrgCode)
	NHSNumber             string
	Patient               Patient
	NominatedODS          string // "" if none
	RepeatLow, RepeatHigh int    // 0 when absent
	DaysSupply            int    // 0 when absent (default applies)
	// DaysSupplyText is the expectedUseTime width as written, "" when absent
	// (so a non-integer can be refused as the Spine does).
	DaysSupplyText                        string
	DispenseWindowLow, DispenseWindowHigh string // YYYYMMDD, "" when absent
	ReviewDate                            string
	LineItems                             []LineItem
	// ExtraLineItems counts line items beyond those in LineItems that the
	// mapper dropped (hostile input); the Spine refuses more than 4.
	ExtraLineItems int
}

// CancelRequest is a cancel request (PORX_IN030101).
type CancelRequest struct {
	Meta
	RequestID                                    string // CancellationRequest id
	PrescriptionID                               string
	PrescriptionUUID                             string // pertinentOriginalPrescriptionRef
	LineItemID                                   string // "" = the whole prescription
	NHSNumber                                    string
	ReasonCode                                   string // 16.27
	ReasonText                                   string
	EffectiveTime                                string // YYYYMMDDhhmmss
	AuthorRoleProfile, AuthorSDSUser, AuthorName string
	// AuthorCode is the prescriber's professional code (agentPerson/id
	// whose root is not the SDS user root), "" if none.
	AuthorCode     string
	ResponsibleODS string
}

// PatientReleaseRequest asks for one prescription by ID (PORX_IN132004).
type PatientReleaseRequest struct {
	Meta
	RequestID                                             string // PatientPrescriptionReleaseRequest id
	PrescriptionID                                        string
	EffectiveTime                                         string
	DispenserRoleProfile, DispenserSDSUser, DispenserName string
}

// NominatedReleaseRequest asks for the prescriptions nominated to the sender
// (PORX_IN060102). The pharmacy is Meta.SenderODS.
type NominatedReleaseRequest struct {
	Meta
	RequestID                                             string
	EffectiveTime                                         string
	DispenserRoleProfile, DispenserSDSUser, DispenserName string
}

// DispenseProposalReturn gives a prescription back to the Spine (PORX_IN100101).
type DispenseProposalReturn struct {
	Meta
	ReturnID           string
	PrescriptionID     string
	Issue              int // repeatInstanceInfo, 0 when absent (the current issue)
	ReasonCode         string
	ReasonText         string
	ReleaseResponseRef string // reversalOf/priorPrescriptionReleaseResponseRef
	EffectiveTime      string
}

// DispensedItem is one line item of a dispense notification or claim.
type DispensedItem struct {
	ID             string // prescribed line item ID (inFulfillmentOf/priorOriginalItemRef)
	SuppliedItemID string // suppliedLineItem id
	Status         string // 17.23
	Quantity       string // total supplied in this message, decimal as written ("" if none)
	UnitCode       string
	// RunningTotal is pertinentRunningTotal: what the dispenser says has been
	// supplied of the item so far, "" when not given.
	RunningTotal       string
	SuppliedDMDCode    string
	Description        string
	RepeatLow          int // issue number the item says, 0 when absent
	RepeatHigh         int // item max repeats, 0 when absent
	NotDispensedReason string
}

// DispenseNotification reports a dispense (PORX_IN080101), or amends the last
// one when ReplacementOf is set.
type DispenseNotification struct {
	Meta
	NotificationID   string // DispenseNotification id (the DN GUID a withdraw names)
	PrescriptionID   string
	PrescriptionUUID string
	NHSNumber        string
	// RecipientODS is primaryInformationRecipient: the organisation the
	// notification is for, in real messages the pricing authority (T1450,
	// NHSBSA), not the prescriber.
	RecipientODS       string
	DispenserODS       string // supply header author's organisation ("" = Meta.SenderODS)
	PrescriptionStatus string // 16.35 as the dispenser says
	// DispenseTime is YYYYMMDDhhmmss: the DispenseNotification's own
	// effectiveTime, what the Spine's schematron reports as
	// dispenseNotificationTime (the supply header author time is not read).
	DispenseTime       string
	RepeatLow          int // issue number, 0 when absent
	RepeatHigh         int
	ReplacementOf      string // the DN this amends (replacementOf/priorMessageRef), "" if none
	ReleaseResponseRef string
	NotDispensedReason string
	Items              []DispensedItem
}

// DispenseClaim is a claim (PORX_IN090101), or a claim amendment when
// ReplacementOf is set.
type DispenseClaim struct {
	Meta
	ClaimID            string
	PrescriptionID     string
	PrescriptionUUID   string
	NHSNumber          string
	DispenserODS       string
	PrescriptionStatus string
	ClaimTime          string // YYYYMMDDhhmmss: the DispenseClaim's effectiveTime (the schematron's dispenseClaimTime)
	RepeatLow          int
	RepeatHigh         int
	ReplacementOf      string
	Items              []DispensedItem
}

// DispenserWithdraw withdraws the last dispense notification (LD) or all of
// them (AD) (PORX_IN510101).
type DispenserWithdraw struct {
	Meta
	WithdrawID      string // ETPWithdraw id
	PrescriptionID  string
	NHSNumber       string
	DispenserODS    string
	WithdrawType    string // LD, AD (17.109)
	Reason          string // QU, MU, DA, PA, OC, ONC (17.110)
	NotificationRef string // pertinentDispenseNotificationRef: the DN withdrawn
	Issue           int    // repeatInstanceInfo, 0 when absent
	EffectiveTime   string
}

// RebuildDispenseHistory asks the Spine to rebuild the dispensing state of an
// issue (PORX_IN540101), typically after a withdraw: the dispenser restates
// the dispense notifications that stand.
type RebuildDispenseHistory struct {
	Meta
	RebuildID      string
	PrescriptionID string
	Issue          int // 0 = the current issue
	WithdrawReason string
	EffectiveTime  string
	// Notifications are the dispense notifications to replay, oldest first.
	// Empty: go back to the release state.
	Notifications []DispenseNotification
}
