package ebxml

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openeps/openeps/internal/xmlt"
)

// ContentType is the Content-Type of the multipart messages Build and
// AckWithPayload write (with the boundary they use): the form the transport
// spec gives, with every parameter quoted as RFC 2045 wants.
func ContentType(boundary string) string {
	return `multipart/related; boundary="` + boundary + `"; type="text/xml"; start="<` + HeaderContentID + `>"`
}

// Build writes an outgoing ebXML request: a multipart/related body with the
// SOAP envelope (eb:MessageHeader; eb:DuplicateElimination, eb:AckRequested
// and eb:SyncReply as the header asks; an eb:Manifest with the HL7 payload
// reference and one reference per attachment), the HL7 payload, and the
// attachments. The layout is the one the EPS FHIR API and the MHS adaptor
// send, byte for byte where they agree.
//
// m.Header needs From, To, CPAId, ConversationId, Service, Action and
// MessageId, and Timestamp or SentAt. The payload's Content-Id defaults to
// MessageId@spine.nhs.uk; an attachment without a Content-Id gets one made
// from the message ID and its position. m.Manifest, m.Kind and the parse
// results are ignored.
func Build(m *Message) (contentType string, body []byte, err error) {
	h := m.Header
	if err := requireHeader(h); err != nil {
		return "", nil, err
	}
	if h.Timestamp == "" {
		h.Timestamp = formatTime(h.SentAt)
	}
	if h.TimeToLive == "" && !h.ExpiresAt.IsZero() {
		h.TimeToLive = formatTime(h.ExpiresAt)
	}
	if len(m.Payload) == 0 && h.Service != EbMSService {
		return "", nil, fmt.Errorf("ebxml: build %s: no HL7 payload", h.MessageId)
	}

	parts := []outPart{{cid: HeaderContentID, ct: "text/xml; charset=UTF-8", cte: "8bit"}}
	var refs []Reference
	seen := map[string]bool{HeaderContentID: true}
	if len(m.Payload) > 0 {
		if err := checkPayload(m.Payload); err != nil {
			return "", nil, err
		}
		cid := m.PayloadContentID
		if cid == "" {
			cid = h.MessageId + "@spine.nhs.uk"
		}
		ct := m.PayloadContentType
		if ct == "" {
			ct = "text/xml; charset=UTF-8"
		}
		if err := checkHeaderValues(cid, ct); err != nil {
			return "", nil, err
		}
		seen[cid] = true
		parts = append(parts, outPart{cid: cid, ct: ct, cte: "8bit", body: m.Payload})
		refs = append(refs, Reference{Href: "cid:" + cid, HL7: true, Description: "HL7 payload"})
	}
	for i, a := range m.Attachments {
		for _, v := range []string{a.Description, a.DocumentID, a.MessageID} {
			if !xmlt.ValidText(v) {
				return "", nil, fmt.Errorf("ebxml: build %s: attachment %d: %q holds a character XML does not allow",
					h.MessageId, i+1, truncate(v, 40))
			}
		}
		if a.External {
			if a.MessageID == "" {
				return "", nil, fmt.Errorf("ebxml: build %s: external attachment %d has no message ID", h.MessageId, i+1)
			}
			refs = append(refs, Reference{Href: "mid:" + a.MessageID, ID: a.DocumentID, Description: a.Description})
			continue
		}
		cid := a.ContentID
		if cid == "" {
			cid = fmt.Sprintf("Attachment%d.%s@spine.nhs.uk", i+1, h.MessageId)
		}
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := checkHeaderValues(cid, ct); err != nil {
			return "", nil, fmt.Errorf("ebxml: build %s: attachment %d: %w", h.MessageId, i+1, err)
		}
		if seen[cid] {
			return "", nil, fmt.Errorf("ebxml: build %s: Content-Id <%s> used twice", h.MessageId, cid)
		}
		seen[cid] = true
		op := outPart{cid: cid, ct: ct, body: a.Body}
		switch {
		case a.IsBase64:
			op.cte = "base64"
			op.body = appendBase64(nil, a.Body, "\r\n")
		case (a.TransferEncoding == "7bit" && isASCII(a.Body)) || a.TransferEncoding == "binary":
			op.cte = a.TransferEncoding
		case utf8.Valid(a.Body) && bytes.IndexByte(a.Body, 0) < 0:
			op.cte = "8bit"
		default:
			op.cte = "binary"
		}
		parts = append(parts, op)
		refs = append(refs, Reference{Href: "cid:" + cid, ID: a.DocumentID, Description: a.Description})
	}
	parts[0].body = requestEnvelope(h, nil, refs)
	boundary, out := assemble(parts)
	return ContentType(boundary), out, nil
}

