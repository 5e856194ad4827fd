package inspect

import (
	"github.com/openeps/openeps/internal/ebxml"
)

// mime inspects a file that is not bare XML: an ebXML MIME message, with or
// without the HTTP request line and headers in front of it (the `.http`
// captures, the MHS adaptor's `.msg` test messages), or a SOAP envelope
// after its HTTP headers. The transport fields come from the ebXML header;
// the HL7 payload is decoded as a bare XML file would be and its fields
// merged in.
func mime(b []byte) Result {
	contentType, body := "", b
	if f, err := ebxml.ReadFile(b); err == nil {
		contentType, body = f.Header.Get("Content-Type"), f.Body
	}
	m, err := ebxml.Parse(contentType, body, ebxml.Limits{})
	if m == nil {
		return Result{Error: "not an ebXML message: " + err.Error()}
	}
	r := Result{
		EbxmlMessageID: m.Header.MessageId,
		Action:         m.Header.Action,
		From:           m.Header.From.ID,
		To:             m.Header.To.ID,
		Attachments:    len(m.Attachments),
	}
	if m.SOAP != nil && m.Kind == ebxml.KindSOAP {
		r.EbxmlMessageID, r.Action = m.SOAP.ID(), m.SOAP.Interaction()
		r.From, r.To = m.SOAP.FromASID, m.SOAP.ToASID
	}
	r.Warnings = append(r.Warnings, m.Warnings...)
	for _, e := range m.Errors() {
		r.Warnings = append(r.Warnings, "ebXML error: "+e.Description())
	}
	if m.Fault != nil {
		r.Warnings = append(r.Warnings, m.Fault.Error())
	}
	if len(m.Payload) > 0 {
		p := hl7(m.Payload)
		r.Interaction, r.MessageID = p.Interaction, p.MessageID
		r.PrescriptionID, r.NHSNumber, r.LineItems = p.PrescriptionID, p.NHSNumber, p.LineItems
		r.Prescriptions, r.Organisation, r.RefersTo = p.Prescriptions, p.Organisation, p.RefersTo
		r.Status, r.Reason, r.Errors = p.Status, p.Reason, p.Errors
		r.Warnings = append(r.Warnings, p.Warnings...)
		r.Error = p.Error
	}
	if err != nil {
		// The transport error comes first: it is what the Spine would
		// answer.
		r.Error = err.Error()
	}
	return r
}
