package hl7v3

import (
	"fmt"

	"github.com/openeps/openeps/internal/epserr"
)

// Family groups the interactions by the answer the Spine gives when one is
// malformed, which decides the code system of the error.
type Family int

const (
	// FamilyPrescribing: parent prescriptions. Refused with an
	// acknowledgement; structural faults are 16.34/5000 (the Spine's
	// Parent_Prescription schematron raises ErrorBase1634.UNABLE_TO_PROCESS),
	// prescribing rules 17.22 (0003 no signature, 0010 item count, 5008
	// duplicate item).
	FamilyPrescribing Family = iota
	// FamilyCancellation: cancellation requests. Answered with a
	// cancellation response whose pertinentResponse is 17.19/5000 "Unable to
	// process message" (EPS-API cancellation-medication-request.ts).
	FamilyCancellation
	// FamilyRelease: release requests. Refused with a release rejection
	// whose reason is 16.34/5000 (nhs-test-bench CHAIN054).
	FamilyRelease
	// FamilyDispensing: notification, claim, return, withdraw, rebuild.
	// Refused with an acknowledgement carrying 16.34/5000 (their
	// schematrons raise ErrorBase1634.UNABLE_TO_PROCESS).
	FamilyDispensing
	// FamilyAnswer: what the Spine sends (acknowledgements, responses,
	// rejections, reimbursement claims), read by the dispensing and
	// prescribing side, which reports 16.34/5000.
	FamilyAnswer
)

// FamilyOf returns the family of an interaction (either spelling).
func FamilyOf(interaction string) Family {
	switch Canonical(interaction) {
	case ParentPrescriptionUrgent, ParentPrescriptionNonUrgent:
		return FamilyPrescribing
	case CancelRequest:
		return FamilyCancellation
	case PatientReleaseRequest, NominatedReleaseRequest:
		return FamilyRelease
	case DispenseNotification, DispenseClaim, DispenseProposalReturn, DispenserWithdraw, RebuildDispenseHistory:
		return FamilyDispensing
	}
	return FamilyAnswer
}

// UnableToProcess returns the code the Spine reports an unreadable or
// malformed message of the interaction with, detail appended to its
// display the way the Spine adds it ("… - element id is required").
func UnableToProcess(interaction, detail string) epserr.Code {
	if FamilyOf(interaction) == FamilyCancellation {
		return epserr.CancelUnableToProcess.With(detail)
	}
	return epserr.UnableToProcess.With(detail)
}

// Check applies the Spine's checks beyond the schema's structure that need
// nothing but the message itself (its schematron stylesheets in
// ../shared/fixtures/hl7v3/spine-xslt): for a parent prescription, a
// ds:Signature present (17.22/0003 "Digital Signature not found"), one
// prescription ID and an NHS number (16.34/5000 "… PrescriptionID missing",
// "… NHSNumber missing"), 1 to 4 line items (17.22/0010) with distinct IDs
// (17.22/5008). It returns every problem found, each naming the element and
// carrying the code the Spine answers with. Identifier check digits are not
// checked here (internal/ids does, where the lifecycle decides).
func Check(m *Message) []Problem {
	rule := rules[m.Interaction]
	if rule == nil {
		return nil
	}
	ps := rule(m.Payload())
	prefix := "/" + m.Root + "/ControlActEvent/subject"
	for i := range ps {
		ps[i].Path = prefix + ps[i].Path
	}
	return ps
}

// CheckPayload is Check for a payload document.
func CheckPayload(p *Payload) []Problem {
	rule := rules[payloadInteraction[p.Root]]
	if rule == nil {
		return nil
	}
	return rule(p.Body)
}

// Validate returns the first problem Check finds as an *epserr.Error of kind
// Invalid with the rule's code, or nil.
func Validate(m *Message) error { return firstError(Check(m), m.Interaction) }

// rules are the checks of Check, by interaction.
var rules = map[string]func(payload any) []Problem{
	ParentPrescriptionUrgent:    prescriptionRules,
	ParentPrescriptionNonUrgent: prescriptionRules,
}

// MaxLineItems is the most line items a prescription may have (SPINE-SHARED
// validation/constants.py MAX_LINEITEMS).
const MaxLineItems = 4

const ppPath = "/ParentPrescription/pertinentInformation1/pertinentPrescription"

func prescriptionRules(payload any) []Problem {
	pp, ok := payload.(*PORX_MT132004UK31_ParentPrescription)
	if !ok {
		return nil
	}
	var out []Problem
	add := func(path string, code epserr.Code, format string, args ...any) {
		out = append(out, Problem{Path: path, Msg: fmt.Sprintf(format, args...), Code: code})
	}
	p := &pp.PertinentInformation1.PertinentPrescription
	// Parent_Prescription_PORX_MT132004UK31.xsl: count(author/signatureText/DigSig:Signature)=1.
	if !hasSignatureElement(&p.Author.SignatureText) {
		add(ppPath+"/author/signatureText", epserr.SignatureNotFound, "a ds:Signature is required (Digital Signature not found)")
	}
	if id := pp.RecordTarget.Patient.ID; id.Root != RootNHSNumber || id.Extension == "" {
		add("/ParentPrescription/recordTarget/Patient/id", epserr.UnableToProcess.With("NHSNumber missing"),
			"an NHS number (root %s) is required", RootNHSNumber)
	}
	short := 0
	for _, id := range p.ID {
		if id.Root == RootShortID && id.Extension != "" {
			short++
		}
	}
	if short != 1 {
		add(ppPath+"/id", epserr.UnableToProcess.With("PrescriptionID missing"),
			"exactly one prescription ID (root %s) is required, found %d", RootShortID, short)
	}
	if n := len(p.PertinentInformation2); n < 1 || n > MaxLineItems {
		add(ppPath+"/pertinentInformation2", epserr.ItemCountOutOfRange, "%d line items: 1 to %d allowed", n, MaxLineItems)
	}
	items := p.PertinentInformation2
	if len(items) <= 16 { // a prescription has a handful: no map needed (and a hostile one is refused above)
		for i := range items {
			id := items[i].PertinentLineItem.ID.Root
			for j := 0; j < i; j++ {
				if items[j].PertinentLineItem.ID.Root == id {
					add(ppPath+"/pertinentInformation2/pertinentLineItem/id", epserr.DuplicateItemID, "line item ID %s appears more than once", id)
					break
				}
			}
		}
	}
	return out
}

// hasSignatureElement reports whether a signatureText holds an XML-DSig
// Signature element (signed or not: HasSignature says whether it is filled).
func hasSignatureElement(st *ED) bool {
	for _, raw := range st.XML {
		if isElement(string(raw), "Signature", XMLDSigNS) {
			return true
		}
	}
	return false
}
