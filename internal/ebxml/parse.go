package ebxml

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Parse reads an ebXML message: the HTTP Content-Type and body of a
// multipart/related ebXML request, or a single-part text/xml SOAP body (an
// acknowledgement, an error list, a SOAP fault, a sync SOAP message). With
// an empty content type the body is sniffed: a body starting with "--" is
// taken as multipart with the boundary of its first line, one starting with
// "<" as XML.
//
// Errors are *Error. When the SOAP envelope could be read far enough to
// fill the message header, Parse returns the message read so far beside the
// error, so the caller can address its eb:ErrorList to the sender; otherwise
// the message is nil.
//
// Payload and attachment bodies sent without transfer encoding share memory
// with body.
func Parse(contentType string, body []byte, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	m := &Message{}
	warn := func(s string) { m.Warnings = append(m.Warnings, s) }
	if len(body) > lim.MaxBody {
		return nil, mimeProblem(RuleTooLarge, "", "the message is larger than %d bytes", lim.MaxBody)
	}
	mt, params := parseContentType(contentType)
	if mt == "" {
		mt, params = sniff(body)
		if mt == "" {
			return nil, mimeProblem(RuleNotMultipart, "", "no Content-Type, and the body is neither MIME nor XML")
		}
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		if mt != "multipart/related" {
			warn(fmt.Sprintf("Content-Type is %s, not multipart/related", mt))
		}
		return parseMultipart(m, params, body, lim, warn)
	case isXMLMediaType(mt):
		if err := checkCharset(params["charset"], "the message"); err != nil {
			return nil, err
		}
		m.Envelope = body
		seenMH, err := readEnvelope(string(body), lim, m, warn)
		if err != nil {
			return partial(m, seenMH), err
		}
		if err := classify(m, seenMH); err != nil {
			return partial(m, seenMH), err
		}
		if m.Kind == KindRequest && m.Header.Service != EbMSService {
			return m, Errorf(MimeProblem, RuleNoPayload,
				"a %s message sent as a single SOAP part carries no HL7 payload", m.Header.Action)
		}
		return m, nil
	default:
		return nil, mimeProblem(RuleNotMultipart, "", "Content-Type %q is neither multipart/related nor XML", mt)
	}
}

func partial(m *Message, seenMH bool) *Message {
	if seenMH {
		return m
	}
	return nil
}

// sniff guesses the media type of a body that came without one (a file).
func sniff(body []byte) (string, map[string]string) {
	b := bytes.TrimLeft(body, " \t\r\n")
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	switch {
	case bytes.HasPrefix(b, []byte("--")):
		line := b[2:lineEnd(b, 0)]
		boundary := string(bytes.TrimRight(line, " \t\r\n"))
		if boundary == "" {
			return "", nil
		}
		return "multipart/related", map[string]string{"boundary": boundary}
	case bytes.HasPrefix(b, []byte("<")):
		return "text/xml", map[string]string{}
	}
	return "", nil
}

func checkCharset(cs, what string) error {
	switch strings.ToLower(strings.TrimSpace(cs)) {
	case "", "utf-8", "utf8", "us-ascii":
		return nil
	}
	return mimeProblem(RuleCharset, "", "%s is in charset %s; only UTF-8 is accepted", what, cs)
}

