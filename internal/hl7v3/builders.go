package hl7v3

import (
	"fmt"
	"time"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/xmlt"
)

// The messages the Spine side sends, built in the shape of the Spine's own
// answers: the stylesheets that make them (../shared/fixtures/hl7v3/spine-xslt:
// createResponseFramework_PORX_RM122002UK31.xsl, parentPrescription2_Release.xsl,
// prescriptionReleaseRejection_PORX_MT121201UK30.xsl,
// releaseRequest_to_releaseRejection.xsl,
// cancellationRequest_to_cancellationResponse.xsl,
// CancellationResponse_PORX_MT135201UK31.xsl,
// ReimbursementClaim_PORX_MT142006UK31.xsl) and the answers in
// nhs-test-bench/spine-answers. Every builder returns a *Message ready to
// Encode; its output validates against the MIM schema of the interaction.
//
// In all of them w.SenderASID is the Spine's ASID (communicationFunctionSnd
// and ControlActEvent/author1) and w.ReceiverASID the system answered; the
// payload's id is w.MessageID and its effectiveTime w.Created, as the
// stylesheets write them.

// Template and type identifiers the answers carry.
const (
	// RootMessageTemplate is the templateId root of a message type carried
	// inside another (component/templateId of a release response).
	RootMessageTemplate = "2.16.840.1.113883.2.1.3.2.4.17.120"
	// ReleasedPrescriptionType is the message type of a prescription as
	// released (typeId and templateId extension in release responses).
	ReleasedPrescriptionType = "PORX_MT122003UK32"
	lineItemTemplate         = "CSAB_RM-NPfITUK10.sourceOf2"
)

// Option adjusts what a builder writes.
type Option func(*options)

type options struct {
	performerTime   time.Time
	performerPerson *UKCT_MT120201UK03_AgentPerson
}

// WithPerformer gives the full detail of the dispenser holding a
// prescription, for the performer a release rejection (reason 0004) or a
// cancel response names: when it was released to them (their release
// request's effectiveTime) and their AgentPerson from that request. Without
// it the performer carries only the ODS code and the time of the answer.
func WithPerformer(released time.Time, person *UKCT_MT120201UK03_AgentPerson) Option {
	return func(o *options) { o.performerTime, o.performerPerson = released, person }
}

func buildOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// performer returns the time and AgentPerson of the dispenser holding a
// prescription.
func (o options) performer(ods string, now time.Time) (TS, UKCT_MT120201UK03_AgentPerson) {
	t := now
	if !o.performerTime.IsZero() {
		t = o.performerTime
	}
	var ap UKCT_MT120201UK03_AgentPerson
	if o.performerPerson != nil {
		ap = *o.performerPerson
	}
	ap.ClassCode = orDefault(ap.ClassCode, "AGNT")
	if ap.AgentPerson == nil && ap.AgentPersonSDS == nil {
		// The schema wants a person; with only the ODS code we know none.
		ap.AgentPerson = &UKCT_MT120201UK03_Person{ClassCode: "PSN", DeterminerCode: "INSTANCE"}
	}
	if ap.RepresentedOrganization == nil {
		ap.RepresentedOrganization = &UKCT_MT120201UK03_Organization{ClassCode: "ORG", DeterminerCode: "INSTANCE"}
	} else {
		org := *ap.RepresentedOrganization
		ap.RepresentedOrganization = &org
	}
	if ap.RepresentedOrganization.ID == nil || ap.RepresentedOrganization.ID.Extension == "" {
		ap.RepresentedOrganization.ID = &II{Root: RootODS, Extension: ods}
	}
	return TS{Value: t.UTC().Format(TimeFormat)}, ap
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// answerFrame fills the transmission wrapper and ControlActEvent of a Spine
// answer: acknowledgement typeCode ackType to message ref (for the wrappers
// that have one), the Spine as author1.
func answerFrame(m message, interaction string, w Wrapper, ackType, ref string) {
	fillWrapper(m, interaction, w)
	if f := m.wrapper(); f.ack != nil {
		f.ack.TypeCode = ackType
		f.ack.MessageRef.ID = II{Root: ref}
	}
	ca := m.controlAct()
	*ca.classCode, *ca.moodCode = "CACT", "EVN"
	*ca.author1 = []MCAI_MT040101UK03_Author2{systemAuthor(w.SenderASID)}
}

func hl7Time(t time.Time) TS { return TS{Value: t.UTC().Format(TimeFormat)} }

// NewSyncAck builds the synchronous form of the application acknowledgement
// (MCCI_IN010000UK13) that goes back in the HTTP response of a sync
// interaction: the errors in acknowledgement/acknowledgementDetail (typeCode
// ER), with no ControlActEvent reasons (MCCI_IN010000UK13-ack-error-sync-soap.xml,
// syncAcknowledgementDetail.xsl). typeCode "" means AA with no codes and AR
// with some (the Spine's sync answers reject; pass AE for a business error).
// Wrapping it in the SOAP envelope is the transport's job.
func NewSyncAck(w Wrapper, ref, typeCode string, codes ...epserr.Code) *Message {
	m := &MCCI_IN010000UK13_Message{}
	if typeCode == "" {
		typeCode = AckAccepted
		if len(codes) > 0 {
			typeCode = AckReject
		}
	}
	answerFrame(m, ApplicationAcknowledgement, w, typeCode, ref)
	for _, c := range codes {
		m.Acknowledgement.AcknowledgementDetail = append(m.Acknowledgement.AcknowledgementDetail,
			MCCI_MT020101UK12_AcknowledgementDetail{TypeCode: "ER",
				Code: CD{Code: c.Value, CodeSystem: c.System, DisplayName: c.Display}})
	}
	return &Message{Root: ApplicationAcknowledgement, Interaction: ApplicationAcknowledgement, Body: m}
}

// Status is a coded status with the display name the Spine shows with it.
type Status struct {
	Code    string
	Display string
}

// PrescriptionStatusOf returns the prescription status code (16.35) with the
// Spine's display name ("0001" → "To Be Dispensed").
func PrescriptionStatusOf(code string) Status {
	return Status{Code: code, Display: prescriptionStatusNames[code]}
}

// ItemStatusOf returns the line item status code (17.23) with the Spine's
// display name ("0007" → "To Be Dispensed").
func ItemStatusOf(code string) Status { return Status{Code: code, Display: itemStatusNames[code]} }

// Display names of ../shared/spec/lifecycle.md §2.1 and §2.2 (the release
// responses in the fixtures show "To Be Dispensed" for both 0001 and 0007).
var prescriptionStatusNames = map[string]string{
	"0000": "Awaiting Release Ready", "0001": "To Be Dispensed", "0002": "With Dispenser",
	"0003": "With Dispenser - Active", "0004": "Expired", "0005": "Cancelled", "0006": "Dispensed",
	"0007": "Not Dispensed", "0008": "Claimed", "0009": "No-Claimed",
	"9000": "Repeat Dispense future instance", "9001": "Prescription future instance", "9005": "Cancelled future instance",
}

var itemStatusNames = map[string]string{
	"0001": "Item fully dispensed", "0002": "Item not dispensed", "0003": "Item dispensed - partial",
	"0004": "Item not dispensed owing", "0005": "Item Cancelled", "0006": "Expired",
	"0007": "To Be Dispensed", "0008": "Item with dispenser",
}

// ReleasedPrescription is one prescription in a release response: the
// parent prescription as the prescriber sent it, and what the Spine rewrites
// or adds when it releases it (parentPrescription2_Release.xsl).
type ReleasedPrescription struct {
	// Prescription is the ParentPrescription as received. It is not
	// modified; its author's signature goes out byte for byte.
	Prescription *PORX_MT132004UK31_ParentPrescription
	// Status is the prescription status to show (pertinentInformation10);
	// every release in the fixtures shows 0001 "To Be Dispensed".
	Status Status
	// ItemStatus is the status to show for each line item, by line item ID
	// (pertinentInformation4 of each pertinentLineItem); an item not listed
	// shows 0007 "To Be Dispensed".
	ItemStatus map[string]Status
	// CurrentInstance and MaxRepeats are written into repeatNumber low/high
	// of the prescription and of every line item that has a repeatNumber
	// (repeat prescribing and dispensing: the issue being released and the
	// number authorised). 0 leaves the prescriber's values.
	CurrentInstance, MaxRepeats int
	// LowerAgeLimit and HigherAgeLimit are the dates (YYYYMMDD) of the age
	// exemptions (pertinentInformation9 "is under 16 years of age" and
	// pertinentInformation11 "is 60 years of age or over"): the last day
	// the patient is under 16 and the day they turn 60, as every release in
	// the fixtures shows them. "" computes them from the patient's birthTime.
	LowerAgeLimit, HigherAgeLimit string
	// PreviousIssueDate (YYYYMMDD[HHMMSS]) is the date of the previous
	// issue of a repeat dispensing prescription (predecessor /
	// priorPreviousIssueDate); "" writes none.
	PreviousIssueDate string
}

// NewReleaseResponse builds a release response carrying the released
// prescriptions: interaction is NominatedReleaseResponse (PORX_IN070101UK31,
// to a nominated release request) or PatientReleaseResponse
// (PORX_IN070103UK31, to a patient release request); ref is the request's
// message id (acknowledgement/messageRef) and requestPayloadID its payload's
// id (inFulfillmentOf/priorDownloadRequestRef). batch is written as the
// pertinentBatchInfo entries when batch.BatchSize > 0 (the nominated
// responses in the fixtures carry them, the patient ones do not).
//
// A release with nothing to release is not a response: with no items it
// returns the release rejection with reason 0006 "No more nominated
// prescriptions available" (nhs-test-bench CHAIN033/046), as
// NewReleaseRejection would.
func NewReleaseResponse(w Wrapper, interaction, ref, requestPayloadID string, items []ReleasedPrescription, batch BatchInfo) (*Message, error) {
	if len(items) == 0 {
		return NewReleaseRejection(w, ref, requestPayloadID, epserr.RejectNoMoreNominated, ""), nil
	}
	var resp *PORX_MT122002UK31_PrescriptionReleaseResponse
	var body message
	switch interaction {
	case NominatedReleaseResponse:
		m := &PORX_IN070101UK31_Message{}
		m.ControlActEvent.Subject.TypeCode, m.ControlActEvent.Subject.ContextConductionInd = "SUBJ", "false"
		resp, body = &m.ControlActEvent.Subject.PrescriptionReleaseResponse, m
	case PatientReleaseResponse:
		m := &PORX_IN070103UK31_Message{}
		m.ControlActEvent.Subject.TypeCode, m.ControlActEvent.Subject.ContextConductionInd = "SUBJ", "false"
		resp, body = &m.ControlActEvent.Subject.PrescriptionReleaseResponse, m
	default:
		return nil, fmt.Errorf("release response: %s is not a release response interaction", interaction)
	}
	answerFrame(body, interaction, w, AckAccepted, ref)
	resp.ClassCode, resp.MoodCode, resp.Type = "INFO", "EVN", "ControlAct"
	resp.ID = II{Root: w.MessageID}
	resp.EffectiveTime = hl7Time(w.Created)
	for i, it := range items {
		pp, err := releasedCopy(it)
		if err != nil {
			return nil, fmt.Errorf("release response: prescription %d: %w", i+1, err)
		}
		resp.Component = append(resp.Component, PORX_MT122002UK31_Component{
			Type: "ActRelationship", TypeCode: "COMP", ContextConductionInd: "false",
			SeperatableInd:     BL{Value: "false"},
			TemplateID:         II{Root: RootMessageTemplate, Extension: ReleasedPrescriptionType},
			ParentPrescription: *pp,
		})
	}
	if batch.BatchSize > 0 {
		for _, b := range []struct {
			code string
			n    int
		}{{"1", batch.InResponse}, {"2", batch.BatchSize}} {
			resp.PertinentInformation = append(resp.PertinentInformation, PORX_MT122002UK31_PertinentInformation17{
				TypeCode: "PERT", ContextConductionInd: "true", SeperatableInd: BL{Value: "false"},
				PertinentBatchInfo: PORX_MT122002UK31_BatchInfo{MoodCode: "EVN", ClassCode: "OBS",
					Code: CD{CodeSystem: SystemBatchInfo, Code: b.code}, Value: INT{Value: fmt.Sprint(b.n)}},
			})
		}
	}
	resp.InFulfillmentOf = PORX_MT122002UK31_InFulfillmentOf1{Type: "ActRelationship", TypeCode: "FLFS",
		InversionInd: "false", NegationInd: "false", SeperatableInd: BL{Value: "true"},
		PriorDownloadRequestRef: PORX_MT122002UK31_DownloadRequestRef{Type: "ControlAct", ClassCode: "INFO", MoodCode: "RQO",
			ID: II{Root: requestPayloadID}}}
	return &Message{Root: interaction, Interaction: interaction, Body: body}, nil
}

// releasedCopy makes the prescription as the Spine releases it: a deep copy
// of the prescriber's (through the codec, so the caller's value is left
// alone and the signature's bytes are kept) with the release's changes.
func releasedCopy(it ReleasedPrescription) (*PORX_MT132004UK31_ParentPrescription, error) {
	if it.Prescription == nil {
		return nil, fmt.Errorf("no prescription")
	}
	pp := &PORX_MT132004UK31_ParentPrescription{}
	if err := recast(pp, it.Prescription, "ParentPrescription"); err != nil {
		return nil, err
	}
	pp.ClassCode, pp.MoodCode = "INFO", "EVN"
	pp.TypeID = II{Root: RootTypeID, Extension: ReleasedPrescriptionType}
	p := &pp.PertinentInformation1.PertinentPrescription
	pp.PertinentInformation1.TypeCode, pp.PertinentInformation1.ContextConductionInd = "PERT", "true"
	p.ClassCode, p.MoodCode = "SBADM", "RQO"
	setRepeat := func(r *IVL_INT) {
		if r == nil {
			return
		}
		if it.CurrentInstance > 0 {
			r.Low = &INT{Value: fmt.Sprint(it.CurrentInstance)}
		}
		if it.MaxRepeats > 0 {
			r.High = &INT{Value: fmt.Sprint(it.MaxRepeats)}
		}
	}
	setRepeat(p.RepeatNumber)
	status := it.Status
	if status.Code == "" {
		status = PrescriptionStatusOf("0001")
	}
	p.PertinentInformation10 = &Released_PertinentInformation10{Type: "ActRelationship", TypeCode: "PERT", ContextConductionInd: "true",
		SeperatableInd: BL{Value: "false", UpdateMode: "added"},
		PertinentPrescriptionStatus: Released_PrescriptionStatus{Type: "Observation", ClassCode: "OBS", MoodCode: "EVN",
			Code:  CD{Code: "PS", CodeSystem: SystemAnnotation},
			Value: CD{Code: status.Code, CodeSystem: SystemPrescStatus, DisplayName: status.Display}}}
	low, high := it.LowerAgeLimit, it.HigherAgeLimit
	if bt := pp.RecordTarget.Patient.PatientPerson.BirthTime; bt != nil && (low == "" || high == "") {
		l, h := ageLimits(bt.Value)
		if low == "" {
			low = l
		}
		if high == "" {
			high = h
		}
	}
	p.PertinentInformation9 = &Released_PertinentInformation9{Type: "ActRelationship", TypeCode: "PERT", ContextConductionInd: "true",
		SeperatableInd: BL{Value: "true"},
		PertinentLowPermanentExemptionInfo: Released_ExemptionInfo{ClassCode: "OBS", MoodCode: "EVN",
			Code:  CD{Code: "0002", CodeSystem: SystemExemption, DisplayName: "is under 16 years of age"},
			Value: TS{Value: orDefault(low, "00000000")}}}
	p.PertinentInformation11 = &Released_PertinentInformation11{Type: "ActRelationship", TypeCode: "PERT", ContextConductionInd: "true",
		SeperatableInd: BL{Value: "true"},
		PertinentHighPermanentExemptionInfo: Released_ExemptionInfo{ClassCode: "OBS", MoodCode: "EVN",
			Code:  CD{Code: "0004", CodeSystem: SystemExemption, DisplayName: "is 60 years of age or over"},
			Value: TS{Value: orDefault(high, "00000000")}}}
	for i := range p.PertinentInformation2 {
		rel := &p.PertinentInformation2[i]
		rel.ContextConductionInd, rel.InversionInd, rel.NegationInd, rel.TypeCode = "true", "false", "false", "PERT"
		rel.SeperatableInd = BL{Value: "true"}
		rel.TemplateID = II{Extension: lineItemTemplate, Root: RootTemplateID}
		li := &rel.PertinentLineItem
		li.ClassCode, li.MoodCode = "SBADM", "RQO"
		setRepeat(li.RepeatNumber)
		st, ok := it.ItemStatus[li.ID.Root]
		if !ok || st.Code == "" {
			st = ItemStatusOf("0007")
		}
		li.PertinentInformation4 = &Released_PertinentInformation4{Type: "ActRelationship", TypeCode: "PERT", ContextConductionInd: "true",
			SeperatableInd: BL{Value: "false"},
			PertinentItemStatus: Released_ItemStatus{Type: "Observation", ClassCode: "OBS", MoodCode: "EVN",
				Code:  CD{Code: "IS", CodeSystem: SystemAnnotation},
				Value: CD{Code: st.Code, CodeSystem: SystemItemStatus, DisplayName: st.Display}}}
	}
	if it.PreviousIssueDate != "" {
		p.Predecessor = &Released_Predecessor{Type: "ActRelationship", TypeCode: "PREV", SeperatableInd: BL{Value: "false"},
			PriorPreviousIssueDate: Released_PreviousIssueDate{Type: "Observation", ClassCode: "OBS", MoodCode: "EVN",
				Code: CD{Code: "PRDT", CodeSystem: SystemAnnotation}, Value: TS{Value: it.PreviousIssueDate}}}
	} else {
		p.Predecessor = nil
	}
	return pp, nil
}

// ageLimits returns the exemption dates a released prescription shows for a
// person born on birth (YYYYMMDD…): the last day they are under 16 (the day
// before their 16th birthday) and their 60th birthday. Born on 29 February,
// the birthday in a common year is 1 March.
func ageLimits(birth string) (under16, sixty string) {
	if len(birth) < 8 {
		return "", ""
	}
	t, err := time.Parse("20060102", birth[:8])
	if err != nil {
		return "", ""
	}
	return t.AddDate(16, 0, -1).Format("20060102"), t.AddDate(60, 0, 0).Format("20060102")
}

// Release rejection texts (releaseRequest_to_releaseRejection.xsl).
const withAnotherDispenserText = "The prescription is with another dispenser so it cannot be released."

// NewReleaseRejection builds a release rejection (PORX_IN110101UK30) to the
// release request with message id ref and payload id requestPayloadID.
// reason is one of epserr.RejectCancelled … epserr.RejectNoMoreNominated or
// epserr.UnableToProcess (16.34). For RejectWithAnother (0004) the Spine adds
// the explanatory text and names the dispenser holding the prescription as
// performer: dispenserODS, with WithPerformer for the time it was released
// to them and their AgentPerson. The acknowledgement's typeCode is AE for
// every reason: the one form NHS England's EPS FHIR API, a live client of
// the Spine, reads as a rejection (its ReleaseRejectionHandler takes the
// reason from the error path; AA is read as success, and anything else is
// "unhandled"). The test bench's hand-written templates say AA for most
// reasons and "ER" — not an HL7 acknowledgement code — for 0004 and 0005
// (CHAIN033/046/049–054); see docs/decisions.md.
func NewReleaseRejection(w Wrapper, ref, requestPayloadID string, reason epserr.Code, dispenserODS string, opts ...Option) *Message {
	o := buildOptions(opts)
	m := &PORX_IN110101UK30_Message{}
	ack := AckError
	answerFrame(m, ReleaseRejection, w, ack, ref)
	m.ControlActEvent.Subject.TypeCode, m.ControlActEvent.Subject.ContextConductionInd = "SUBJ", "false"
	r := &m.ControlActEvent.Subject.PrescriptionReleaseReject
	r.ClassCode, r.MoodCode = "INFO", "EVN"
	r.ID = II{Root: w.MessageID}
	r.EffectiveTime = hl7Time(w.Created)
	rr := PORX_MT121201UK30_RejectionReason{Type: "Observation", ClassCode: "OBS", MoodCode: "EVN",
		Code:  &CD{Code: "PRRR", CodeSystem: SystemAnnotation},
		Value: &CD{Code: reason.Value, CodeSystem: reason.System, DisplayName: reason.Display}}
	if reason.Value == epserr.RejectWithAnother.Value && reason.System == epserr.RejectWithAnother.System {
		rr.Text = &ST{Text: withAnotherDispenserText}
		if dispenserODS != "" || o.performerPerson != nil {
			t, ap := o.performer(dispenserODS, w.Created)
			rr.Performer = &PORX_MT121201UK30_Performer{TypeCode: "PRF", Time: t, AgentPerson: ap}
		}
	}
	r.PertinentInformation = &PORX_MT121201UK30_PertinentInformation{Type: "ActRelationship", TypeCode: "PERT",
		ContextConductionInd: "true", SeperatableInd: BL{Value: "false"}, PertinentRejectionReason: rr}
	r.ReversalOf = PORX_MT121201UK30_ReversalOf{Type: "ActRelationship", TypeCode: "REV", SeperatableInd: BL{Value: "true"},
		PriorPrescriptionReleaseRequestRef: PORX_MT121201UK30_PrescriptionReleaseRequestRef{Type: "ControlAct",
			ClassCode: "INFO", MoodCode: "RQO", ID: II{Root: requestPayloadID}}}
	return &Message{Root: ReleaseRejection, Interaction: ReleaseRejection, Body: m}
}

// NewCancelResponse builds the answer to a cancellation request
// (PORX_IN050101UK31): acknowledgement AA when outcome is
// epserr.CancelDone (0001 "Prescription/item was cancelled"), AE otherwise;
// ref is the request's message id. The response repeats the request's
// patient, author, responsible party, prescription ID and line item
// reference (cancellationRequest_to_cancellationResponse.xsl), carries the
// outcome as pertinentResponse (17.19) and refers to the request's payload.
// performerODS, when not "", names the dispenser holding the prescription
// (with WithPerformer for their details), as the Spine does when the
// prescription is with a dispenser.
func NewCancelResponse(w Wrapper, ref string, req *PORX_MT135001UK32_CancellationRequest, outcome epserr.Code, performerODS string, opts ...Option) (*Message, error) {
	m := &PORX_IN050101UK31_Message{}
	ack := AckError
	if outcome == epserr.CancelDone {
		ack = AckAccepted
	}
	answerFrame(m, CancelResponse, w, ack, ref)
	m.ControlActEvent.Subject.TypeCode, m.ControlActEvent.Subject.ContextConductionInd = "SUBJ", "false"
	if err := cancellationResponse(&m.ControlActEvent.Subject.CancellationResponse, w, req, outcome, performerODS, opts); err != nil {
		return nil, err
	}
	return &Message{Root: CancelResponse, Interaction: CancelResponse, Body: m}, nil
}

// NewSubsequentCancelResponse builds the cancellation response the Spine
// sends later, unasked, when a cancellation it could not apply at once (the
// prescription was with a dispenser, or had not arrived) is applied or
// settled (PORX_IN050102UK32). Its wrapper is a request's (MCCI_MT010101UK12:
// no acknowledgement); the payload is the same CancellationResponse as
// NewCancelResponse's, referring to the original cancellation request.
func NewSubsequentCancelResponse(w Wrapper, req *PORX_MT135001UK32_CancellationRequest, outcome epserr.Code, performerODS string, opts ...Option) (*Message, error) {
	m := &PORX_IN050102UK32_Message{}
	answerFrame(m, SubsequentCancelResponse, w, "", "")
	m.ControlActEvent.Subject.TypeCode, m.ControlActEvent.Subject.ContextConductionInd = "SUBJ", "false"
	if err := cancellationResponse(&m.ControlActEvent.Subject.CancellationResponse, w, req, outcome, performerODS, opts); err != nil {
		return nil, err
	}
	return &Message{Root: SubsequentCancelResponse, Interaction: SubsequentCancelResponse, Body: m}, nil
}

func cancellationResponse(r *PORX_MT135201UK31_CancellationResponse, w Wrapper, req *PORX_MT135001UK32_CancellationRequest,
	outcome epserr.Code, performerODS string, opts []Option) error {
	if req == nil {
		return fmt.Errorf("cancel response: no cancellation request")
	}
	o := buildOptions(opts)
	r.ClassCode, r.MoodCode = "INFRM", "EVN"
	r.ID = II{Root: w.MessageID}
	r.EffectiveTime = hl7Time(w.Created)
	// What the response repeats from the request is copied through the codec:
	// the classes have the same shape in both message types.
	if err := recastAnswer(&r.RecordTarget, &req.RecordTarget, "recordTarget"); err != nil {
		return fmt.Errorf("cancel response: %w", err)
	}
	if err := recastAnswer(&r.Author, &req.Author, "author"); err != nil {
		return fmt.Errorf("cancel response: %w", err)
	}
	r.ResponsibleParty = &PORX_MT135201UK31_ResponsibleParty{}
	if err := recastAnswer(r.ResponsibleParty, &req.ResponsibleParty, "responsibleParty"); err != nil {
		return fmt.Errorf("cancel response: %w", err)
	}
	if err := recastAnswer(&r.PertinentInformation2, &req.PertinentInformation2, "pertinentInformation2"); err != nil {
		return fmt.Errorf("cancel response: %w", err)
	}
	if req.PertinentInformation1 != nil {
		r.PertinentInformation1 = &PORX_MT135201UK31_PertinentInformation2{}
		if err := recastAnswer(r.PertinentInformation1, req.PertinentInformation1, "pertinentInformation1"); err != nil {
			return fmt.Errorf("cancel response: %w", err)
		}
	}
	if performerODS != "" || o.performerPerson != nil {
		t, ap := o.performer(performerODS, w.Created)
		r.Performer = &PORX_MT135201UK31_Performer{TypeCode: "PRF", Time: t, AgentPerson: ap}
	}
	r.PertinentInformation3 = &PORX_MT135201UK31_PertinentInformation3{TypeCode: "PERT", ContextConductionInd: "true",
		SeperatableInd: BL{Value: "false"},
		PertinentResponse: PORX_MT135201UK31_Response{ClassCode: "OBS", MoodCode: "EVN",
			Code:  &CD{Code: "CRR", CodeSystem: SystemAnnotation},
			Value: CD{Code: outcome.Value, CodeSystem: outcome.System, DisplayName: outcome.Display}}}
	r.PertinentInformation4 = PORX_MT135201UK31_PertinentInformation4{TypeCode: "PERT", InversionInd: "false", NegationInd: "false",
		SeperatableInd: BL{Value: "true"},
		PertinentCancellationRequestRef: PORX_MT135201UK31_CancellationRequestRef{ClassCode: "ACTN", MoodCode: "RQO",
			ID: II{Root: req.ID.Root}}}
	return nil
}

// ClaimDocuments are the stored documents the Spine sends the pricing
// authority (NHSBSA) for one dispensed issue.
type ClaimDocuments struct {
	Prescription *PORX_MT132004UK31_ParentPrescription   // required
	Claim        *PORX_MT142001UK31_DispenseClaim        // the dispenser's claim; nil for a no-claim notification
	Notification *PORX_MT024001UK31_DispenseNotification // the last dispense notification, if kept
	// Replacement says the claim replaces one sent before (a claim
	// amendment): pertinentReplacementInd.
	Replacement bool
}

// Template roots of the documents a reimbursement claim carries (MIM
// PORX_MT142006UK31: AbstractParentPrescription, AbstractDispenseClaim,
// AbstractDispenseNotification).
const (
	rootClaimPrescription = "2.16.840.1.113883.2.1.3.2.4.17.119"
	rootClaimClaim        = "2.16.840.1.113883.2.1.3.2.4.17.112"
	rootClaimNotification = "2.16.840.1.113883.2.1.3.2.4.17.114"
)

// NewReimbursementClaim builds the reimbursement claim the Spine sends the
// pricing authority for a claimed prescription (PORX_IN370101UK31):
// ReimbursmentClaim (sic) carrying the prescription (component1), the
// dispenser's claim (component2) and the dispense notification (component4,
// the MIM's AbstractDispenseNotification) with the replacement indicator
// (ReimbursementClaim_PORX_MT142006UK31.xsl). The Spine puts it in a PPD
// batch item; that envelope belongs to the transport.
func NewReimbursementClaim(w Wrapper, docs ClaimDocuments) (*Message, error) {
	if docs.Claim == nil {
		return nil, fmt.Errorf("reimbursement claim: no dispense claim")
	}
	m := &PORX_IN370101UK31_Message{}
	answerFrame(m, ReimbursementClaim, w, "", "")
	m.ControlActEvent.Subject.TypeCode, m.ControlActEvent.Subject.ContextConductionInd = "SUBJ", "false"
	if err := reimbursement(&m.ControlActEvent.Subject.ReimbursmentClaim, w, docs); err != nil {
		return nil, fmt.Errorf("reimbursement claim: %w", err)
	}
	return &Message{Root: ReimbursementClaim, Interaction: ReimbursementClaim, Body: m}, nil
}

// NewNoClaimNotification builds the notification the Spine sends the
// pricing authority when a dispensed prescription's claim period ends with
// no claim (PORX_IN460101UK31, status 0009 No-Claimed): the same
// ReimbursmentClaim payload as NewReimbursementClaim, with the prescription
// and the dispense notification but no claim.
func NewNoClaimNotification(w Wrapper, docs ClaimDocuments) (*Message, error) {
	docs.Claim = nil
	m := &PORX_IN460101UK31_Message{}
	answerFrame(m, NoClaimNotification, w, "", "")
	m.ControlActEvent.Subject.TypeCode, m.ControlActEvent.Subject.ContextConductionInd = "SUBJ", "false"
	if err := reimbursement(&m.ControlActEvent.Subject.ReimbursmentClaim, w, docs); err != nil {
		return nil, fmt.Errorf("no-claim notification: %w", err)
	}
	return &Message{Root: NoClaimNotification, Interaction: NoClaimNotification, Body: m}, nil
}

func reimbursement(r *PORX_MT142006UK31_ReimbursmentClaim, w Wrapper, docs ClaimDocuments) error {
	if docs.Prescription == nil {
		return fmt.Errorf("no prescription")
	}
	r.ClassCode, r.MoodCode, r.Type = "INFO", "EVN", "ControlAct"
	r.ID = II{Root: w.MessageID}
	r.EffectiveTime = hl7Time(w.Created)
	r.Component1 = PORX_MT142006UK31_Component1{Type: "ActRelationship", TypeCode: "COMP", ContextConductionInd: "false",
		SeperatableInd: BL{Value: "false"}, TemplateID: II{Root: rootClaimPrescription, Extension: "PORX_MT132004UK31"},
		Any: []RawXML{RawXML(EncodeElement("ParentPrescription", docs.Prescription))}}
	if docs.Claim != nil {
		r.Component2 = &PORX_MT142006UK31_Component2{Type: "ActRelationship", TypeCode: "COMP", ContextConductionInd: "false",
			SeperatableInd: BL{Value: "false"}, TemplateID: II{Root: rootClaimClaim, Extension: "PORX_MT142001UK31"},
			Any: []RawXML{RawXML(EncodeElement("DispenseClaim", docs.Claim))}}
	}
	if docs.Notification != nil {
		r.Component4 = &PORX_MT142006UK31_Component3{Type: "ActRelationship", TypeCode: "COMP", ContextConductionInd: "false",
			SeperatableInd: BL{Value: "false"}, TemplateID: II{Root: rootClaimNotification, Extension: "PORX_MT024001UK31"},
			Any: []RawXML{RawXML(EncodeElement("DispenseNotification", docs.Notification))}}
	}
	rpl := "false"
	if docs.Replacement {
		rpl = "true"
	}
	r.PertinentInformation = PORX_MT142006UK31_pertinentInformation10{TypeCode: "PERT", ContextConductionInd: "true",
		SeperatableInd: BL{Value: "false"},
		PertinentReplacementInd: PORX_MT142006UK31_ReplacementInd{ClassCode: "OBS", MoodCode: "EVN",
			Code: CD{CodeSystem: SystemAnnotation, Code: "RPL"}, Value: BL{Value: rpl}}}
	return nil
}

// recastAnswer is recast for the parts of a request an answer repeats: the
// attributes of the copied element that the answer's schema does not allow
// are dropped. (The Spine's stylesheet copies them: its cancel responses
// carry contextControlCode on author and responsibleParty, which the
// PORX_MT135201UK31 schema refuses. Ours validate.)
func recastAnswer(dst, src node, name string) error {
	if err := recast(dst, src, name); err != nil {
		return err
	}
	if x := dst.extra(); *x != nil {
		(*x).Attrs = nil
		if len((*x).Elems) == 0 && (*x).Text == "" {
			*x = nil
		}
	}
	return nil
}

// recast copies src into dst, values of two generated types with the same
// XML shape (e.g. a cancellation request's recordTarget and a cancellation
// response's), by writing src as XML and reading it back as dst. Anything
// dst's schema does not have is kept in its Extra, as decoding always does.
func recast(dst, src node, name string) error {
	e := &encoder{}
	e.element(name, src, 0, true)
	d := xmlt.NewDecoderString(string(e.b), Limits)
	if k, err := d.Next(); err != nil || k != xmlt.StartElement {
		return fmt.Errorf("copy %s: %v", name, err)
	}
	c := &decoder{d: d, ns: d.Name.Space, path: []string{name}}
	if err := c.element(dst); err != nil {
		return fmt.Errorf("copy %s: %w", name, err)
	}
	return nil
}
