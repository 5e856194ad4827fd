package ebxml

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Party is an eb:From or eb:To.
type Party struct {
	ID   string // the first eb:PartyId, e.g. YES-0000806
	Type string // its eb:type, normally PartyType
	Role string // eb:Role, if sent
	// OtherIDs holds further eb:PartyId elements (ebMS allows several; the
	// Spine accepts exactly one, so CheckHeader refuses them).
	OtherIDs []PartyID
}

// PartyID is one eb:PartyId.
type PartyID struct {
	ID, Type string
}

// MessageHeader is the ebMS header of a message: eb:MessageHeader and the
// SOAP header blocks beside it (eb:AckRequested, eb:SyncReply).
type MessageHeader struct {
	Version        string // eb:version of eb:MessageHeader as sent ("2.0")
	From, To       Party
	CPAId          string
	ConversationId string
	Service        string
	ServiceType    string // eb:type of eb:Service, rarely sent
	Action         string
	MessageId      string
	// Timestamp is eb:MessageData/eb:Timestamp as sent; SentAt is it parsed
	// (zero when absent or not a date-time).
	Timestamp      string
	SentAt         time.Time
	RefToMessageId string
	// TimeToLive is eb:TimeToLive as sent; ExpiresAt is it parsed.
	TimeToLive string
	ExpiresAt  time.Time

	DuplicateElimination bool // eb:DuplicateElimination present

	AckRequested bool   // eb:AckRequested present
	AckActor     string // its SOAP:actor
	AckSigned    bool   // its eb:signed is "true"
	AckVersion   string // its eb:version

	SyncReply        bool   // eb:SyncReply present
	SyncReplyActor   string // its SOAP:actor
	SyncReplyVersion string // its eb:version

	// Description is eb:MessageHeader/eb:Description, if sent.
	Description string

	// Extra keeps every header element this package does not read (inside
	// eb:MessageHeader or beside it in SOAP:Header), as sent.
	Extra []RawElement

	// What Parse saw that a bare value cannot show and CheckHeader needs.
	repeated         []string // elements that appear more than once where one is allowed
	ackSignedMissing bool
}

// RawElement is an XML element kept as sent.
type RawElement struct {
	Space, Local string // its namespace and local name
	Parent       string // "MessageHeader", "Header" or "Body"
	XML          string // the element's text, start tag to end tag
}

// SOAPAction is the HTTP SOAPAction of a message with this header:
// Service/Action, as the Spine expects.
func (h MessageHeader) SOAPAction() string { return h.Service + "/" + h.Action }

// Reference is one eb:Reference of the eb:Manifest.
type Reference struct {
	Href      string // xlink:href as sent: cid:… for a MIME part, mid:… for an external attachment
	ContentID string // the Content-Id a cid: reference names, without brackets
	ID        string // eb:id (the document ID of an attachment)
	// Description is eb:Description's text, trimmed; DescriptionLang its xml:lang.
	Description     string
	DescriptionLang string
	SchemaLocation  string // eb:Schema/@eb:location
	SchemaVersion   string // eb:Schema/@eb:version
	// HL7 is set when the reference carries hl7ebxml:Payload, marking the
	// HL7 payload; Style, Encoding and PayloadVersion are its attributes.
	HL7            bool
	Style          string
	Encoding       string
	PayloadVersion string
}

// Attachment is a MIME part other than the envelope and the HL7 payload, or
// an external attachment (a manifest reference to a document not carried in
// this message).
type Attachment struct {
	ContentID        string // Content-Id without angle brackets ("" for an external attachment)
	ContentType      string // the Content-Type header value as sent
	TransferEncoding string // Content-Transfer-Encoding as sent, lower case ("" if absent)
	Description      string // from the manifest reference
	// Body is the content exactly as sent after transfer decoding (base64
	// undone; compression never undone).
	Body []byte
	// IsBase64 is set when the part was sent base64-encoded; Build sends it
	// so.
	IsBase64 bool
	// DocumentID is the manifest reference's eb:id.
	DocumentID string
	// External is set for a manifest reference with no MIME part (mid:…);
	// MessageID is the message it names and Title the Filename its
	// description gives.
	External  bool
	MessageID string
	Title     string
}

// MediaType is the attachment's media type in lower case, without parameters.
func (a Attachment) MediaType() string { return mediaTypeOf(a.ContentType) }

// Compressed reports whether the body is gzip data (GP2GP large messaging
// sends compressed attachments; they are passed on as they came).
func (a Attachment) Compressed() bool {
	return len(a.Body) >= 2 && a.Body[0] == 0x1f && a.Body[1] == 0x8b
}

