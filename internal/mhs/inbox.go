package mhs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/signature"
	"github.com/openeps/openeps/internal/store"
)

// Message is one message received for the client system, as GET /inbox and
// the callback hand it over: the HL7 payload and every attachment byte for
// byte (text as text, anything else base64, the adaptor API's rule), and
// the ebXML header fields the client may need — nothing received is
// thrown away (nhsconnect/integration-adaptors#163).
type Message struct {
	Seq   int64  `json:"seq"`
	State string `json:"state"`
	// MessageID is the received message's eb:MessageId; RefToMessageID the
	// request it answers (the client's Message-Id), "" for a message that
	// answers nothing (Unsolicited).
	MessageID      string    `json:"message_id"`
	RefToMessageID string    `json:"ref_to_message_id"`
	CorrelationID  string    `json:"correlation_id"` // eb:ConversationId
	InteractionID  string    `json:"interaction_id"` // eb:Action
	Service        string    `json:"service"`
	FromPartyID    string    `json:"from_party_id"`
	ToPartyID      string    `json:"to_party_id"`
	CPAId          string    `json:"cpa_id"`
	Timestamp      string    `json:"timestamp"` // eb:Timestamp as sent
	ReceivedAt     time.Time `json:"received_at"`
	Unsolicited    bool      `json:"unsolicited"`
	// EbXML is the SOAP envelope as received (base64 in EbXMLBase64 when it
	// was not UTF-8 text, which a parsed envelope always is).
	EbXML               string               `json:"ebXML"`
	EbXMLBase64         bool                 `json:"ebXML_is_base64,omitempty"`
	Payload             string               `json:"payload"`
	Attachments         []InboxAttachment    `json:"attachments"`
	ExternalAttachments []ExternalAttachment `json:"external_attachments"`
	// Signatures are the verdicts on the prescriptions of a release response,
	// in order, when the adaptor checks signatures (Config.Trust).
	Signatures []SignatureCheck `json:"signatures,omitempty"`
}

// SignatureCheck is the verdict on one released prescription's signature.
type SignatureCheck struct {
	PrescriptionID string `json:"prescription_id"`
	Valid          bool   `json:"valid"`
	// Result is "valid" or "invalid: <failures with their codes>".
	Result string `json:"result"`
	// ReturnReason is, for an invalid one, the reason to return it with:
	// 0005 "Invalid digital signature" (2.16.840.1.113883.2.1.3.2.4.16.28).
	ReturnReason string `json:"return_reason,omitempty"`
}

// checkSignatures verifies the prescriptions of a release response; nil for
// any other message.
func checkSignatures(m *ebxml.Message, ts *signature.TrustStore, now time.Time) []SignatureCheck {
	switch hl7v3.Canonical(m.Header.Action) {
	case hl7v3.NominatedReleaseResponse, hl7v3.PatientReleaseResponse:
	default:
		return nil
	}
	results, err := signature.VerifyAll(m.Payload, ts, signature.VerifyOptions{Now: now})
	if err != nil {
		return []SignatureCheck{{Result: "invalid: " + err.Error()}}
	}
	out := make([]SignatureCheck, len(results))
	for i, r := range results {
		out[i] = SignatureCheck{PrescriptionID: r.PrescriptionID, Valid: r.Valid(), Result: r.String()}
		if !r.Valid() {
			out[i].ReturnReason = signature.ReturnReasonInvalidSignature.Value + " " + signature.ReturnReasonInvalidSignature.Display
		}
	}
	return out
}

// InboxAttachment is an attachment as the adaptor API carries it.
type InboxAttachment struct {
	ContentType string `json:"content_type"`
	IsBase64    bool   `json:"is_base64"`
	Description string `json:"description"`
	Payload     string `json:"payload"`
	ContentID   string `json:"content_id,omitempty"`
	DocumentID  string `json:"document_id,omitempty"`
}

// ExternalAttachment is a manifest reference to a document sent in another
// message.
type ExternalAttachment struct {
	DocumentID  string `json:"document_id"`
	MessageID   string `json:"message_id"`
	Description string `json:"description"`
}

// messageOf turns a received ebXML message into an inbox Message.
func messageOf(m *ebxml.Message, received time.Time) Message {
	h := m.Header
	out := Message{
		MessageID: h.MessageId, RefToMessageID: h.RefToMessageId, CorrelationID: h.ConversationId,
		InteractionID: h.Action, Service: h.Service, FromPartyID: h.From.ID, ToPartyID: h.To.ID, CPAId: h.CPAId,
		Timestamp: h.Timestamp, ReceivedAt: received.UTC(), Unsolicited: h.RefToMessageId == "",
		Payload:     string(m.Payload),
		Attachments: []InboxAttachment{}, ExternalAttachments: []ExternalAttachment{},
	}
	if utf8.Valid(m.Envelope) {
		out.EbXML = string(m.Envelope)
	} else {
		out.EbXML, out.EbXMLBase64 = base64.StdEncoding.EncodeToString(m.Envelope), true
	}
	for _, a := range m.Attachments {
		if a.External {
			out.ExternalAttachments = append(out.ExternalAttachments,
				ExternalAttachment{DocumentID: a.DocumentID, MessageID: a.MessageID, Description: a.Description})
			continue
		}
		payload, isB64 := a.AdaptorPayload()
		out.Attachments = append(out.Attachments, InboxAttachment{ContentType: a.ContentType, IsBase64: isB64,
			Description: a.Description, Payload: payload, ContentID: a.ContentID, DocumentID: a.DocumentID})
	}
	return out
}

// item is the inbox row of a Message.
func (m Message) item() (store.InboxItem, error) {
	m.Seq, m.State = 0, ""
	data, err := marshal(m)
	if err != nil {
		return store.InboxItem{}, err
	}
	return store.InboxItem{MessageID: m.MessageID, Interaction: m.InteractionID, CorrelationID: m.CorrelationID,
		RefToMessage: m.RefToMessageID, ReceivedAt: m.ReceivedAt, State: store.InboxNew, Data: data}, nil
}

// inboxMessage reads an inbox row.
func inboxMessage(it store.InboxItem) (Message, error) {
	var m Message
	if err := json.Unmarshal(it.Data, &m); err != nil {
		return Message{}, err
	}
	m.Seq, m.State = it.Seq, string(it.State)
	return m, nil
}

// marshal writes JSON without HTML escaping: the XML stays readable, and
// decodes to the same bytes either way.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := b.Bytes()
	if n := len(out); n > 0 && out[n-1] == '\n' {
		out = out[:n-1]
	}
	return out, nil
}
