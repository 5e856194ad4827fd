package spine

import (
	"bytes"
	"strings"
	"time"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/xmlt"
)

// spineSends lists the interactions only the Spine sends: one arriving at
// the Spine is refused, not "not yet supported".
var spineSends = map[string]bool{
	hl7v3.PatientReleaseResponse:     true,
	hl7v3.NominatedReleaseResponse:   true,
	hl7v3.ReleaseRejection:           true,
	hl7v3.CancelResponse:             true,
	hl7v3.SubsequentCancelResponse:   true,
	hl7v3.ReimbursementClaim:         true,
	hl7v3.NoClaimNotification:        true,
	hl7v3.ApplicationAcknowledgement: true,
}

// wrapper returns the transmission wrapper of an answer to a message whose
// header is h: from the Spine's ASID back to the sender's.
func (s *Service) wrapper(h hl7v3.Header, id string, now time.Time) hl7v3.Wrapper {
	return hl7v3.Wrapper{MessageID: id, Created: now, SenderASID: s.asid, ReceiverASID: h.SenderASID}
}

// nack answers a message that could not be processed: AE with the error's
// code (5000 "Unable to process message…" for validation failures), or AR
// for a message that could not be read at all (see rejected).
func (s *Service) nack(h hl7v3.Header, id string, cause error, now time.Time) Reply {
	typeCode := hl7v3.AckError
	if e := epserr.As(cause); e != nil && e.Kind == epserr.KindRejected {
		typeCode = hl7v3.AckReject
	}
	code := epserr.CodeOf(cause)
	m := hl7v3.NewAck(s.wrapper(h, id, now), h.MessageID, typeCode, code)
	return Reply{ID: id, MessageID: h.MessageID, Interaction: hl7v3.ApplicationAcknowledgement, Body: m.Encode(),
		Outcome: typeCode + " " + code.Value + " " + code.Display}
}

// refusal answers a message that was read but cannot be processed. A
// release request is answered the way every other refused release is, with
// a release rejection carrying the code (the Spine's
// releaseRequest_to_releaseRejection.xsl; BENCH CHAIN054: 16.34/5000 in a
// PORX_IN110101); anything else, and a message that could not be read as
// its interaction at all (AR), with an acknowledgement (nack).
func (s *Service) refusal(m *hl7v3.Message, id string, cause error, now time.Time) Reply {
	h := m.Header()
	if e := epserr.As(cause); e != nil && e.Kind == epserr.KindRejected {
		return s.nack(h, id, cause, now)
	}
	var requestID string
	switch p := m.Payload().(type) {
	case *hl7v3.PORX_MT121002UK30_PatientPrescriptionReleaseRequest:
		requestID = p.ID.Root
	case *hl7v3.PORX_MT121001UK30_NominatedPrescriptionReleaseRequest:
		requestID = p.ID.Root
	case *hl7v3.PORX_MT135001UK32_CancellationRequest:
		// A cancellation is always answered with a cancel response, its
		// outcome in the cancel code system (17.19/5000 "Unable to process
		// message" for one that cannot be processed), as the Spine answers
		// every cancellation (PORX_IN050101UK31-cancel-response-error-soap.xml).
		code := epserr.CodeOf(cause)
		if code.System != epserr.SystemCancel {
			code = epserr.CancelUnableToProcess.With(detailOf(cause))
		}
		out, err := hl7v3.NewCancelResponse(s.wrapper(h, id, now), h.MessageID, p, code, "")
		if err != nil {
			return s.nack(h, id, cause, now) // too broken to repeat back
		}
		typeCode := out.Header().AckType
		return Reply{ID: id, MessageID: h.MessageID, Interaction: out.Interaction, Body: out.Encode(),
			Outcome: outcome(typeCode, []epserr.Code{code})}
	default:
		return s.nack(h, id, cause, now)
	}
	code := epserr.CodeOf(cause)
	out := hl7v3.NewReleaseRejection(s.wrapper(h, id, now), h.MessageID, requestID, code, "")
	typeCode := out.Header().AckType
	return Reply{ID: id, MessageID: h.MessageID, Interaction: out.Interaction, Body: out.Encode(),
		Outcome: outcome(typeCode, []epserr.Code{code})}
}

// detailOf is the detail an error gives, for repeating it under another code.
func detailOf(err error) string {
	if e := epserr.As(err); e != nil && e.Detail != "" {
		return e.Detail
	}
	return err.Error()
}

// rejected marks err as a refusal of the whole message (epserr.KindRejected:
// answered AR rather than AE).
func rejected(err error) error {
	e := epserr.As(err)
	if e == nil {
		e = epserr.Invalid("%v", err)
	}
	c := *e
	c.Kind = epserr.KindRejected
	return &c
}

// outcome summarises an answer for the history: "AA", or the ack type and
// the first code.
func outcome(typeCode string, codes []epserr.Code) string {
	if len(codes) == 0 {
		return typeCode
	}
	return typeCode + " " + codes[0].Value + " " + codes[0].Display
}

// sniff finds the root element name and the message id of a document that
// did not decode, so that the NACK can refer to it. It reads no further
// than the first id element under the root.
func sniff(b []byte) (id, root string) {
	d := xmlt.NewDecoder(b, hl7v3.Limits)
	k, err := d.Next()
	if err != nil || k != xmlt.StartElement {
		return "", ""
	}
	root = d.Name.Local
	for depth := 1; depth > 0; {
		k, err := d.Next()
		if err != nil {
			return "", root
		}
		switch k {
		case xmlt.StartElement:
			depth++
			if depth == 2 && d.Name.Local == "id" {
				for _, a := range d.Attrs {
					if a.Name.Local == "root" && a.Name.Space == "" {
						return strings.ToUpper(a.Value), root
					}
				}
			}
		case xmlt.EndElement:
			depth--
		case xmlt.EOF:
			return "", root
		}
	}
	return "", root
}

// sniffSender finds the sender ASID (communicationFunctionSnd/device/id
// extension) of a document that did not decode, so the NACK goes back to it.
func sniffSender(b []byte) string {
	i := bytes.Index(b, []byte("communicationFunctionSnd"))
	if i < 0 {
		return ""
	}
	rest := b[i:]
	j := bytes.Index(rest, []byte(`extension="`))
	if j < 0 || j > 400 {
		return ""
	}
	rest = rest[j+len(`extension="`):]
	k := bytes.IndexByte(rest, '"')
	if k < 0 || k > 32 {
		return ""
	}
	return string(rest[:k])
}