// IsText reports whether the body can be handed on as a string: a text or
// XML media type, valid UTF-8 and not compressed. This is the MHS adaptor's
// rule for its "is_base64" flag.
func (a Attachment) IsText() bool {
	mt := a.MediaType()
	textual := strings.HasPrefix(mt, "text/") || mt == "application/xml" || strings.HasSuffix(mt, "+xml") ||
		mt == "application/json"
	return textual && !a.Compressed() && utf8.Valid(a.Body)
}

// Kind is what a parsed message is.
type Kind int

const (
	// KindRequest is an ebXML message carrying a business payload (or an
	// ebMS service message such as a ping).
	KindRequest Kind = iota + 1
	// KindAck is an ebXML acknowledgement (eb:Action Acknowledgment).
	KindAck
	// KindErrorList is an ebXML error message (eb:ErrorList).
	KindErrorList
	// KindFault is a SOAP fault.
	KindFault
	// KindSOAP is a synchronous SOAP message (WS-Addressing header, payload
	// in SOAP:Body).
	KindSOAP
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindAck:
		return "acknowledgment"
	case KindErrorList:
		return "error list"
	case KindFault:
		return "SOAP fault"
	case KindSOAP:
		return "sync SOAP"
	}
	return "unknown"
}

// Acknowledgment is an eb:Acknowledgment.
type Acknowledgment struct {
	Version        string
	Actor          string // SOAP:actor
	Timestamp      string
	AckedAt        time.Time // Timestamp parsed
	RefToMessageId string    // the message acknowledged
	From           Party
}

// NACK is an eb:ErrorList: the errors a receiver found in a message.
type NACK struct {
	HighestSeverity Severity
	Errors          []*Error
}

// Message is one parsed (or to be built) message.
type Message struct {
	Kind   Kind
	Header MessageHeader
	// Manifest is the eb:Manifest as received (Build makes its own from
	// Payload and Attachments).
	Manifest []Reference
	// Payload is the HL7 V3 payload exactly as sent (after transfer
	// decoding). For sync SOAP it is the first element of SOAP:Body, made a
	// standalone document (namespace declarations of its ancestors added).
	Payload            []byte
	PayloadContentType string
	PayloadContentID   string
	Attachments        []Attachment

	Ack   *Acknowledgment // eb:Acknowledgment: KindAck, or piggybacked on a reply
	NACK  *NACK           // eb:ErrorList: KindErrorList
	Fault *Fault          // KindFault
	SOAP  *SOAPHeader     // KindSOAP

	// Envelope is the SOAP envelope exactly as received.
	Envelope []byte
	// Warnings lists what was tolerated on the way in (a missing closing
	// boundary, a MIME part no reference names, …).
	Warnings []string

	manifests       int    // eb:Manifest elements seen
	manifestVersion string // the first one's eb:version
}

// Errors returns the errors of an error list, or nil.
func (m *Message) Errors() []*Error {
	if m == nil || m.NACK == nil {
		return nil
	}
	return m.NACK.Errors
}

// Acknowledges reports whether the message acknowledges msgID (an
// eb:Acknowledgment naming it).
func (m *Message) Acknowledges(msgID string) bool {
	return m != nil && m.Ack != nil && m.Ack.RefToMessageId == msgID
}

// Limits bound what Parse accepts. Zero fields take the defaults.
type Limits struct {
	MaxBody       int // whole body (default 16 MiB)
	MaxParts      int // MIME parts (default 100: envelope, payload, 98 attachments)
	MaxAttachment int // one part after transfer decoding (default 5 MiB, the Spine's limit)
	MaxXMLDepth   int // element nesting in the envelope (default 64)
}

// Default limits.
const (
	DefaultMaxBody       = 16 << 20
	DefaultMaxParts      = 100
	DefaultMaxAttachment = 5 << 20
	DefaultMaxXMLDepth   = 64
)

func (l Limits) withDefaults() Limits {
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxAttachment <= 0 {
		l.MaxAttachment = DefaultMaxAttachment
	}
	if l.MaxXMLDepth <= 0 {
		l.MaxXMLDepth = DefaultMaxXMLDepth
	}
	return l
}

// mediaTypeOf returns the lower-case media type of a Content-Type value.
func mediaTypeOf(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

func isXMLMediaType(mt string) bool {
	return mt == "text/xml" || mt == "application/xml" || strings.HasSuffix(mt, "+xml")
}

// formatTime writes a time the way the Spine does: UTC, seconds, Z.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// parseTime reads the date-times senders write: RFC 3339 with or without
// fractional seconds, or without a zone (taken as UTC, as the Spine writes
// them in error lists).
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
