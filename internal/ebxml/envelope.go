package ebxml

import (
	"fmt"
	"sort"
	"strings"

	"github.com/openeps/openeps/internal/xmlt"
)

// envReader reads a SOAP envelope into a Message.
type envReader struct {
	d    *xmlt.Decoder
	src  string
	m    *Message
	warn func(string)

	headers, bodies int // SOAP:Header and SOAP:Body seen
	seenMH          bool
	counts          map[string]int // header blocks and MessageHeader children seen
}

// readEnvelope parses src, a SOAP 1.1 envelope, into m. It reports whether
// an eb:MessageHeader was read (even when an error follows).
func readEnvelope(src string, lim Limits, m *Message, warn func(string)) (bool, error) {
	r := &envReader{
		d:      xmlt.NewDecoderString(src, xmlt.Limits{MaxBytes: lim.MaxBody, MaxDepth: lim.MaxXMLDepth}),
		src:    src,
		m:      m,
		warn:   warn,
		counts: map[string]int{},
	}
	err := r.read()
	for name, n := range r.counts {
		if n > 1 {
			m.Header.repeated = append(m.Header.repeated, name)
		}
	}
	sort.Strings(m.Header.repeated)
	if err != nil {
		if e := AsError(err); e != nil {
			return r.seenMH, e
		}
		return r.seenMH, &Error{Code: OtherXML, SpineCode: TMSNotWellFormed, Rule: RuleNotWellFormed,
			Text: "The message is not well formed - " + err.Error(), Err: err}
	}
	return r.seenMH, nil
}

func (r *envReader) read() error {
	k, err := r.d.Next()
	if err != nil {
		return err
	}
	if k != xmlt.StartElement || r.d.Name.Space != NSSOAP || r.d.Name.Local != "Envelope" {
		return notWellFormed("SOAP:Envelope", "the root element is {%s}%s, not a SOAP 1.1 Envelope", r.d.Name.Space, r.d.Name.Local)
	}
	err = r.children(func(n xmlt.Name) error {
		switch {
		case n.Space == NSSOAP && n.Local == "Header":
			r.headers++
			if r.headers > 1 {
				return notWellFormed("SOAP:Header", "more than one SOAP:Header")
			}
			return r.children(r.headerChild)
		case n.Space == NSSOAP && n.Local == "Body":
			r.bodies++
			if r.bodies > 1 {
				return notWellFormed("SOAP:Body", "more than one SOAP:Body")
			}
			return r.children(r.bodyChild)
		default:
			r.warn(fmt.Sprintf("SOAP:Envelope: unexpected element {%s}%s ignored", n.Space, n.Local))
			_, err := r.d.Skip()
			return err
		}
	})
	if err != nil {
		return err
	}
	if k, err := r.d.Next(); err != nil || k != xmlt.EOF {
		if err == nil {
			err = fmt.Errorf("content after the envelope")
		}
		return err
	}
	if r.bodies == 0 {
		return notWellFormed("SOAP:Body", "SOAP:Body is missing")
	}
	return nil
}

// children calls f for each child element of the element just started,
// which must consume the child through its end tag, and returns after the
// parent's end tag. Text between children is ignored.
func (r *envReader) children(f func(xmlt.Name) error) error {
	for {
		k, err := r.d.Next()
		if err != nil {
			return err
		}
		switch k {
		case xmlt.EndElement:
			return nil
		case xmlt.StartElement:
			if err := f(r.d.Name); err != nil {
				return err
			}
		case xmlt.EOF:
			return fmt.Errorf("unexpected end of document")
		}
	}
}

// text returns the character data of the element just started (child
// elements' text is skipped), trimmed, and consumes it through its end tag.
func (r *envReader) text() (string, error) {
	var b strings.Builder
	depth := r.d.Depth()
	for {
		k, err := r.d.Next()
		if err != nil {
			return "", err
		}
		switch k {
		case xmlt.Text:
			if r.d.Depth() == depth {
				b.WriteString(r.d.Text)
			}
		case xmlt.EndElement:
			if r.d.Depth() == depth-1 {
				return strings.TrimSpace(b.String()), nil
			}
		case xmlt.EOF:
			return "", fmt.Errorf("unexpected end of document")
		}
	}
}