// Ack writes the positive acknowledgement of a received message, in the
// shape of the MHS adaptor's ebxml_ack.mustache and the Spine's
// generateebXMLAck.xsl: eb:Action Acknowledgment, eb:Service the ebMS
// service, RefToMessageId the received message, and an eb:Acknowledgment
// with now and the received message ID. fromParty is our party key (""
// means the received eb:To). As both NHS implementations do, the header's
// eb:Timestamp repeats the received message's timestamp; now goes in
// eb:Acknowledgment.
func Ack(received MessageHeader, ackMessageID string, now time.Time, fromParty string) (contentType string, body []byte) {
	from := Party{ID: fromParty, Type: PartyType}
	if from.ID == "" {
		from = received.To
	}
	ts := received.Timestamp
	if ts == "" {
		ts = formatTime(now)
	}
	var w xw
	w.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.s(`<soap:Envelope xmlns:xsi="` + NSXSI + `" xmlns:soap="` + NSSOAP + `" xmlns:eb="` + NSEb +
		`" xmlns:hl7ebxml="` + NSHL7ebXML + `" xmlns:xlink="` + NSXLink + `">` + "\n")
	w.s("    <soap:Header>\n")
	w.serviceHeader("        ", from, received.From, received.CPAId, received.ConversationId, EbMSService,
		ActionAcknowledgment, ackMessageID, ts, received.MessageId)
	w.s(`        <eb:Acknowledgment eb:version="2.0" soap:mustUnderstand="1" soap:actor="` + ActorToPartyMSH + `">` + "\n")
	w.el("            ", "eb:Timestamp", formatTime(now))
	w.el("            ", "eb:RefToMessageId", received.MessageId)
	w.party("            ", "eb:From", from)
	w.s("        </eb:Acknowledgment>\n")
	w.s("    </soap:Header>\n    <soap:Body/>\n</soap:Envelope>\n")
	return "text/xml; charset=UTF-8", w.b
}

// notKnown is what the Spine's generateebXMLError.xsl writes for a value it
// does not have.
const notKnown = "Not Known"

// ErrorList writes the negative acknowledgement (eb:Action MessageError)
// of a received message, in the Spine's shape (generateebXMLError.xsl and
// its captured answers): one eb:Error per error, highestSeverity the worst
// of them, Description "<Spine code>:<text>". received may be nil when the
// header itself could not be read; the values then missing are written as
// "Not Known", as the Spine does. With no errors, the Spine's default "200:
// System failure to process message" is sent. Error.Location is not
// written: the Spine's answers carry no eb:location.
func ErrorList(received *MessageHeader, msgID string, now time.Time, errs ...*Error) (contentType string, body []byte) {
	var h MessageHeader
	if received != nil {
		h = *received
	}
	from, to := h.To, h.From
	cpa, conv, ref, ts := h.CPAId, h.ConversationId, h.MessageId, h.Timestamp
	for _, v := range []*string{&from.ID, &to.ID, &cpa, &conv, &ref} {
		if *v == "" {
			*v = notKnown
		}
	}
	if ts == "" {
		ts = formatTime(now)
	}
	if len(errs) == 0 {
		errs = []*Error{{Code: Unknown, SpineCode: TMSSystemFailure, Text: "System failure to process message"}}
	}
	highest := SeverityWarning
	for _, e := range errs {
		if e.severity() == SeverityError {
			highest = SeverityError
		}
	}
	var w xw
	w.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.s(`<soap:Envelope xmlns:soap="` + NSSOAP + `" xmlns:eb="` + NSEb + `">` + "\n")
	w.s("    <soap:Header>\n")
	w.serviceHeader("        ", from, to, cpa, conv, EbMSService, ActionMessageError, msgID, ts, ref)
	w.s(`        <eb:ErrorList eb:version="2.0" soap:mustUnderstand="1" eb:highestSeverity="` + string(highest) + `">` + "\n")
	for _, e := range errs {
		w.s(`            <eb:Error eb:codeContext="`)
		w.attr(e.codeContext())
		w.s(`" eb:errorCode="`)
		w.attr(string(e.Code))
		w.s(`" eb:severity="`)
		w.attr(string(e.severity()))
		w.s("\">\n")
		w.s(`                <eb:Description xml:lang="en-GB">`)
		w.esc(e.Description())
		w.s("</eb:Description>\n")
		w.s("            </eb:Error>\n")
	}
	w.s("        </eb:ErrorList>\n")
	w.s("    </soap:Header>\n    <soap:Body/>\n</soap:Envelope>\n")
	return "text/xml; charset=UTF-8", w.b
}

