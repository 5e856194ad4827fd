// Package inspect decodes a message file of any kind openeps reads — a bare
// HL7 V3 interaction, a payload without its wrapper, or a whole ebXML MIME
// message (with or without its HTTP headers) — and reports its key fields.
// It backs `eps inspect`.
package inspect

import (
	"bytes"
	"strings"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
)

// Result is what one file holds. Empty fields are left out of the JSON.
type Result struct {
	File           string `json:"file"`
	Interaction    string `json:"interaction,omitempty"`
	MessageID      string `json:"messageId,omitempty"`
	PrescriptionID string `json:"prescriptionId,omitempty"`
	// Prescriptions lists every prescription a release response carries.
	Prescriptions []string `json:"prescriptions,omitempty"`
	NHSNumber     string   `json:"nhsNumber,omitempty"`
	// Organisation is the ODS code of who sent or is named by the payload:
	// the prescriber's organisation, the dispensing pharmacy, the dispenser
	// holding a prescription.
	Organisation string `json:"organisation,omitempty"`
	// RefersTo is the message or payload this one answers, is sent against or
	// replaces (the acknowledged message, the release request, the release
	// response dispensed against, the notification amended).
	RefersTo string `json:"refersTo,omitempty"`
	// Status is a prescription status (16.35) or an acknowledgement type.
	Status string `json:"status,omitempty"`
	// Reason is the code and display of a reason or an outcome: cancellation,
	// return, withdraw, release rejection, cancel response.
	Reason string `json:"reason,omitempty"`
	// Errors are an acknowledgement's error codes.
	Errors    []string   `json:"errors,omitempty"`
	LineItems []LineItem `json:"lineItems,omitempty"`
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
		if h := m.Header(); h.AckType != "" {
			r.Status, r.RefersTo = h.AckType, h.AckMessageRef
		}
		describe(&r, m.Payload())
		if ack, ok := hl7v3.ReadAck(m); ok {
			for _, e := range ack.Errors {
				r.Errors = append(r.Errors, coded(e.Value, e.Display))
			}
		}
		report(&r, problems)
		for _, p := range hl7v3.Check(m) {
			r.Warnings = append(r.Warnings, p.String())
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
	report(&r, problems)
	for _, pr := range hl7v3.CheckPayload(p) {
		r.Warnings = append(r.Warnings, pr.String())
	}
	return r
}

// report adds the decoder's problems (warnings, and the first error) and a
// warning for a prescription ID whose check character is wrong: the message
// still decodes (hl7v3.md §5.1 lists four such IDs in the test bench), but
// the Spine would refuse it.
func report(r *Result, problems []hl7v3.Problem) {
	for _, p := range problems {
		r.Warnings = append(r.Warnings, p.String())
	}
	for _, p := range problems {
		if !p.Warning {
			r.Error = "invalid: " + p.String()
			break
		}
	}
	ids := append([]string{r.PrescriptionID}, r.Prescriptions...)
	for i, id := range ids {
		if id == "" || (i > 0 && id == r.PrescriptionID) {
			continue
		}
		if err := checkPrescriptionID(id); err != nil {
			r.Warnings = append(r.Warnings, err.Error())
		}
	}
}

func checkPrescriptionID(id string) error {
	if len(id) >= 36 {
		return ids.CheckLongID(id)
	}
	return ids.CheckShortID(id)
}

func coded(code, display string) string {
	switch {
	case code == "":
		return display
	case display == "":
		return code
	}
	return code + " " + display
}

func codedOf(c hl7v3.Coded) string {
	s := coded(c.Code, c.Display)
	if c.Text != "" && c.Text != c.Display {
		if s != "" {
			s += ": "
		}
		s += c.Text
	}
	return s
}

// describe fills the payload's key fields.
func describe(r *Result, payload any) {
	switch p := payload.(type) {
	case *hl7v3.PORX_MT132004UK31_ParentPrescription:
		v := p.View()
		prescription(r, v)
	case *hl7v3.PORX_MT122002UK31_PrescriptionReleaseResponse:
		v := p.View()
		r.RefersTo = v.RequestPayloadID
		for i, rx := range v.Prescriptions {
			if i == 0 {
				prescription(r, rx)
			}
			r.Prescriptions = append(r.Prescriptions, rx.ShortID)
		}
	case *hl7v3.PORX_MT121002UK30_PatientPrescriptionReleaseRequest:
		v := p.View()
		r.PrescriptionID, r.Organisation = v.PrescriptionID, v.Dispenser.OrgODS
	case *hl7v3.PORX_MT121001UK30_NominatedPrescriptionReleaseRequest:
		r.Organisation = p.View().Dispenser.OrgODS
	case *hl7v3.PORX_MT121201UK30_PrescriptionReleaseReject:
		v := p.View()
		r.RefersTo, r.Reason, r.Organisation = v.RequestPayloadID, codedOf(v.Reason), v.Dispenser.OrgODS
	case *hl7v3.PORX_MT135001UK32_CancellationRequest:
		v := p.View()
		r.PrescriptionID, r.NHSNumber, r.Organisation = v.PrescriptionID, v.NHSNumber, v.Author.OrgODS
		var reasons []string
		for _, c := range v.Reasons {
			reasons = append(reasons, codedOf(c))
		}
		r.Reason = strings.Join(reasons, "; ")
		if v.LineItemID != "" {
			r.LineItems = []LineItem{{ID: v.LineItemID}}
		}
	case *hl7v3.PORX_MT135201UK31_CancellationResponse:
		v := p.View()
		r.PrescriptionID, r.NHSNumber, r.Organisation = v.PrescriptionID, v.NHSNumber, v.Dispenser.OrgODS
		r.RefersTo, r.Reason = v.CancelRequestID, codedOf(v.Response)
		if v.LineItemID != "" {
			r.LineItems = []LineItem{{ID: v.LineItemID}}
		}
	case *hl7v3.PORX_MT024001UK31_DispenseNotification:
		dispense(r, p.View())
	case *hl7v3.PORX_MT142001UK31_DispenseClaim:
		dispense(r, p.View())
	case *hl7v3.PORX_MT121301UK31_DispenseProposalReturn:
		v := p.View()
		r.PrescriptionID, r.Organisation, r.Reason, r.RefersTo = v.PrescriptionID, v.Dispenser.OrgODS, codedOf(v.Reason), v.ReleaseResponseID
	case *hl7v3.PORX_MT136001UK31_ETPWithdraw:
		v := p.View()
		r.PrescriptionID, r.NHSNumber = v.PrescriptionID, v.NHSNumber
		r.Reason = codedOf(v.Type) + " / " + codedOf(v.Reason)
		r.RefersTo = strings.Join(v.DispenseNotificationIDs, " ")
	case *hl7v3.PORX_MT136002UK31_RebuildDispenseHistory:
		v := p.View()
		r.PrescriptionID, r.Reason = v.PrescriptionID, codedOf(v.Reason)
		for _, n := range v.Notifications {
			for _, li := range n.LineItems {
				r.LineItems = append(r.LineItems, LineItem{ID: li.PrescribedItemID, Status: li.Status.Code})
			}
		}
	case *hl7v3.PORX_MT142006UK31_ReimbursmentClaim:
		v := p.View()
		r.Status = "replacement=" + v.Replacement
		r.Reason = strings.Join(v.Templates, " ")
	}
}

func prescription(r *Result, v hl7v3.Prescription) {
	r.PrescriptionID, r.NHSNumber, r.Organisation = v.ShortID, v.NHSNumber, v.Author.OrgODS
	r.Status = v.Status
	for _, li := range v.LineItems {
		r.LineItems = append(r.LineItems, LineItem{ID: li.ID, DMDCode: li.DMDCode, Description: li.Description,
			Quantity: li.Quantity, Unit: li.UnitDisplay, Status: li.Status})
	}
}

func dispense(r *Result, v hl7v3.DispenseView) {
	r.PrescriptionID, r.NHSNumber, r.Organisation = v.PrescriptionID, v.NHSNumber, v.Dispenser.OrgODS
	r.Status = v.PrescriptionStatus.Code
	r.RefersTo = v.ReleaseResponseID
	if v.ReplacesMessageID != "" {
		r.RefersTo = v.ReplacesMessageID
	}
	for _, li := range v.LineItems {
		item := LineItem{ID: li.PrescribedItemID, DMDCode: li.DMDCode, Description: li.Description, Status: li.Status.Code}
		var qty []string
		for _, s := range li.Supplied {
			qty = append(qty, s.Quantity)
			item.Unit = s.UnitDisplay
			if item.DMDCode == "" {
				item.DMDCode, item.Description = s.DMDCode, s.Description
			}
		}
		item.Quantity = strings.Join(qty, "+")
		r.LineItems = append(r.LineItems, item)
	}
}
