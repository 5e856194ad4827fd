package ebxml

import (
	"bytes"
	"fmt"
	"strings"
)

// SOAPHeader is the WS-Addressing header of a synchronous SOAP message (the
// Spine's sync services: tracker queries, PDS).
type SOAPHeader struct {
	MessageID string // wsa:MessageID as sent, "uuid:" + UUID
	Action    string // wsa:Action, service/interaction (urn:nhs:names:services:mm/QURX_IN000005UK99)
	To        string // wsa:To
	From      string // wsa:From/wsa:Address
	ReplyTo   string // wsa:ReplyTo/wsa:Address
	RelatesTo string // wsa:RelatesTo (on a response: the request's wsa:MessageID)
	ToASID    string // hl7:communicationFunctionRcv/hl7:device/hl7:id[@root=ASIDRoot]/@extension
	FromASID  string // hl7:communicationFunctionSnd/…
}

// ID returns the message ID without its "uuid:" prefix.
func (h SOAPHeader) ID() string {
	id := strings.TrimSpace(h.MessageID)
	if len(id) >= 5 && strings.EqualFold(id[:5], "uuid:") {
		return id[5:]
	}
	return id
}

// Interaction returns the interaction ID at the end of wsa:Action.
func (h SOAPHeader) Interaction() string {
	a := strings.TrimSpace(h.Action)
	return a[strings.LastIndexByte(a, '/')+1:]
}

// CheckSync makes the checks the Spine's sync validators make of a sync
// SOAP header (prescriptionSearchValidation.xsl and friends): wsa:MessageID
// is "uuid:" and a 36-character UUID, wsa:Action is there, wsa:To is not
// empty, and both communicationFunction elements carry an ASID. The Spine
// answers failures with a SOAP fault (see SOAPFault and FaultErrorsOf).
func CheckSync(m *Message) []*Error {
	if m == nil || m.SOAP == nil {
		return []*Error{{Code: OtherXML, SpineCode: TMSNotWellFormed, Rule: RuleNotWellFormed,
			Text: "The message is not well formed - no WS-Addressing header"}}
	}
	h := m.SOAP
	var errs []*Error
	add := func(rule Rule, loc, text string) {
		errs = append(errs, &Error{Code: OtherXML, Rule: rule, Location: loc, Text: text})
	}
	if len(strings.TrimSpace(h.MessageID)) != 41 {
		add(RuleSOAPMessageID, "wsa:MessageID", "wsa:MessageID must be uuid: followed by a UUID")
	}
	if h.Action == "" {
		add(RuleSOAPAction, "wsa:Action", "wsa:Action is missing")
	}
	if h.To == "" {
		add(RuleSOAPTo, "wsa:To", "wsa:To is missing or empty")
	}
	if h.ToASID == "" {
		add(RuleSOAPCommFuncRcv, "hl7:communicationFunctionRcv", "the receiver's ASID is missing")
	}
	if h.FromASID == "" {
		add(RuleSOAPCommFuncSnd, "hl7:communicationFunctionSnd", "the sender's ASID is missing")
	}
	for _, name := range m.Header.repeated {
		if strings.HasPrefix(name, "wsa:") {
			rule := map[string]Rule{"wsa:MessageID": RuleSOAPMessageID, "wsa:Action": RuleSOAPAction, "wsa:To": RuleSOAPTo}[name]
			add(rule, name, name+" appears more than once")
		}
	}
	if len(m.Payload) == 0 {
		add(RuleNoPayload, "SOAP:Body", "SOAP:Body carries no payload")
	}
	return errs
}