// AckWithPayload writes the reply to a request that asked for a
// synchronous reply (eb:SyncReply) and whose HL7 answer is ready: one
// multipart/related body whose envelope both acknowledges the request (an
// eb:Acknowledgment, as ebMS 2.0 allows on any message) and carries the HL7
// answer as a new message (msgID, eb:Action the payload's interaction,
// RefToMessageId the request, same conversation), the HL7 part second. The
// EPS FHIR API reads such a 200 body as it reads the Spine's: it finds the
// answer by its root element name anywhere in the body.
func AckWithPayload(received MessageHeader, msgID string, now time.Time, fromParty string, payload []byte) (contentType string, body []byte, err error) {
	if err := checkPayload(payload); err != nil {
		return "", nil, err
	}
	action, err := rootName(payload)
	if err != nil {
		return "", nil, err
	}
	from := Party{ID: fromParty, Type: PartyType}
	if from.ID == "" {
		from = received.To
	}
	service := received.Service
	if service == "" {
		service = ServiceMM
	}
	h := MessageHeader{
		From: from, To: received.From, CPAId: received.CPAId, ConversationId: received.ConversationId,
		Service: service, Action: action, MessageId: msgID, Timestamp: formatTime(now),
		RefToMessageId: received.MessageId,
	}
	if err := requireHeader(h); err != nil {
		return "", nil, err
	}
	ack := &Acknowledgment{Timestamp: formatTime(now), RefToMessageId: received.MessageId, From: from}
	cid := msgID + "@spine.nhs.uk"
	refs := []Reference{{Href: "cid:" + cid, HL7: true, Description: "HL7 payload"}}
	parts := []outPart{
		{cid: HeaderContentID, ct: "text/xml; charset=UTF-8", cte: "8bit", body: requestEnvelope(h, ack, refs)},
		{cid: cid, ct: "text/xml; charset=UTF-8", cte: "8bit", body: payload},
	}
	boundary, out := assemble(parts)
	return ContentType(boundary), out, nil
}

func requireHeader(h MessageHeader) error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"eb:From", h.From.ID}, {"eb:To", h.To.ID}, {"eb:CPAId", h.CPAId}, {"eb:ConversationId", h.ConversationId},
		{"eb:Service", h.Service}, {"eb:Action", h.Action}, {"eb:MessageId", h.MessageId},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if h.Timestamp == "" && h.SentAt.IsZero() {
		missing = append(missing, "eb:Timestamp")
	}
	if len(missing) > 0 {
		return fmt.Errorf("ebxml: build: the header has no %s", strings.Join(missing, ", "))
	}
	for _, v := range []string{h.From.ID, h.From.Type, h.From.Role, h.To.ID, h.To.Type, h.To.Role, h.CPAId,
		h.ConversationId, h.Service, h.ServiceType, h.Action, h.MessageId, h.Timestamp, h.RefToMessageId,
		h.TimeToLive, h.AckActor, h.SyncReplyActor, h.Description} {
		if !xmlt.ValidText(v) {
			return fmt.Errorf("ebxml: build: header value %q holds a character XML does not allow", truncate(v, 40))
		}
	}
	return nil
}

// checkHeaderValues refuses MIME header values that would break the
// message: line ends (header injection), control characters, and in a
// Content-Id blanks or angle brackets.
func checkHeaderValues(cid, ct string) error {
	if cid == "" || strings.ContainsAny(cid, "<> \t\r\n\x00") || !printable(cid) {
		return fmt.Errorf("Content-Id %q is not usable", truncate(cid, 40))
	}
	if strings.ContainsAny(ct, "\r\n\x00") || !printable(ct) {
		return fmt.Errorf("Content-Type %q is not usable", truncate(ct, 40))
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return false
		}
	}
	return utf8.ValidString(s)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c == 0 {
			return false
		}
	}
	return true
}

