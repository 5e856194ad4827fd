package prescribe

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
)

// CancelRequest is everything Cancel needs: which prescription (or which of
// its line items), why, and who asks — the same Prescriber and Patient as
// the Prescription it cancels (CancelOf fills them from one).
type CancelRequest struct {
	MessageID        string    // wrapper and payload id (upper-case UUID); generated if empty
	Time             time.Time // when the prescriber cancels
	SenderASID       string    // the prescribing system
	ReceiverASID     string    // the Spine
	PrescriptionID   string    // short-form ID
	PrescriptionUUID string    // the prescription's UUID (pertinentOriginalPrescriptionRef); "" writes none
	LineItemID       string    // the line item to cancel; "" cancels the whole prescription
	ReasonCode       string    // 16.27 (CancelReasons); "" is 0001 Prescribing Error
	ReasonText       string    // the prescriber's words; "" is the code's display name
	Prescriber       Prescriber
	// Responsible is the responsible party; nil means Prescriber.
	Responsible *Prescriber
	Patient     Patient
}

// CancelReasons are the cancellation reasons (2.16.840.1.113883.2.1.3.2.4.16.27)
// with their display names (EPS FHIR API medicationrequest-status-reason).
var CancelReasons = map[string]string{
	"0001": "Prescribing Error",
	"0002": "Clinical contra-indication",
	"0003": "Change to medication treatment regime",
	"0004": "Clinical grounds",
	"0005": "At the Patient's request",
	"0006": "At the Pharmacist's request",
	"0007": "Notification of Death",
	"0008": "Patient deducted - other reason",
	"0009": "Patient deducted - registered with new practice",
}

// CancelOf is the cancel request for prescription p (as Build filled it in):
// the whole prescription when lineItemID is "", else that line item; reason
// is a 16.27 code ("" for 0001).
func CancelOf(p *Prescription, lineItemID, reason string, at time.Time) CancelRequest {
	return CancelRequest{
		Time: at, SenderASID: p.SenderASID, ReceiverASID: p.ReceiverASID,
		PrescriptionID: p.ShortID, PrescriptionUUID: p.UUID, LineItemID: lineItemID, ReasonCode: reason,
		Prescriber: p.Prescriber, Patient: p.Patient,
	}
}