// SyncRequest builds a sync SOAP request in the shape of the MHS adaptor's
// soap_request.mustache: h's MessageID (with or without "uuid:"), Action,
// To and the two ASIDs; payload goes into SOAP:Body as given.
func SyncRequest(h SOAPHeader, payload []byte) (contentType string, body []byte, err error) {
	if h.ID() == "" || h.Action == "" || h.To == "" {
		return "", nil, fmt.Errorf("ebxml: sync request needs a message ID, an action and a To address")
	}
	if err := checkPayload(payload); err != nil {
		return "", nil, err
	}
	var w xw
	w.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.s(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="` + NSSOAP + `" xmlns:wsa="` + NSWSA + `" xmlns:hl7="` + NSHL7 + `">` + "\n")
	w.s("\t<SOAP-ENV:Header>\n")
	w.el("\t\t", "wsa:MessageID", "uuid:"+h.ID())
	w.el("\t\t", "wsa:Action", h.Action)
	w.el("\t\t", "wsa:To", h.To)
	w.s("\t\t<wsa:From>\n")
	w.optEl("\t\t\t", "wsa:Address", h.From)
	w.s("\t\t</wsa:From>\n")
	w.commFunc("\t\t", "hl7:communicationFunctionRcv", h.ToASID)
	w.commFunc("\t\t", "hl7:communicationFunctionSnd", h.FromASID)
	w.s("\t\t<wsa:ReplyTo>\n")
	w.optEl("\t\t\t", "wsa:Address", h.ReplyTo)
	w.s("\t\t</wsa:ReplyTo>\n")
	w.s("\t</SOAP-ENV:Header>\n")
	w.s("\t<SOAP-ENV:Body>\n\t\t")
	w.b = append(w.b, stripXMLDecl(payload)...)
	w.s("\n\t</SOAP-ENV:Body>\n</SOAP-ENV:Envelope>\n")
	return "text/xml; charset=UTF-8", w.b, nil
}

// SyncResponse builds the answer to the sync request req, in the shape of
// the Spine's (spine-responses/sync_error.xml). resp gives the answer's
// wsa:MessageID and wsa:From address, and may give wsa:Action (by default
// the request's service with the payload's root element) and the ASIDs (by
// default the request's, swapped); wsa:RelatesTo is the request's
// wsa:MessageID. payload goes into SOAP:Body as given.
func SyncResponse(req, resp SOAPHeader, payload []byte) (contentType string, body []byte, err error) {
	if resp.ID() == "" {
		return "", nil, fmt.Errorf("ebxml: sync response needs a message ID")
	}
	if err := checkPayload(payload); err != nil {
		return "", nil, err
	}
	action := resp.Action
	if action == "" {
		root, err := rootName(payload)
		if err != nil {
			return "", nil, err
		}
		service := ServiceMM
		if i := strings.LastIndexByte(req.Action, '/'); i > 0 {
			service = req.Action[:i]
		}
		action = service + "/" + root
	}
	rcv, snd := resp.ToASID, resp.FromASID
	if rcv == "" {
		rcv = req.FromASID
	}
	if snd == "" {
		snd = req.ToASID
	}
	var w xw
	w.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.s(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="` + NSSOAP + `" xmlns:wsa="` + NSWSA + `" xmlns:hl7="` + NSHL7 + `">` + "\n")
	w.s("  <SOAP-ENV:Header>\n")
	w.el("    ", "wsa:MessageID", "uuid:"+resp.ID())
	w.el("    ", "wsa:Action", action)
	w.optEl("    ", "wsa:To", resp.To)
	w.s("    <wsa:From>\n")
	w.optEl("      ", "wsa:Address", resp.From)
	w.s("    </wsa:From>\n")
	w.spineCommFunc("    ", "hl7:communicationFunctionRcv", "RCV", rcv)
	w.spineCommFunc("    ", "hl7:communicationFunctionSnd", "SND", snd)
	w.el("    ", "wsa:RelatesTo", req.MessageID)
	w.s("  </SOAP-ENV:Header>\n")
	w.s("  <SOAP-ENV:Body>\n")
	w.b = append(w.b, stripXMLDecl(payload)...)
	w.s("\n  </SOAP-ENV:Body>\n</SOAP-ENV:Envelope>\n")
	return "text/xml; charset=UTF-8", w.b, nil
}

// Fault is a SOAP 1.1 fault, with the Spine's error list from its detail.
type Fault struct {
	Code   string // faultcode as sent, e.g. SOAP:Server
	String string // faultstring
	Actor  string // faultactor
	Errors []FaultError
	Detail string // the detail element as sent
}

// FaultError is one error of a Spine SOAP fault's detail.
type FaultError struct {
	CodeContext string // urn:nhs:names:error:tms
	Code        string // "200", "206", …
	Severity    string
	Location    string
	Description string
}