// checkPayload makes the checks Parse makes of a received payload, so Build
// never writes what its receiver would refuse.
func checkPayload(p []byte) error {
	if !utf8.Valid(p) {
		return fmt.Errorf("ebxml: the HL7 payload is not UTF-8")
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(p, []byte("\uFEFF")), " \t\r\n")
	if !bytes.HasPrefix(t, []byte("<")) {
		return fmt.Errorf("ebxml: the HL7 payload is not XML")
	}
	return nil
}

// rootName returns the local name of a document's root element. It only
// skips what may come before the root (BOM, blanks, the XML declaration,
// comments, processing instructions) and reads the name: the document
// itself is read properly by whoever decodes it.
func rootName(doc []byte) (string, error) {
	b := bytes.TrimPrefix(doc, []byte("\uFEFF"))
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		switch {
		case bytes.HasPrefix(b, []byte("<?")):
			i := bytes.Index(b, []byte("?>"))
			if i < 0 {
				return "", fmt.Errorf("ebxml: the HL7 payload: unterminated processing instruction")
			}
			b = b[i+2:]
		case bytes.HasPrefix(b, []byte("<!--")):
			i := bytes.Index(b[4:], []byte("-->"))
			if i < 0 {
				return "", fmt.Errorf("ebxml: the HL7 payload: unterminated comment")
			}
			b = b[4+i+3:]
		case bytes.HasPrefix(b, []byte("<")) && len(b) > 1 && b[1] != '!' && b[1] != '/':
			end := 1
			for end < len(b) && !bytes.ContainsRune([]byte(" \t\r\n/>"), rune(b[end])) {
				end++
			}
			name := string(b[1:end])
			if i := strings.IndexByte(name, ':'); i >= 0 {
				name = name[i+1:]
			}
			if name == "" || end == len(b) {
				return "", fmt.Errorf("ebxml: the HL7 payload has no root element")
			}
			return name, nil
		default:
			return "", fmt.Errorf("ebxml: the HL7 payload has no root element")
		}
	}
}