// Cancel builds a cancel request (PORX_IN030101SM32) and checks it decodes.
// The payload's id is the message ID, as the EPS FHIR API's cancellations
// carry it; the Spine's cancel response names it (cancellationRequestRef).
func Cancel(c CancelRequest) ([]byte, error) {
	if err := c.fill(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := cancelTmpl.ExecuteTemplate(&buf, "cancel", &c); err != nil {
		return nil, fmt.Errorf("prescribe: cancel: %w", err)
	}
	out := buf.Bytes()
	if _, err := hl7v3.Decode(out); err != nil {
		return nil, fmt.Errorf("prescribe: the built cancel request does not decode: %w", err)
	}
	return out, nil
}

func (c *CancelRequest) fill() error {
	c.PrescriptionID = strings.ToUpper(strings.TrimSpace(c.PrescriptionID))
	if err := ids.CheckShortID(c.PrescriptionID); err != nil {
		return fmt.Errorf("prescribe: cancel: %w", err)
	}
	if err := ids.CheckNHSNumber(c.Patient.NHSNumber); err != nil {
		return fmt.Errorf("prescribe: cancel: patient: %w", err)
	}
	if c.Prescriber.OrgODS == "" {
		return errors.New("prescribe: cancel: the prescriber's organisation (ODS code) is required")
	}
	if c.Time.IsZero() {
		return errors.New("prescribe: cancel: the time is required")
	}
	if err := ids.CheckASID(c.SenderASID); err != nil {
		return fmt.Errorf("prescribe: cancel: sender: %w", err)
	}
	if err := ids.CheckASID(c.ReceiverASID); err != nil {
		return fmt.Errorf("prescribe: cancel: receiver: %w", err)
	}
	if c.MessageID == "" {
		c.MessageID = ids.NewUUID()
	} else if !ids.IsUpperUUID(c.MessageID) {
		return fmt.Errorf("prescribe: cancel: message ID %q is not an upper-case UUID", c.MessageID)
	}
	for name, id := range map[string]*string{"line item": &c.LineItemID, "prescription UUID": &c.PrescriptionUUID} {
		if *id != "" && !ids.IsUUID(*id) {
			return fmt.Errorf("prescribe: cancel: %s %q is not a UUID", name, *id)
		}
		*id = strings.ToUpper(*id)
	}
	if c.ReasonCode == "" {
		c.ReasonCode = "0001"
	}
	display, ok := CancelReasons[c.ReasonCode]
	if !ok {
		return fmt.Errorf("prescribe: cancel: reason %q is not one of 16.27", c.ReasonCode)
	}
	if c.ReasonText == "" {
		c.ReasonText = display
	}
	if c.Responsible == nil {
		c.Responsible = &c.Prescriber
	}
	return nil
}

// Stamp is the HL7 timestamp of the cancellation time.
func (c *CancelRequest) Stamp() string { return c.Time.UTC().Format(hl7v3.TimeFormat) }

// The cancel request shares the prescription's "agentPerson" template, so
// the prescriber is written exactly as on the prescription it cancels.
var cancelTmpl = template.Must(template.Must(parentTmpl.Clone()).Parse(cancelText))

const cancelText = `{{define "cancel"}}<?xml version="1.0" encoding="UTF-8"?>
<PORX_IN030101SM32 xmlns="urn:hl7-org:v3">
  <id root="{{.MessageID}}"/>
  <creationTime value="{{.Stamp}}"/>
  <versionCode code="V3NPfIT4.2.00"/>
  <interactionId extension="PORX_IN030101SM32" root="2.16.840.1.113883.2.1.3.2.4.12"/>
  <processingCode code="P"/>
  <processingModeCode code="T"/>
  <acceptAckCode code="NE"/>
  <communicationFunctionRcv>
    <device classCode="DEV" determinerCode="INSTANCE">
      <id extension="{{x .ReceiverASID}}" root="1.2.826.0.1285.0.2.0.107"/>
    </device>
  </communicationFunctionRcv>
  <communicationFunctionSnd>
    <device classCode="DEV" determinerCode="INSTANCE">
      <id extension="{{x .SenderASID}}" root="1.2.826.0.1285.0.2.0.107"/>
    </device>
  </communicationFunctionSnd>
  <ControlActEvent classCode="CACT" moodCode="EVN">
    <author typeCode="AUT">
      <AgentPersonSDS classCode="AGNT">
        <id extension="{{x .Prescriber.RoleProfileID}}" root="1.2.826.0.1285.0.2.0.67"/>
        <agentPersonSDS classCode="PSN" determinerCode="INSTANCE">
          <id extension="{{x .Prescriber.SDSUserID}}" root="1.2.826.0.1285.0.2.0.65"/>
        </agentPersonSDS>
        <part typeCode="PART">
          <partSDSRole classCode="ROL">
            <id extension="{{x .Prescriber.JobRole}}" root="1.2.826.0.1285.0.2.1.104"/>
          </partSDSRole>
        </part>
      </AgentPersonSDS>
    </author>
    <author1 typeCode="AUT">
      <AgentSystemSDS classCode="AGNT">
        <agentSystemSDS classCode="DEV" determinerCode="INSTANCE">
          <id extension="{{x .SenderASID}}" root="1.2.826.0.1285.0.2.0.107"/>
        </agentSystemSDS>
      </AgentSystemSDS>
    </author1>
    <subject>
      <CancellationRequest classCode="INFO" moodCode="EVN">
        <id root="{{.MessageID}}"/>
        <effectiveTime value="{{.Stamp}}"/>
        <recordTarget typeCode="RCT">
          <Patient classCode="PAT">
            <id extension="{{x .Patient.NHSNumber}}" root="2.16.840.1.113883.2.1.4.1"/>
{{- if or .Patient.Address .Patient.Postcode}}
            <addr use="H">
{{- range .Patient.Address}}
              <streetAddressLine>{{x .}}</streetAddressLine>
{{- end}}
{{- if .Patient.Postcode}}
              <postalCode>{{x .Patient.Postcode}}</postalCode>
{{- end}}
            </addr>
{{- end}}
            <patientPerson classCode="PSN" determinerCode="INSTANCE">
              <name use="L">
{{- if .Patient.Prefix}}
                <prefix>{{x .Patient.Prefix}}</prefix>
{{- end}}
{{- range .Patient.Given}}
                <given>{{x .}}</given>
{{- end}}
                <family>{{x .Patient.Family}}</family>
              </name>
              <administrativeGenderCode code="{{x .Patient.Gender}}" codeSystem="2.16.840.1.113883.2.1.3.2.4.16.25"/>
              <birthTime value="{{x .Patient.BirthDate}}"/>
              <playedProviderPatient classCode="PAT">
                <subjectOf typeCode="SBJ">
                  <patientCareProvision classCode="PCPR" moodCode="EVN">
                    <code code="1" codeSystem="2.16.840.1.113883.2.1.3.2.4.17.37"/>
                    <responsibleParty typeCode="RESP">
                      <healthCareProvider classCode="PROV">
                        <id extension="{{x .Patient.GPODS}}" root="1.2.826.0.1285.0.1.10"/>
                      </healthCareProvider>
                    </responsibleParty>
                  </patientCareProvision>
                </subjectOf>
              </playedProviderPatient>
            </patientPerson>
          </Patient>
        </recordTarget>
        <author typeCode="AUT">
{{template "agentPerson" .Prescriber}}
        </author>
        <responsibleParty typeCode="RESP">
{{template "agentPerson" .Responsible}}
        </responsibleParty>
        <pertinentInformation2 contextConductionInd="true" typeCode="PERT">
          <seperatableInd value="false"/>
          <pertinentPrescriptionID classCode="OBS" moodCode="EVN">
            <code code="PID" codeSystem="2.16.840.1.113883.2.1.3.2.4.17.30"/>
            <value extension="{{x .PrescriptionID}}" root="2.16.840.1.113883.2.1.3.2.4.18.8"/>
          </pertinentPrescriptionID>
        </pertinentInformation2>
{{- if .LineItemID}}
        <pertinentInformation1 inversionInd="false" negationInd="false" typeCode="PERT">
          <seperatableInd value="true"/>
          <pertinentLineItemRef classCode="SBADM" moodCode="RQO">
            <id root="{{x .LineItemID}}"/>
          </pertinentLineItemRef>
        </pertinentInformation1>
{{- end}}
        <pertinentInformation contextConductionInd="true" typeCode="PERT">
          <seperatableInd value="false"/>
          <pertinentCancellationReason classCode="OBS" moodCode="EVN">
            <code code="CR" codeSystem="2.16.840.1.113883.2.1.3.2.4.17.30"/>
            <text>{{x .ReasonText}}</text>
            <value code="{{x .ReasonCode}}" codeSystem="2.16.840.1.113883.2.1.3.2.4.16.27"/>
          </pertinentCancellationReason>
        </pertinentInformation>
{{- if .PrescriptionUUID}}
        <pertinentInformation3 contextConductionInd="false" typeCode="PERT">
          <seperatableInd value="true"/>
          <pertinentOriginalPrescriptionRef classCode="SBADM" moodCode="RQO">
            <id root="{{x .PrescriptionUUID}}"/>
          </pertinentOriginalPrescriptionRef>
        </pertinentInformation3>
{{- end}}
      </CancellationRequest>
    </subject>
  </ControlActEvent>
</PORX_IN030101SM32>
{{end}}`
