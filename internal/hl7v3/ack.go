package hl7v3

import (
	"time"

	"github.com/openeps/openeps/internal/epserr"
)

// VersionCode is the HL7 version the Spine's own answers carry.
const VersionCode = "V3NPfIT4.2.00"

// TimeFormat is the layout of HL7 V3 timestamps (TS values, creationTime).
const TimeFormat = "20060102150405"

// Wrapper holds the transmission-wrapper values of a message being built.
type Wrapper struct {
	MessageID    string    // new message ID (upper-case UUID)
	Created      time.Time // creationTime
	SenderASID   string    // communicationFunctionSnd (and author1 on Spine answers)
	ReceiverASID string    // communicationFunctionRcv
}

// fillWrapper sets the fields every interaction's wrapper shares on body, a
// pointer to a generated <interaction>_Message.
func fillWrapper(body message, interaction string, w Wrapper) {
	f := body.wrapper()
	*f.id = II{Root: w.MessageID}
	*f.creationTime = TS{Value: w.Created.UTC().Format(TimeFormat)}
	*f.versionCode = CD{Code: VersionCode}
	*f.interactionID = II{Root: RootInteraction, Extension: interaction}
	*f.processingCode = CD{Code: "P"}
	*f.processingModeCode = CD{Code: "T"}
	*f.acceptAckCode = CD{Code: "NE"}
	body.setDevices(w.ReceiverASID, w.SenderASID)
}

// systemAuthor is the ControlActEvent/author1 the Spine puts on its answers.
func systemAuthor(asid string) MCAI_MT040101UK03_Author2 {
	var a MCAI_MT040101UK03_Author2
	a.TypeCode = "AUT"
	a.AgentSystemSDS.ClassCode = "AGNT"
	a.AgentSystemSDS.AgentSystemSDS.ClassCode = "DEV"
	a.AgentSystemSDS.AgentSystemSDS.DeterminerCode = "INSTANCE"
	a.AgentSystemSDS.AgentSystemSDS.ID = II{Root: RootASID, Extension: asid}
	return a
}

// Ack type codes.
const (
	AckAccepted = "AA" // accepted
	AckError    = "AE" // application error: a business rule refused it
	AckReject   = "AR" // rejected: the message itself could not be processed
)

// NewAck builds an application acknowledgement (MCCI_IN010000UK13) to the
// message with ID ref, in the Spine's asynchronous form: the error codes in
// ControlActEvent/reason/justifyingDetectedIssueEvent/code, each with the
// qualifier ER (see MCCI_IN010000UK13-ack-error-async.xml). With no codes it
// is an AA; otherwise typeCode says AE or AR.
func NewAck(w Wrapper, ref, typeCode string, codes ...epserr.Code) *Message {
	m := &MCCI_IN010000UK13_Message{}
	fillWrapper(m, ApplicationAcknowledgement, w)
	if typeCode == "" {
		typeCode = AckAccepted
		if len(codes) > 0 {
			typeCode = AckError
		}
	}
	m.Acknowledgement.TypeCode = typeCode
	m.Acknowledgement.MessageRef.ID = II{Root: ref}
	m.ControlActEvent.ClassCode = "CACT"
	m.ControlActEvent.MoodCode = "EVN"
	m.ControlActEvent.Author1 = []MCAI_MT040101UK03_Author2{systemAuthor(w.SenderASID)}
	for _, c := range codes {
		var r MCAI_MT040101UK03_Reason
		r.TypeCode = "RSON"
		r.JustifyingDetectedIssueEvent.ClassCode = "ALRT"
		r.JustifyingDetectedIssueEvent.MoodCode = "EVN"
		r.JustifyingDetectedIssueEvent.Code = CD{Code: c.Value, CodeSystem: c.System, DisplayName: c.Display,
			Qualifier: []CR{{Code: "ER"}}}
		m.ControlActEvent.Reason = append(m.ControlActEvent.Reason, r)
	}
	return &Message{Root: ApplicationAcknowledgement, Interaction: ApplicationAcknowledgement, Body: m}
}

// AckResult is what an acknowledgement says.
type AckResult struct {
	Type   string // AA, AE or AR
	Ref    string // the message it answers
	Errors []epserr.Code
}

// ReadAck extracts the outcome of an MCCI_IN010000UK13, whichever form the
// errors come in (async reason codes or sync acknowledgementDetail).
func ReadAck(m *Message) (AckResult, bool) {
	a, ok := m.Body.(*MCCI_IN010000UK13_Message)
	if !ok {
		return AckResult{}, false
	}
	r := AckResult{Type: a.Acknowledgement.TypeCode, Ref: a.Acknowledgement.MessageRef.ID.Root}
	for _, d := range a.Acknowledgement.AcknowledgementDetail {
		r.Errors = append(r.Errors, epserr.Code{System: d.Code.CodeSystem, Value: d.Code.Code, Display: d.Code.DisplayName})
	}
	for _, rs := range a.ControlActEvent.Reason {
		c := rs.JustifyingDetectedIssueEvent.Code
		r.Errors = append(r.Errors, epserr.Code{System: c.CodeSystem, Value: c.Code, Display: c.DisplayName})
	}
	return r, true
}