// requestEnvelope writes the envelope of a request (or of a reply carrying
// a payload and, then, ack) with CRLF line ends, laid out as the EPS FHIR
// API's ebxml_request.mustache.
func requestEnvelope(h MessageHeader, ack *Acknowledgment, refs []Reference) []byte {
	w := xw{eol: "\r\n"}
	w.line("", `<?xml version="1.0" encoding="UTF-8"?>`)
	w.line("", `<SOAP:Envelope xmlns:xsi="`+NSXSI+`" xmlns:SOAP="`+NSSOAP+`" xmlns:eb="`+NSEb+
		`" xmlns:hl7ebxml="`+NSHL7ebXML+`" xmlns:xlink="`+NSXLink+`">`)
	w.line("", "<SOAP:Header>")
	w.line("\t", `<eb:MessageHeader SOAP:mustUnderstand="1" eb:version="2.0">`)
	w.party("\t\t", "eb:From", h.From)
	w.party("\t\t", "eb:To", h.To)
	w.el("\t\t", "eb:CPAId", h.CPAId)
	w.el("\t\t", "eb:ConversationId", h.ConversationId)
	if h.ServiceType != "" {
		w.s("\t\t" + `<eb:Service eb:type="`)
		w.attr(h.ServiceType)
		w.s(`">`)
		w.esc(h.Service)
		w.s("</eb:Service>" + w.eol)
	} else {
		w.el("\t\t", "eb:Service", h.Service)
	}
	w.el("\t\t", "eb:Action", h.Action)
	w.line("\t\t", "<eb:MessageData>")
	w.el("\t\t\t", "eb:MessageId", h.MessageId)
	w.el("\t\t\t", "eb:Timestamp", h.Timestamp)
	if h.RefToMessageId != "" {
		w.el("\t\t\t", "eb:RefToMessageId", h.RefToMessageId)
	}
	if h.TimeToLive != "" {
		w.el("\t\t\t", "eb:TimeToLive", h.TimeToLive)
	}
	w.line("\t\t", "</eb:MessageData>")
	if h.DuplicateElimination {
		w.line("        ", "<eb:DuplicateElimination/>")
	}
	if h.Description != "" {
		w.s("        " + `<eb:Description xml:lang="en">`)
		w.esc(h.Description)
		w.s("</eb:Description>" + w.eol)
	}
	w.line("    ", "</eb:MessageHeader>")
	if h.AckRequested {
		actor := h.AckActor
		if actor == "" {
			actor = ActorToPartyMSH
		}
		w.s(`    <eb:AckRequested SOAP:mustUnderstand="1" eb:version="2.0" eb:signed="` + strconv.FormatBool(h.AckSigned) + `" SOAP:actor="`)
		w.attr(actor)
		w.s(`"/>` + w.eol)
	}
	if h.SyncReply {
		actor := h.SyncReplyActor
		if actor == "" {
			actor = ActorNext
		}
		w.s(`    <eb:SyncReply SOAP:mustUnderstand="1" eb:version="2.0" SOAP:actor="`)
		w.attr(actor)
		w.s(`"/>` + w.eol)
	}
	if ack != nil {
		w.line("    ", `<eb:Acknowledgment SOAP:mustUnderstand="1" eb:version="2.0" SOAP:actor="`+ActorToPartyMSH+`">`)
		w.el("\t\t", "eb:Timestamp", ack.Timestamp)
		w.el("\t\t", "eb:RefToMessageId", ack.RefToMessageId)
		w.party("\t\t", "eb:From", ack.From)
		w.line("    ", "</eb:Acknowledgment>")
	}
	w.line("", "</SOAP:Header>")
	w.line("", "<SOAP:Body>")
	w.line("\t", `<eb:Manifest SOAP:mustUnderstand="1" eb:version="2.0">`)
	for _, r := range refs {
		w.s("\t\t<eb:Reference")
		if r.ID != "" {
			w.s(` eb:id="`)
			w.attr(r.ID)
			w.s(`"`)
		}
		w.s(` xlink:href="`)
		w.attr(r.Href)
		w.s(`">` + w.eol)
		if r.HL7 {
			w.line("\t\t\t", `<eb:Schema eb:location="`+HL7SchemaLocation+`" eb:version="1.0"/>`)
		}
		w.s("\t\t\t" + `<eb:Description xml:lang="en">`)
		w.esc(r.Description)
		w.s("</eb:Description>" + w.eol)
		if r.HL7 {
			w.line("\t\t\t", `<hl7ebxml:Payload style="HL7" encoding="XML" version="3.0"/>`)
		}
		w.line("\t\t", "</eb:Reference>")
	}
	w.line("\t", "</eb:Manifest>")
	w.line("", "</SOAP:Body>")
	w.line("", "</SOAP:Envelope>")
	return w.b
}

// outPart is one MIME part to write.
type outPart struct {
	cid, ct, cte string
	body         []byte
}