// raw consumes the element just started and returns it as written.
func (r *envReader) raw() (string, error) {
	start := r.d.TokenStart
	end, err := r.d.Skip()
	if err != nil {
		return "", err
	}
	return r.src[start:end], nil
}

func (r *envReader) keep(parent string) error {
	n := r.d.Name
	x, err := r.raw()
	if err != nil {
		return err
	}
	r.m.Header.Extra = append(r.m.Header.Extra, RawElement{Space: n.Space, Local: n.Local, Parent: parent, XML: x})
	return nil
}

// attr returns the value of the attribute space:local of the element just
// started; an unqualified attribute of that local name is accepted too
// (some senders write version="2.0" for eb:version="2.0").
func (r *envReader) attr(space, local string) (string, bool) {
	var v string
	found := false
	for _, a := range r.d.Attrs {
		if a.Name.Local != local || a.Name.Space == xmlt.XMLNS {
			continue
		}
		if a.Name.Space == space {
			return a.Value, true
		}
		if a.Name.Space == "" && !found {
			v, found = a.Value, true
		}
	}
	return v, found
}

func (r *envReader) count(name string) int {
	r.counts[name]++
	return r.counts[name]
}

func (r *envReader) headerChild(n xmlt.Name) error {
	h := &r.m.Header
	switch {
	case n.Space == NSEb && n.Local == "MessageHeader":
		if r.count("eb:MessageHeader") > 1 {
			_, err := r.d.Skip()
			return err
		}
		r.seenMH = true
		h.Version, _ = r.attr(NSEb, "version")
		return r.children(r.messageHeaderChild)
	case n.Space == NSEb && n.Local == "AckRequested":
		if r.count("eb:AckRequested") == 1 {
			h.AckRequested = true
			h.AckActor, _ = r.attr(NSSOAP, "actor")
			h.AckVersion, _ = r.attr(NSEb, "version")
			signed, ok := r.attr(NSEb, "signed")
			h.AckSigned = strings.TrimSpace(signed) == "true"
			h.ackSignedMissing = !ok
		}
		_, err := r.d.Skip()
		return err
	case n.Space == NSEb && n.Local == "SyncReply":
		if r.count("eb:SyncReply") == 1 {
			h.SyncReply = true
			h.SyncReplyActor, _ = r.attr(NSSOAP, "actor")
			h.SyncReplyVersion, _ = r.attr(NSEb, "version")
		}
		_, err := r.d.Skip()
		return err
	case n.Space == NSEb && n.Local == "Acknowledgment":
		if r.count("eb:Acknowledgment") > 1 {
			_, err := r.d.Skip()
			return err
		}
		a := &Acknowledgment{}
		a.Version, _ = r.attr(NSEb, "version")
		a.Actor, _ = r.attr(NSSOAP, "actor")
		r.m.Ack = a
		return r.children(func(n xmlt.Name) error {
			var err error
			switch {
			case n.Space == NSEb && n.Local == "Timestamp":
				a.Timestamp, err = r.text()
				a.AckedAt = parseTime(a.Timestamp)
			case n.Space == NSEb && n.Local == "RefToMessageId":
				a.RefToMessageId, err = r.text()
			case n.Space == NSEb && n.Local == "From":
				err = r.party(&a.From)
			default:
				_, err = r.d.Skip()
			}
			return err
		})
	case n.Space == NSEb && n.Local == "ErrorList":
		if r.count("eb:ErrorList") > 1 {
			_, err := r.d.Skip()
			return err
		}
		el := &NACK{}
		hs, _ := r.attr(NSEb, "highestSeverity")
		el.HighestSeverity = Severity(strings.TrimSpace(hs))
		r.m.NACK = el
		return r.children(func(n xmlt.Name) error {
			if n.Space != NSEb || n.Local != "Error" {
				_, err := r.d.Skip()
				return err
			}
			e := &Error{}
			code, _ := r.attr(NSEb, "errorCode")
			sev, _ := r.attr(NSEb, "severity")
			e.Code, e.Severity = ErrorCode(strings.TrimSpace(code)), Severity(strings.TrimSpace(sev))
			e.CodeContext, _ = r.attr(NSEb, "codeContext")
			e.Location, _ = r.attr(NSEb, "location")
			el.Errors = append(el.Errors, e)
			return r.children(func(n xmlt.Name) error {
				if n.Space == NSEb && n.Local == "Description" && e.Text == "" {
					d, err := r.text()
					e.SpineCode, e.Text = splitDescription(d)
					return err
				}
				_, err := r.d.Skip()
				return err
			})
		})
	case n.Space == NSWSA:
		s := r.soapHeader()
		var err error
		var v string
		switch n.Local {
		case "MessageID":
			r.count("wsa:MessageID")
			v, err = r.text()
			s.MessageID = v
		case "Action":
			r.count("wsa:Action")
			v, err = r.text()
			s.Action = v
		case "To":
			r.count("wsa:To")
			v, err = r.text()
			s.To = v
		case "RelatesTo":
			v, err = r.text()
			s.RelatesTo = v
		case "From", "ReplyTo":
			local := n.Local
			err = r.children(func(n xmlt.Name) error {
				if n.Space == NSWSA && n.Local == "Address" {
					a, err := r.text()
					if local == "From" {
						s.From = a
					} else {
						s.ReplyTo = a
					}
					return err
				}
				_, err := r.d.Skip()
				return err
			})
		default:
			err = r.keep("Header")
		}
		return err
	case n.Space == NSHL7 && (n.Local == "communicationFunctionRcv" || n.Local == "communicationFunctionSnd"):
		s := r.soapHeader()
		asid, err := r.asid()
		if n.Local == "communicationFunctionRcv" {
			s.ToASID = asid
		} else {
			s.FromASID = asid
		}
		return err
	default:
		return r.keep("Header")
	}
}