func parseMultipart(m *Message, params map[string]string, body []byte, lim Limits, warn func(string)) (*Message, error) {
	boundary := params["boundary"]
	if boundary == "" {
		return nil, mimeProblem(RuleBoundary, "", "multipart Content-Type without a boundary")
	}
	if len(boundary) > 200 {
		return nil, mimeProblem(RuleBoundary, "", "the boundary is longer than 200 characters")
	}
	parts, err := splitMultipart(body, boundary, lim, warn)
	if err != nil {
		return nil, err
	}
	root := parts[0]
	if start := stripAngles(params["start"]); start != "" {
		root = nil
		for _, p := range parts {
			if p.contentID == start {
				root = p
				break
			}
		}
		for _, p := range parts {
			if root == nil && strings.EqualFold(p.contentID, start) {
				root = p
			}
		}
		if root == nil {
			warn(fmt.Sprintf("no MIME part has the start Content-Id <%s>; the first part is taken as the ebXML header", start))
			root = parts[0]
		}
	}
	if err := root.decode(lim.MaxBody, warn); err != nil {
		return nil, err
	}
	rmt, rparams := parseContentType(root.contentType)
	switch {
	case isXMLMediaType(rmt):
	case rmt == "" && bytes.HasPrefix(bytes.TrimLeft(root.body, " \t\r\n"), []byte("<")):
		warn(fmt.Sprintf("the ebXML header part (%s) has no Content-Type", root.location()))
	default:
		if rmt == "" {
			rmt = "text/plain"
		}
		return nil, mimeProblem(RuleRootPart, root.location(), "the ebXML header part (%s) is %s, not text/xml", root.location(), rmt)
	}
	if err := checkCharset(rparams["charset"], "the ebXML header part"); err != nil {
		return nil, err
	}
	m.Envelope = root.body
	seenMH, err := readEnvelope(string(root.body), lim, m, warn)
	if err != nil {
		return partial(m, seenMH), err
	}
	if err := classify(m, seenMH); err != nil {
		return partial(m, seenMH), err
	}
	return m, resolve(m, root, parts, lim, warn)
}

// classify sets m.Kind from what the envelope held.
func classify(m *Message, seenMH bool) error {
	switch {
	case m.Fault != nil:
		m.Kind = KindFault
	case seenMH && m.NACK != nil:
		m.Kind = KindErrorList
	case seenMH && m.Header.Action == ActionAcknowledgment:
		m.Kind = KindAck
		if m.Ack == nil {
			return &Error{Code: OtherXML, Rule: RuleAckInvalid, Location: "eb:Acknowledgment", Text: "Missing Acknowledgement"}
		}
	case seenMH:
		m.Kind = KindRequest
	case m.Ack != nil || m.NACK != nil:
		return &Error{Code: OtherXML, Rule: RuleAckInvalid, Location: "eb:MessageHeader", Text: "Missing Message Header"}
	case m.SOAP != nil:
		m.Kind = KindSOAP
	default:
		return notWellFormed("eb:MessageHeader", "the SOAP header holds neither an eb:MessageHeader nor a WS-Addressing header")
	}
	return nil
}