func (f *Fault) Error() string {
	msg := "SOAP fault " + f.Code + ": " + f.String
	for _, e := range f.Errors {
		msg += "; " + e.Code + " " + e.Description
	}
	return msg
}

// retriableTMS are the Spine error codes the MHS adaptor retries.
var retriableTMS = map[string]bool{TMSSystemFailure: true, TMSRoutingDeliveryFailed: true, TMSStorageFailure: true}

// Retriable reports whether the request that drew this fault may be sent
// again: every error in the detail is 200 (system failure), 206 (routing
// delivery failure) or 208 (storage failure), the MHS adaptor's rule. A
// fault without detail is retriable if it is a Server fault (the adaptor
// retries it, vacuously; a Client fault says the request itself is wrong).
func (f *Fault) Retriable() bool {
	if len(f.Errors) == 0 {
		c := f.Code
		if i := strings.IndexByte(c, ':'); i >= 0 {
			c = c[i+1:]
		}
		return c == "Server"
	}
	for _, e := range f.Errors {
		if !retriableTMS[strings.TrimSpace(e.Code)] {
			return false
		}
	}
	return true
}

// FaultErrorsOf turns errors into the entries of a Spine fault detail
// (TMS code context; the Spine code, or 200 where there is none).
func FaultErrorsOf(errs ...*Error) []FaultError {
	out := make([]FaultError, 0, len(errs))
	for _, e := range errs {
		code := e.SpineCode
		if code == "" {
			code = TMSSystemFailure
		}
		loc := e.Location
		if loc == "" {
			loc = "Not Supported"
		}
		out = append(out, FaultError{CodeContext: TMSCodeContext, Code: code, Severity: string(e.severity()),
			Location: loc, Description: e.Text})
	}
	return out
}

// SOAPFault builds a SOAP fault in the Spine's shape
// (soapfault_response_*.xml): faultcode code ("Server" or "Client", or a
// qualified name), faultstring text, and the errors in
// detail/nasp:errorList. Missing code contexts default to the TMS one.
func SOAPFault(code, text string, errs ...FaultError) (contentType string, body []byte) {
	if code == "" {
		code = "Server"
	}
	if !strings.Contains(code, ":") {
		code = "SOAP:" + code
	}
	var w xw
	w.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.s(`<SOAP:Envelope xmlns:SOAP="` + NSSOAP + `" xmlns:SOAP-ENV="` + NSSOAP +
		`" xmlns:crs="http://national.carerecords.nhs.uk/schema/crs/" xmlns:wsa="` + NSWSA + `">` + "\n")
	w.s("  <SOAP:Body>\n    <SOAP:Fault>\n")
	w.el("      ", "faultcode", code)
	w.el("      ", "faultstring", text)
	if len(errs) == 0 {
		w.s("      <detail/>\n")
	} else {
		w.s("      <detail>\n")
		w.s(`        <nasp:errorList xmlns:nasp="` + NSNASP + `">` + "\n")
		for _, e := range errs {
			cc := e.CodeContext
			if cc == "" {
				cc = TMSCodeContext
			}
			sev := e.Severity
			if sev == "" {
				sev = string(SeverityError)
			}
			w.s("          <nasp:error>\n")
			w.el("            ", "nasp:codeContext", cc)
			w.el("            ", "nasp:errorCode", e.Code)
			w.el("            ", "nasp:severity", sev)
			w.el("            ", "nasp:location", e.Location)
			w.el("            ", "nasp:description", e.Description)
			w.s("          </nasp:error>\n")
		}
		w.s("        </nasp:errorList>\n      </detail>\n")
	}
	w.s("    </SOAP:Fault>\n  </SOAP:Body>\n</SOAP:Envelope>\n")
	return "text/xml; charset=UTF-8", w.b
}

// stripXMLDecl drops a leading XML declaration (and BOM) from a document
// about to be embedded in another.
func stripXMLDecl(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	t := bytes.TrimLeft(b, " \t\r\n")
	if bytes.HasPrefix(t, []byte("<?xml")) {
		if i := bytes.Index(t, []byte("?>")); i >= 0 {
			return bytes.TrimLeft(t[i+2:], " \t\r\n")
		}
	}
	return b
}