func (r *envReader) soapHeader() *SOAPHeader {
	if r.m.SOAP == nil {
		r.m.SOAP = &SOAPHeader{}
	}
	return r.m.SOAP
}

// asid reads communicationFunctionRcv/Snd: device/id[@root=ASIDRoot]/@extension.
func (r *envReader) asid() (string, error) {
	var asid string
	err := r.children(func(n xmlt.Name) error {
		if n.Local != "device" {
			_, err := r.d.Skip()
			return err
		}
		return r.children(func(n xmlt.Name) error {
			if n.Local == "id" {
				if root, _ := r.attr("", "root"); root == ASIDRoot && asid == "" {
					asid, _ = r.attr("", "extension")
				}
			}
			_, err := r.d.Skip()
			return err
		})
	})
	return strings.TrimSpace(asid), err
}

// splitDescription splits "501319:Unknown eb:CPAId" into the Spine code and
// the text; a description without a leading number is all text.
func splitDescription(d string) (code, text string) {
	i := strings.IndexByte(d, ':')
	if i <= 0 {
		return "", d
	}
	for _, c := range d[:i] {
		if c < '0' || c > '9' {
			return "", d
		}
	}
	return d[:i], d[i+1:]
}

func (r *envReader) party(p *Party) error {
	first := p.ID == "" && p.Type == "" && len(p.OtherIDs) == 0
	return r.children(func(n xmlt.Name) error {
		switch {
		case n.Space == NSEb && n.Local == "PartyId":
			typ, _ := r.attr(NSEb, "type")
			id, err := r.text()
			if first {
				p.ID, p.Type, first = id, strings.TrimSpace(typ), false
			} else {
				p.OtherIDs = append(p.OtherIDs, PartyID{ID: id, Type: strings.TrimSpace(typ)})
			}
			return err
		case n.Space == NSEb && n.Local == "Role":
			var err error
			p.Role, err = r.text()
			return err
		default:
			_, err := r.d.Skip()
			return err
		}
	})
}

