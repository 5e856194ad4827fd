// Package inspect decodes a message file of any kind openeps reads — a bare
// HL7 V3 interaction, a payload without its wrapper, or a whole ebXML MIME
// message (with or without its HTTP headers) — and reports its key fields.
// It backs `eps inspect`.
package inspect

import (
	"bytes"

	"github.com/openeps/openeps/internal/hl7v3"
)

// Result is what one file holds. Empty fields are left out of the JSON.
type Result struct {
	File           string     `json:"file"`
	Interaction    string     `json:"interaction,omitempty"`
	MessageID      string     `json:"messageId,omitempty"`
	PrescriptionID string     `json:"prescriptionId,omitempty"`
	NHSNumber      string     `json:"nhsNumber,omitempty"`
	LineItems      []LineItem `json:"lineItems,omitempty"`
	// Transport fields, for ebXML messages.
	EbxmlMessageID string   `json:"ebxmlMessageId,omitempty"`
	Action         string   `json:"action,omitempty"`
	From           string   `json:"from,omitempty"`
	To             string   `json:"to,omitempty"`
	Attachments    int      `json:"attachments,omitempty"`
	Warnings       []string `json:"warnings,omitempty"`
	Error          string   `json:"error,omitempty"`
}

// LineItem is one line of a prescription or dispensing message.
type LineItem struct {
	ID          string `json:"id"`
	DMDCode     string `json:"dmdCode,omitempty"`
	Description string `json:"description,omitempty"`
	Quantity    string `json:"quantity,omitempty"`
	Unit        string `json:"unit,omitempty"`
	Status      string `json:"status,omitempty"`
}

// Bytes inspects one file's contents.
func Bytes(b []byte) Result {
	trimmed := bytes.TrimLeft(b, " \t\r\n\ufeff")
	if !bytes.HasPrefix(trimmed, []byte("<")) {
		return mime(b)
	}
	return hl7(b)
}

// hl7 inspects a bare XML document: an interaction or a payload.
func hl7(b []byte) Result {
	m, problems, err := hl7v3.DecodeLenient(b)
	if err == nil {
		r := Result{Interaction: m.Root, MessageID: m.Header().MessageID}
		describe(&r, m.Payload())
		for _, p := range problems {
			r.Warnings = append(r.Warnings, p.String())
		}
		if e := firstProblem(problems); e != "" {
			r.Error = e
		}
		return r
	}
	p, problems, perr := hl7v3.DecodePayloadLenient(b)
	if perr != nil {
		// Neither an interaction nor a payload: report the interaction error.
		return Result{Error: err.Error()}
	}
	r := Result{Interaction: p.Root}
	describe(&r, p.Body)
	for _, pr := range problems {
		r.Warnings = append(r.Warnings, pr.String())
	}
	if e := firstProblem(problems); e != "" {
		r.Error = e
	}
	return r
}

func firstProblem(ps []hl7v3.Problem) string {
	for _, p := range ps {
		if !p.Warning {
			return "invalid: " + p.String()
		}
	}
	return ""
}

// describe fills the payload's key fields.
func describe(r *Result, payload any) {
	switch p := payload.(type) {
	case *hl7v3.PORX_MT132004UK31_ParentPrescription:
		v := p.View()
		r.PrescriptionID, r.NHSNumber = v.ShortID, v.NHSNumber
		for _, li := range v.LineItems {
			r.LineItems = append(r.LineItems, LineItem{ID: li.ID, DMDCode: li.DMDCode, Description: li.Description,
				Quantity: li.Quantity, Unit: li.UnitDisplay, Status: li.Status})
		}
	}
}