// assemble writes parts as a multipart body with CRLF line ends. The
// boundary is the NHS one unless a part's content holds a line that would
// read as its delimiter; then a numbered variant that none holds is used.
func assemble(parts []outPart) (string, []byte) {
	boundary := Boundary
	for n := 1; ; n++ {
		clash := false
		dash := []byte("--" + boundary)
		for _, p := range parts {
			if findDelimiter(p.body, 0, dash) >= 0 {
				clash = true
				break
			}
		}
		if !clash {
			break
		}
		boundary = Boundary + "_" + strconv.Itoa(n)
	}
	size := 64
	for _, p := range parts {
		size += len(p.body) + len(p.cid) + len(p.ct) + len(boundary) + 100
	}
	b := make([]byte, 0, size)
	for _, p := range parts {
		b = append(b, "--"+boundary+"\r\n"...)
		b = append(b, "Content-Id: <"+p.cid+">\r\n"...)
		b = append(b, "Content-Type: "+p.ct+"\r\n"...)
		b = append(b, "Content-Transfer-Encoding: "+p.cte+"\r\n\r\n"...)
		b = append(b, p.body...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "--"+boundary+"--\r\n"...)
	return boundary, b
}

// xw appends XML.
type xw struct {
	b   []byte
	eol string // "\n" unless set
}

func (w *xw) nl() string {
	if w.eol == "" {
		return "\n"
	}
	return w.eol
}

func (w *xw) s(x string) { w.b = append(w.b, x...) }

// esc and attr write text and attribute values escaped, and with whatever
// XML cannot carry replaced (XMLSafe): error texts quote what a sender
// sent, and a hostile message must not make its own answer unreadable.
func (w *xw) esc(x string)  { w.b = xmlt.AppendEscapedText(w.b, XMLSafe(x)) }
func (w *xw) attr(x string) { w.b = xmlt.AppendEscapedAttr(w.b, XMLSafe(x)) }

func (w *xw) line(indent, raw string) { w.s(indent + raw + w.nl()) }

// el writes indent<name>text</name>.
func (w *xw) el(indent, name, text string) {
	w.s(indent + "<" + name + ">")
	w.esc(text)
	w.s("</" + name + ">" + w.nl())
}

// optEl writes an empty element for an empty text.
func (w *xw) optEl(indent, name, text string) {
	if text == "" {
		w.s(indent + "<" + name + "/>" + w.nl())
		return
	}
	w.el(indent, name, text)
}

// party writes an eb:From or eb:To with one step more indent inside.
func (w *xw) party(indent, name string, p Party) {
	typ := p.Type
	if typ == "" {
		typ = PartyType
	}
	inner := indent + "\t"
	if !strings.HasSuffix(indent, "\t") {
		inner = indent + "    "
	}
	w.s(indent + "<" + name + ">" + w.nl())
	w.s(inner + `<eb:PartyId eb:type="`)
	w.attr(typ)
	w.s(`">`)
	w.esc(p.ID)
	w.s("</eb:PartyId>" + w.nl())
	for _, o := range p.OtherIDs {
		t := o.Type
		if t == "" {
			t = PartyType
		}
		w.s(inner + `<eb:PartyId eb:type="`)
		w.attr(t)
		w.s(`">`)
		w.esc(o.ID)
		w.s("</eb:PartyId>" + w.nl())
	}
	if p.Role != "" {
		w.el(inner, "eb:Role", p.Role)
	}
	w.s(indent + "</" + name + ">" + w.nl())
}

// serviceHeader writes the eb:MessageHeader of an acknowledgement or error
// list (four-space layout of the MHS adaptor's templates).
func (w *xw) serviceHeader(indent string, from, to Party, cpa, conv, service, action, msgID, ts, ref string) {
	in := indent + "    "
	w.s(indent + `<eb:MessageHeader eb:version="2.0" soap:mustUnderstand="1">` + w.nl())
	w.party(in, "eb:From", from)
	w.party(in, "eb:To", to)
	w.el(in, "eb:CPAId", cpa)
	w.el(in, "eb:ConversationId", conv)
	w.el(in, "eb:Service", service)
	w.el(in, "eb:Action", action)
	w.s(in + "<eb:MessageData>" + w.nl())
	w.el(in+"    ", "eb:MessageId", msgID)
	w.el(in+"    ", "eb:Timestamp", ts)
	w.el(in+"    ", "eb:RefToMessageId", ref)
	w.s(in + "</eb:MessageData>" + w.nl())
	w.s(indent + "</eb:MessageHeader>" + w.nl())
}

// spineCommFunc writes a communicationFunction element the way the Spine
// does in its answers, with the HL7 structural attributes.
func (w *xw) spineCommFunc(indent, name, typeCode, asid string) {
	w.s(indent + "<" + name + ` typeCode="` + typeCode + `">` + w.nl())
	w.s(indent + `  <hl7:device classCode="DEV" determinerCode="INSTANCE">` + w.nl())
	w.s(indent + `    <hl7:id root="` + ASIDRoot + `" extension="`)
	w.attr(asid)
	w.s(`"/>` + w.nl())
	w.s(indent + "  </hl7:device>" + w.nl())
	w.s(indent + "</" + name + ">" + w.nl())
}

// commFunc writes a sync SOAP hl7:communicationFunction element.
func (w *xw) commFunc(indent, name, asid string) {
	w.s(indent + "<" + name + ">" + w.nl())
	w.s(indent + "\t<hl7:device>" + w.nl())
	w.s(indent + `		<hl7:id root="` + ASIDRoot + `" extension="`)
	w.attr(asid)
	w.s(`"/>` + w.nl())
	w.s(indent + "\t</hl7:device>" + w.nl())
	w.s(indent + "</" + name + ">" + w.nl())
}