func (r *envReader) messageHeaderChild(n xmlt.Name) error {
	h := &r.m.Header
	if n.Space != NSEb {
		return r.keep("MessageHeader")
	}
	var err error
	switch n.Local {
	case "From":
		r.count("eb:From")
		err = r.party(&h.From)
	case "To":
		r.count("eb:To")
		err = r.party(&h.To)
	case "CPAId":
		r.count("eb:CPAId")
		h.CPAId, err = r.text()
	case "ConversationId":
		r.count("eb:ConversationId")
		h.ConversationId, err = r.text()
	case "Service":
		r.count("eb:Service")
		h.ServiceType, _ = r.attr(NSEb, "type")
		h.Service, err = r.text()
	case "Action":
		r.count("eb:Action")
		h.Action, err = r.text()
	case "MessageData":
		r.count("eb:MessageData")
		err = r.children(func(n xmlt.Name) error {
			var err error
			switch {
			case n.Space == NSEb && n.Local == "MessageId":
				r.count("eb:MessageId")
				h.MessageId, err = r.text()
			case n.Space == NSEb && n.Local == "Timestamp":
				r.count("eb:Timestamp")
				h.Timestamp, err = r.text()
				h.SentAt = parseTime(h.Timestamp)
			case n.Space == NSEb && n.Local == "RefToMessageId":
				r.count("eb:RefToMessageId")
				h.RefToMessageId, err = r.text()
			case n.Space == NSEb && n.Local == "TimeToLive":
				r.count("eb:TimeToLive")
				h.TimeToLive, err = r.text()
				h.ExpiresAt = parseTime(h.TimeToLive)
			default:
				err = r.keep("MessageData")
			}
			return err
		})
	case "DuplicateElimination":
		r.count("eb:DuplicateElimination")
		h.DuplicateElimination = true
		_, err = r.d.Skip()
	case "Description":
		h.Description, err = r.text()
	default:
		err = r.keep("MessageHeader")
	}
	return err
}

func (r *envReader) bodyChild(n xmlt.Name) error {
	switch {
	case n.Space == NSEb && n.Local == "Manifest":
		r.m.manifests++
		if r.m.manifests > 1 {
			_, err := r.d.Skip()
			return err
		}
		r.m.manifestVersion, _ = r.attr(NSEb, "version")
		return r.children(func(n xmlt.Name) error {
			if n.Space != NSEb || n.Local != "Reference" {
				_, err := r.d.Skip()
				return err
			}
			return r.reference()
		})
	case n.Space == NSSOAP && n.Local == "Fault":
		if r.m.Fault != nil {
			_, err := r.d.Skip()
			return err
		}
		return r.fault()
	default:
		// SOAP:Header comes first, so an ebXML message is known by now:
		// ebMS carries payloads in MIME parts, and an element here is kept
		// as received. Otherwise it is the payload of a sync SOAP message.
		if !r.seenMH && len(r.m.Payload) == 0 && r.m.Fault == nil {
			x, err := r.standalone()
			if err != nil {
				return err
			}
			r.m.Payload = []byte(x)
			return nil
		}
		return r.keep("Body")
	}
}