// resolve matches the manifest to the MIME parts: the HL7 payload, the
// attachments, and the external attachments.
func resolve(m *Message, root *part, parts []*part, lim Limits, warn func(string)) error {
	if len(m.Manifest) > lim.MaxParts+100 {
		return mimeProblem(RuleTooManyParts, "eb:Manifest", "the manifest has more than %d references", lim.MaxParts+100)
	}
	byID := map[string]*part{}
	for _, p := range parts {
		if p == root || p.contentID == "" {
			continue
		}
		if _, dup := byID[p.contentID]; dup {
			return mimeProblem(RulePartHeader, "cid:"+p.contentID, "two MIME parts have the Content-Id <%s>", p.contentID)
		}
		byID[p.contentID] = p
	}
	lookup := func(cid string) *part {
		if p := byID[cid]; p != nil {
			return p
		}
		// cid: URLs are URL-encoded (RFC 2392); Content-Ids are not.
		if u, err := url.PathUnescape(cid); err == nil && byID[u] != nil {
			return byID[u]
		}
		for _, p := range parts {
			if p != root && strings.EqualFold(p.contentID, cid) {
				return p
			}
		}
		return nil
	}

	// The HL7 payload: the reference marked hl7ebxml:Payload, else the
	// first reference to a MIME part.
	payloadRef := -1
	for i, r := range m.Manifest {
		if r.HL7 {
			payloadRef = i
			break
		}
	}
	if payloadRef < 0 {
		for i, r := range m.Manifest {
			if r.ContentID != "" {
				payloadRef = i
				warn(fmt.Sprintf("no manifest reference is marked hl7ebxml:Payload; %s is taken as the HL7 payload", r.Href))
				break
			}
		}
	}

	used := map[*part]bool{root: true}
	var firstErr error
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	for i, r := range m.Manifest {
		if r.ContentID == "" {
			scheme, rest, _ := strings.Cut(r.Href, ":")
			if i == payloadRef {
				fail(Errorf(MimeProblem, RuleNoPayload, "the HL7 payload reference %q is not a cid: reference", r.Href))
				continue
			}
			a := Attachment{External: true, DocumentID: r.ID, Description: r.Description, Title: filename(r.Description)}
			if strings.EqualFold(scheme, "mid") {
				a.MessageID = stripAngles(rest)
			}
			m.Attachments = append(m.Attachments, a)
			continue
		}
		p := lookup(r.ContentID)
		if p == nil {
			if i == payloadRef {
				fail(&Error{Code: MimeProblem, Rule: RuleNoPayload, Location: r.Href,
					Text: fmt.Sprintf("the HL7 payload %s named by the manifest has no MIME part", r.Href)})
			} else {
				fail(&Error{Code: MimeProblem, Rule: RuleUnresolvedRef, Location: r.Href,
					Text: fmt.Sprintf("the manifest reference %s has no MIME part", r.Href)})
			}
			continue
		}
		if used[p] {
			fail(mimeProblem(RuleManifestReference, r.Href, "the MIME part %s is referenced twice", r.Href))
			continue
		}
		used[p] = true
		if err := p.decode(lim.MaxAttachment, warn); err != nil {
			fail(err)
			continue
		}
		if i == payloadRef {
			if err := setPayload(m, p); err != nil {
				fail(err)
			}
			continue
		}
		m.Attachments = append(m.Attachments, attachmentOf(p, r))
	}
	for _, p := range parts {
		if used[p] {
			continue
		}
		if err := p.decode(lim.MaxAttachment, warn); err != nil {
			fail(err)
			continue
		}
		mt := mediaTypeOf(p.contentType)
		if m.Payload == nil && len(m.Manifest) == 0 && m.Kind == KindRequest && isXMLMediaType(mt) {
			// No manifest at all: the first part after the header is the
			// payload (EIS 2.5.4, and what the MHS adaptor does).
			warn(fmt.Sprintf("the message has no manifest; %s is taken as the HL7 payload", p.location()))
			if err := setPayload(m, p); err != nil {
				fail(err)
			}
			continue
		}
		warn(fmt.Sprintf("%s is not referenced by the manifest; kept as an attachment", p.location()))
		m.Attachments = append(m.Attachments, attachmentOf(p, Reference{}))
	}
	if firstErr == nil && m.Payload == nil && m.Kind == KindRequest && m.Header.Service != EbMSService {
		firstErr = Errorf(MimeProblem, RuleNoPayload, "the %s message carries no HL7 payload", m.Header.Action)
	}
	return firstErr
}

func attachmentOf(p *part, r Reference) Attachment {
	return Attachment{
		ContentID:        p.contentID,
		ContentType:      p.contentType,
		TransferEncoding: p.cte,
		Description:      r.Description,
		DocumentID:       r.ID,
		Body:             p.body,
		IsBase64:         p.cte == "base64",
	}
}

// setPayload takes p as the HL7 payload: it must be XML in UTF-8.
func setPayload(m *Message, p *part) error {
	loc := p.location()
	mt, params := parseContentType(p.contentType)
	if mt != "" && !isXMLMediaType(mt) {
		return mimeProblem(RulePayloadNotXML, loc, "the HL7 payload part (%s) is %s, not XML", loc, mt)
	}
	if err := checkCharset(params["charset"], "the HL7 payload"); err != nil {
		return err
	}
	if !utf8.Valid(p.body) {
		return mimeProblem(RulePayloadNotXML, loc, "the HL7 payload part (%s) is not UTF-8 text", loc)
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(p.body, []byte("\uFEFF")), " \t\r\n")
	if !bytes.HasPrefix(t, []byte("<")) {
		return mimeProblem(RulePayloadNotXML, loc, "the HL7 payload part (%s) is not XML", loc)
	}
	m.Payload = p.body
	m.PayloadContentType = p.contentType
	m.PayloadContentID = p.contentID
	return nil
}

// filename returns the Filename a GP2GP attachment description names
// (Filename="x.txt" ContentType=… Compressed=…), unquoted, or "".
func filename(desc string) string {
	i := strings.Index(desc, "Filename=")
	if i < 0 {
		return ""
	}
	v := desc[i+len("Filename="):]
	if strings.HasPrefix(v, `"`) {
		if j := strings.IndexByte(v[1:], '"'); j >= 0 {
			return v[1 : 1+j]
		}
		return strings.Trim(v, `"`)
	}
	if j := strings.IndexAny(v, " \t\r\n"); j >= 0 {
		return v[:j]
	}
	return v
}
