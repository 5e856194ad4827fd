// Package ebxml reads and writes the transport of the NHS Spine: ebMS 2.0
// messages (a SOAP envelope with eb:MessageHeader, eb:Manifest and friends,
// carried in a multipart/related MIME body with the HL7 V3 payload and any
// attachments), their acknowledgements and error lists, SOAP faults, and the
// synchronous SOAP (WS-Addressing) requests of the Spine's sync services.
//
// Everything here is a plain function over bytes: no HTTP server, no store,
// no clock (times are parameters), no randomness (message IDs are
// parameters). The Spine-side service, the delivery worker, the MHS adaptor
// and `eps inspect` all use it.
//
// Reading is tolerant of what real senders put on the wire (unquoted
// Content-Type parameters, start without angle brackets, LF or CRLF line
// ends, a missing closing boundary) and strict about what matters: the SOAP
// envelope and eb:MessageHeader must be there, manifest references must
// resolve to MIME parts, a business message must carry its HL7 payload as
// UTF-8 XML. Every failure is an *Error carrying the ebXML errorCode and,
// where the Spine has one, the Spine's numeric code, so a caller can turn it
// straight into an eb:ErrorList (see ErrorList) or a SOAP fault.
//
// Hostile input: sizes, part counts and XML depth are bounded (Limits); DTDs
// and entity declarations are refused by internal/xmlt; compressed
// attachments are never inflated; nothing here panics on input.
//
// Who uses what:
//
//   - The Spine side (eps serve): Parse the request, m.Check(SpineEPS with
//     Party, KnownCPA, SOAPAction and Now set), then answer Ack (or
//     AckWithPayload when the HL7 answer is ready and the request asked for
//     eb:SyncReply), ErrorList(&m.Header, …, errs...) for refusals (with a
//     nil header when Parse returned no message), SOAPFault for transport
//     failures. Duplicate elimination is the caller's: the store knows which
//     message IDs it has seen and must answer a duplicate with the original
//     acknowledgement (ebMS 2.0 §6.5.4).
//   - The sending side (delivery worker, eps mhs): Build the request and
//     send it with SOAPAction MessageHeader.SOAPAction(); Parse the reply:
//     KindAck (Acknowledges), KindErrorList (Errors, never retried) or
//     KindFault (Fault.Retriable); inbound async answers are KindRequest.
//   - The MHS adaptor API: Attachment.AdaptorPayload, AdaptorAttachment and
//     ExternalAttachment convert to and from its JSON attachments.
//   - eps inspect: ReadFile, then Parse.
package ebxml

// Namespaces of the envelopes.
const (
	NSSOAP     = "http://schemas.xmlsoap.org/soap/envelope/"
	NSEb       = "http://www.oasis-open.org/committees/ebxml-msg/schema/msg-header-2_0.xsd"
	NSXLink    = "http://www.w3.org/1999/xlink"
	NSHL7ebXML = "urn:hl7-org:transport/ebXML/DSTUv1.0"
	NSWSA      = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	NSHL7      = "urn:hl7-org:v3"
	NSNASP     = "http://national.carerecords.nhs.uk/schema/"
	NSXSI      = "http://www.w3c.org/2001/XML-Schema-Instance" // sic: the Spine's spelling
)

// Well-known values.
const (
	// PartyType is the eb:type of every NHS party ID.
	PartyType = "urn:nhs:names:partyType:ocs+serviceInstance"
	// ServiceMM is the eb:Service of the EPS interactions.
	ServiceMM = "urn:nhs:names:services:mm"
	// EbMSService is the eb:Service of ebMS's own messages (acknowledgements, errors).
	EbMSService = "urn:oasis:names:tc:ebxml-msg:service"
	// ActionAcknowledgment and ActionMessageError are the eb:Action of an
	// acknowledgement and of an error list.
	ActionAcknowledgment = "Acknowledgment"
	ActionMessageError   = "MessageError"
	// ActorToPartyMSH is the SOAP:actor of eb:AckRequested and eb:Acknowledgment.
	ActorToPartyMSH = "urn:oasis:names:tc:ebxml-msg:actor:toPartyMSH"
	// ActorNext is the SOAP:actor of eb:SyncReply.
	ActorNext = "http://schemas.xmlsoap.org/soap/actor/next"
	// ErrorCodeContext is the eb:codeContext of ebMS errors.
	ErrorCodeContext = "urn:oasis:names:tc:ebxml-msg:service:errors"
	// TMSCodeContext is the codeContext of the Spine's transport (TMS) errors in SOAP faults.
	TMSCodeContext = "urn:nhs:names:error:tms"
	// Boundary is the MIME boundary every NHS sender uses.
	Boundary = "--=_MIME-Boundary"
	// HeaderContentID is the Content-Id of the SOAP envelope part.
	HeaderContentID = "ebXMLHeader@spine.nhs.uk"
	// ASIDRoot is the OID of the ASID identifiers in sync SOAP headers.
	ASIDRoot = "1.2.826.0.1285.0.2.0.107"
	// HL7SchemaLocation is the eb:Schema of the HL7 payload reference.
	HL7SchemaLocation = "http://www.nhsia.nhs.uk/schemas/HL7-Message.xsd"
)