func (r *envReader) reference() error {
	ref := Reference{}
	ref.Href, _ = r.attr(NSXLink, "href")
	ref.Href = strings.TrimSpace(ref.Href)
	ref.ID, _ = r.attr(NSEb, "id")
	if scheme, rest, ok := strings.Cut(ref.Href, ":"); ok && strings.EqualFold(scheme, "cid") {
		ref.ContentID = stripAngles(rest)
	}
	err := r.children(func(n xmlt.Name) error {
		switch {
		case n.Space == NSEb && n.Local == "Schema":
			ref.SchemaLocation, _ = r.attr(NSEb, "location")
			ref.SchemaVersion, _ = r.attr(NSEb, "version")
		case n.Space == NSEb && n.Local == "Description":
			if ref.Description != "" || ref.DescriptionLang != "" {
				break
			}
			ref.DescriptionLang, _ = r.attr("http://www.w3.org/XML/1998/namespace", "lang")
			d, err := r.text()
			ref.Description = d
			return err
		case n.Local == "Payload" && strings.EqualFold(n.Space, NSHL7ebXML):
			// Seen on the wire with "ebxml" in lower case (a GP2GP sender).
			ref.HL7 = true
			ref.Style, _ = r.attr("", "style")
			ref.Encoding, _ = r.attr("", "encoding")
			ref.PayloadVersion, _ = r.attr("", "version")
		}
		_, err := r.d.Skip()
		return err
	})
	r.m.Manifest = append(r.m.Manifest, ref)
	return err
}

func (r *envReader) fault() error {
	f := &Fault{}
	r.m.Fault = f
	return r.children(func(n xmlt.Name) error {
		var err error
		switch n.Local {
		case "faultcode":
			f.Code, err = r.text()
		case "faultstring":
			f.String, err = r.text()
		case "faultactor":
			f.Actor, err = r.text()
		case "detail":
			start := r.d.TokenStart
			err = r.faultDetail(f)
			if err == nil {
				f.Detail = r.src[start:r.d.Offset()]
			}
		default:
			_, err = r.d.Skip()
		}
		return err
	})
}

// faultDetail finds the Spine's errorList/error elements at any depth under
// detail (the elements are matched by local name: the Spine has used more
// than one namespace for them).
func (r *envReader) faultDetail(f *Fault) error {
	return r.children(func(n xmlt.Name) error {
		if n.Local != "error" {
			return r.faultDetail(f)
		}
		var fe FaultError
		err := r.children(func(n xmlt.Name) error {
			v, err := r.text()
			switch n.Local {
			case "codeContext":
				fe.CodeContext = v
			case "errorCode":
				fe.Code = v
			case "severity":
				fe.Severity = v
			case "location":
				fe.Location = v
			case "description":
				fe.Description = v
			}
			return err
		})
		f.Errors = append(f.Errors, fe)
		return err
	})
}

// standalone returns the element just started, as written, with the
// namespace declarations it inherits from its ancestors added to its start
// tag, so it reads the same on its own.
func (r *envReader) standalone() (string, error) {
	own := map[string]bool{}
	for _, a := range r.d.Attrs {
		if a.Name.Space == xmlt.XMLNS {
			if a.Name.Prefix == "" {
				own[""] = true
			} else {
				own[a.Name.Local] = true
			}
		}
	}
	scope := r.d.InScope()
	start := r.d.TokenStart
	// The start tag's name ends at the first blank, '/' or '>'.
	nameEnd := start + 1
	for nameEnd < len(r.src) && !strings.ContainsRune(" \t\r\n/>", rune(r.src[nameEnd])) {
		nameEnd++
	}
	x, err := r.raw()
	if err != nil {
		return "", err
	}
	var prefixes []string
	for p := range scope {
		if !own[p] {
			prefixes = append(prefixes, p)
		}
	}
	if len(prefixes) == 0 {
		return x, nil
	}
	sort.Strings(prefixes)
	var decl strings.Builder
	for _, p := range prefixes {
		decl.WriteString(" xmlns")
		if p != "" {
			decl.WriteString(":" + p)
		}
		decl.WriteString(`="`)
		decl.Write(xmlt.AppendEscapedAttr(nil, scope[p]))
		decl.WriteString(`"`)
	}
	cut := nameEnd - start
	return x[:cut] + decl.String() + x[cut:], nil
}
