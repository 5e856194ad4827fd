package ebxml

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/testutil"
)

// The MHS adaptor's test header (test_ebxml_request_envelope.py).
func adaptorRequest() *Message {
	return &Message{
		Header: MessageHeader{
			From: Party{ID: "TESTGEN-201324"}, To: Party{ID: "YEA-0000806"},
			CPAId: "S1001A1630", ConversationId: "79F49A34-9798-404C-AEC4-FD38DD81C138",
			Service: "urn:nhs:names:services:pdsquery", Action: "QUPA_IN000006UK02",
			MessageId: "5BB171D4-53B2-4986-90CF-428BE6D157F5", SentAt: time.Date(2012, 3, 15, 6, 51, 8, 0, time.UTC),
			DuplicateElimination: true, AckRequested: true, AckActor: ActorToPartyMSH, SyncReply: true,
		},
		Payload: []byte(`<QUPA_IN000006UK02 xmlns="urn:hl7-org:v3"></QUPA_IN000006UK02>`),
	}
}

// Build gives what the adaptor's builder gives, structurally, for each of
// its expected messages.
func TestBuildMatchesAdaptor(t *testing.T) {
	text := Attachment{ContentID: "8F1D7DE1-02AB-48D7-A797-A947B09F347F@spine.nhs.uk", ContentType: "text/plain",
		Body: []byte("Some payload"), Description: "Some description"}
	png := Attachment{ContentID: "64A73E03-30BD-4231-9959-0C4B54400345@spine.nhs.uk", ContentType: "image/png",
		Body: []byte("Another payload"), IsBase64: true, Description: "Another description"}
	tests := []struct {
		file        string
		attachments []Attachment
	}{
		{"ebxml_request.xml", nil},
		{"ebxml_request_one_attachment.xml", []Attachment{func() Attachment { a := text; a.Description = "Some A&E description"; return a }()}},
		{"ebxml_request_one_attachment_with_document_id.xml", []Attachment{func() Attachment { a := text; a.DocumentID = "_some-document-id"; return a }()}},
		{"ebxml_request_multiple_attachments.xml", []Attachment{text, png}},
		{"ebxml_request_one_external_attachment.xml", []Attachment{ExternalAttachment("8681AF4F-E577-4C8D-A2CE-43CABE3D5FB4",
			"8F1D7DE1-02AB-48D7-A797-A947B09F347F@spine.nhs.uk",
			`Filename="8F1D7DE1-A&E-48D7-A797-A947B09F347F.txt" ContentType=text/plain Compressed=No LargeAttachment=No OriginalBase64=Yes`)}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			m := adaptorRequest()
			m.Attachments = tc.attachments
			ct, body, err := Build(m)
			if err != nil {
				t.Fatal(err)
			}
			// The adaptor's own Content-Type, unquoted.
			const adaptorCT = `multipart/related; boundary="--=_MIME-Boundary"; type=text/xml; start=ebXMLHeader@spine.nhs.uk`
			assertSameMIME(t, adaptorCT, testutil.ReadFixture(t, mhsExpected, tc.file), ct, body)
			wantType, wantParams := parseContentType(adaptorCT)
			gotType, gotParams := parseContentType(ct)
			if wantType != gotType || wantParams["boundary"] != gotParams["boundary"] || wantParams["type"] != gotParams["type"] ||
				stripAngles(wantParams["start"]) != stripAngles(gotParams["start"]) {
				t.Errorf("Content-Type %s, want the equivalent of %s", ct, adaptorCT)
			}
		})
	}
}

// Building a parsed EPS FHIR API request gives back the very bytes it sent.
func TestBuildEPSClientByteExact(t *testing.T) {
	for _, path := range testutil.Glob(t, epsClient+"/*.http") {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			f, _ := capture(t, name)
			m, err := Parse(f.Header.Get("Content-Type"), f.Body, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			ct, body, err := Build(m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, f.Body) {
				i := 0
				for i < len(body) && i < len(f.Body) && body[i] == f.Body[i] {
					i++
				}
				t.Fatalf("body differs at byte %d:\n got %q\nwant %q", i, body[max(0, i-40):min(len(body), i+40)],
					f.Body[max(0, i-40):min(len(f.Body), i+40)])
			}
			if m.Header.SOAPAction() != f.Header.Get("SOAPAction") {
				t.Errorf("SOAPAction %q", m.Header.SOAPAction())
			}
			_, p := parseContentType(ct)
			if p["boundary"] != Boundary || stripAngles(p["start"]) != HeaderContentID {
				t.Errorf("Content-Type %s", ct)
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	for name, change := range map[string]func(*Message){
		"no CPA":               func(m *Message) { m.Header.CPAId = "" },
		"no timestamp":         func(m *Message) { m.Header.SentAt = time.Time{} },
		"no payload":           func(m *Message) { m.Payload = nil },
		"payload not XML":      func(m *Message) { m.Payload = []byte("hello") },
		"payload not UTF-8":    func(m *Message) { m.Payload = []byte("<a>\xff</a>") },
		"control character":    func(m *Message) { m.Header.ConversationId = "a\x01b" },
		"header injection":     func(m *Message) { m.Attachments = []Attachment{{ContentType: "text/plain\r\nX-Evil: 1"}} },
		"bracket in cid":       func(m *Message) { m.Attachments = []Attachment{{ContentID: "a>b"}} },
		"duplicate cid":        func(m *Message) { m.Attachments = []Attachment{{ContentID: "x@y"}, {ContentID: "x@y"}} },
		"external without mid": func(m *Message) { m.Attachments = []Attachment{{External: true}} },
	} {
		t.Run(name, func(t *testing.T) {
			m := adaptorRequest()
			change(m)
			if _, _, err := Build(m); err == nil {
				t.Error("no error")
			}
		})
	}
}

// The acknowledgement is the adaptor's, and names the received message.
func TestAck(t *testing.T) {
	received := MessageHeader{
		From: Party{ID: "YEA-0000806", Type: PartyType}, To: Party{ID: "TESTGEN-201324", Type: PartyType},
		CPAId: "S1001A1630", ConversationId: "79F49A34-9798-404C-AEC4-FD38DD81C138",
		MessageId: "0CDBA95F-74DA-47E9-8383-7B8E9167D146", Timestamp: "2013-04-16T07:52:09Z",
	}
	now := time.Date(2012, 3, 15, 6, 51, 8, 0, time.UTC)
	ct, body := Ack(received, "5BB171D4-53B2-4986-90CF-428BE6D157F5", now, "")
	assertSameXML(t, "ack", testutil.ReadFixture(t, mhsExpected, "ebxml_ack.xml"), body)
	m, err := Parse(ct, body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != KindAck || !m.Acknowledges(received.MessageId) || !m.Ack.AckedAt.Equal(now) || m.Header.To.ID != "YEA-0000806" {
		t.Errorf("%v %+v %+v", m.Kind, m.Ack, m.Header)
	}
	if errs := m.Check(CheckOptions{}); len(errs) != 1 || errs[0].Rule != RuleUnsupportedMessage {
		t.Errorf("an ack checked as a request: %v", errs)
	}
}

// The error list is the Spine's, and the adaptor's with the Spine's extra
// attributes.
func TestErrorList(t *testing.T) {
	received := &MessageHeader{
		From: Party{ID: "RHM-810292", Type: PartyType}, To: Party{ID: "YEA-801248", Type: PartyType},
		CPAId: "S2001919A2011852", ConversationId: "19D02203-3CBE-11E3-9D44-9D223D2F4DB0",
		Service: ServiceMM, Action: "PORX_IN020101SM31",
		MessageId: "19D02203-3CBE-11E3-9D44-9D223D2F4DB0", Timestamp: "2013-10-24T15:08:07",
	}
	unknownCPA := CheckHeader(*received, CheckOptions{KnownCPA: func(MessageHeader) bool { return false }})
	if len(unknownCPA) != 1 || unknownCPA[0].Description() != "501319:Unknown eb:CPAId" {
		t.Fatalf("CheckHeader: %v", unknownCPA)
	}
	now := time.Date(2013, 10, 24, 15, 8, 9, 0, time.UTC)
	ct, body := ErrorList(received, "97111C1C-48B8-B2FA-DE13-B64B2ADEB391", now, unknownCPA...)
	assertSameXML(t, "error list", testutil.ReadFixture(t, mhsTestMessages, "ebxml_response_error_single.xml"), body)

	second := &Error{Code: ValueNotRecognized, SpineCode: "501320", Text: "Unknown something else"}
	_, body2 := ErrorList(received, "97111C1C-48B8-B2FA-DE13-B64B2ADEB391", now, unknownCPA[0], second)
	assertSameXML(t, "error list", testutil.ReadFixture(t, mhsTestMessages, "ebxml_response_error_multiple.xml"), body2)

	// The adaptor's NACK has neither eb:codeContext nor xml:lang.
	toParty := CheckHeader(MessageHeader{From: Party{ID: "YES-0000806", Type: PartyType}, To: Party{ID: "FROM_PARTY_ID", Type: "wrong"},
		CPAId: "S1001A1630", ConversationId: "10F5A436-1913-43F0-9F18-95EA0E43E61A", Service: ServiceMM, Action: "x",
		MessageId: "C614484E-4B10-499A-9ACD-5D645CFACF61", Timestamp: "2019-05-04T20:55:16Z"}, CheckOptions{})
	if len(toParty) != 1 || toParty[0].Rule != RuleToPartyType {
		t.Fatalf("CheckHeader: %v", toParty)
	}
	_, body3 := ErrorList(&MessageHeader{From: Party{ID: "YES-0000806"}, To: Party{ID: "FROM_PARTY_ID"}, CPAId: "S1001A1630",
		ConversationId: "10F5A436-1913-43F0-9F18-95EA0E43E61A", MessageId: "C614484E-4B10-499A-9ACD-5D645CFACF61",
		Timestamp: "2019-05-04T20:55:16Z"}, "5BB171D4-53B2-4986-90CF-428BE6D157F5", now, toParty...)
	assertSameXML(t, "adaptor NACK", testutil.ReadFixture(t, mhsExpected, "ebxml_nack.xml"), body3,
		"{"+NSEb+"}codeContext", "{http://www.w3.org/XML/1998/namespace}lang")

	// Read back: the errors, codes and texts as built.
	m, err := Parse(ct, body2, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	errs := m.Errors()
	if m.Kind != KindErrorList || len(errs) != 2 || errs[1].SpineCode != "501320" || errs[1].Text != "Unknown something else" ||
		errs[0].Code != ValueNotRecognized || m.Header.RefToMessageId != received.MessageId || Retriable(errs[0]) {
		t.Errorf("read back %v %+v %+v", m.Kind, m.Header, errs)
	}

	// No header: the Spine's "Not Known"; no errors: its default.
	_, body4 := ErrorList(nil, "ID", now)
	m4, err := Parse("text/xml", body4, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m4.Header.From.ID != "Not Known" || m4.Header.RefToMessageId != "Not Known" || m4.Header.Timestamp != "2013-10-24T15:08:09Z" ||
		len(m4.Errors()) != 1 || m4.Errors()[0].Description() != "200:System failure to process message" {
		t.Errorf("%+v %+v", m4.Header, m4.Errors())
	}

	// Only warnings: highestSeverity Warning.
	_, body5 := ErrorList(received, "ID", now, &Error{Code: Unknown, Severity: SeverityWarning, Text: "w"})
	if m5, _ := Parse("text/xml", body5, Limits{}); m5 == nil || m5.NACK.HighestSeverity != SeverityWarning {
		t.Errorf("highest severity of warnings: %+v", m5)
	}
}

func TestSOAPFault(t *testing.T) {
	std := FaultError{Code: "200", Severity: "Error", Location: "Not Supported", Description: "System failure to process message - default"}
	_, single := SOAPFault("Server", "Application Exception", std)
	assertSameXML(t, "single", testutil.ReadFixture(t, mhsTestMessages, "soapfault_response_single_error.xml"), single)
	_, multiple := SOAPFault("Server", "Application Exception", std,
		FaultError{Code: "201", Location: "Not Supported", Description: "The message is not well formed"})
	assertSameXML(t, "multiple", testutil.ReadFixture(t, mhsTestMessages, "soapfault_response_multiple_errors.xml"), multiple)
	ct, empty := SOAPFault("", "Application Exception")
	assertSameXML(t, "empty", testutil.ReadFixture(t, mhsTestMessages, "soapfault_response_empty.xml"), empty)
	m, err := Parse(ct, multiple, Limits{})
	if err != nil || m.Kind != KindFault || m.Fault.Retriable() || len(m.Fault.Errors) != 2 {
		t.Errorf("read back: %v %+v", err, m)
	}
	// A client fault without detail is the request's fault: not retried.
	_, client := SOAPFault("Client", "Bad request")
	if m, _ := Parse("text/xml", client, Limits{}); m == nil || m.Fault.Retriable() {
		t.Errorf("client fault retriable")
	}
	// Errors made into a fault keep their Spine codes.
	fe := FaultErrorsOf(notWellFormed("x", "y"), &Error{Text: "z"})
	if fe[0].Code != "201" || fe[1].Code != "200" || fe[0].CodeContext != TMSCodeContext {
		t.Errorf("FaultErrorsOf: %+v", fe)
	}
}

func TestSyncSOAP(t *testing.T) {
	payload := []byte(`<QUPA_IN040000UK32 xmlns="urn:hl7-org:v3" xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:hl7="urn:hl7-org:v3">text</QUPA_IN040000UK32>`)
	req := SOAPHeader{MessageID: "79F49A34-9798-404C-AEC4-FD38DD81C138", Action: "urn:nhs:names:services:pdsquery/QUPA_IN040000UK32",
		To: "https://pds-sync.national.ncrs.nhs.uk/syncservice-pds/pds", ToASID: "000009199092", FromASID: "918999199111"}
	ct, body, err := SyncRequest(req, payload)
	if err != nil {
		t.Fatal(err)
	}
	assertSameXML(t, "sync request", testutil.ReadFixture(t, mhsExpected, "soap_request.xml"), body)
	m, err := Parse(ct, body, Limits{})
	if err != nil || m.Kind != KindSOAP || !bytes.Equal(m.Payload, payload) || len(CheckSync(m)) != 0 {
		t.Fatalf("read back: %v %+v", err, m)
	}

	// The Spine's sync answer, rebuilt from what Parse read of it.
	spine := testutil.ReadFixture(t, spineResponses, "sync_error.xml")
	sm, err := Parse("text/xml", spine, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	request := SOAPHeader{MessageID: sm.SOAP.RelatesTo, Action: "urn:nhs:names:services:mm/PRESCRIPTIONSEARCH_SM01",
		FromASID: "200000001285", ToASID: "None"}
	_, rebuilt, err := SyncResponse(request, SOAPHeader{MessageID: sm.SOAP.MessageID, Action: sm.SOAP.Action, From: sm.SOAP.From}, sm.Payload)
	if err != nil {
		t.Fatal(err)
	}
	assertSameXML(t, "sync response", spine, rebuilt)

	// By default the action is the request's service and the payload's root.
	ack := hl7v3.NewAck(hl7v3.Wrapper{MessageID: "A", Created: time.Unix(0, 0), SenderASID: "1", ReceiverASID: "2"}, "B", "").Encode()
	_, resp, err := SyncResponse(request, SOAPHeader{MessageID: "uuid:C"}, ack)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := Parse("text/xml", resp, Limits{})
	if err != nil || rm.SOAP.Action != "urn:nhs:names:services:mm/MCCI_IN010000UK13" || rm.SOAP.ToASID != "200000001285" ||
		rm.SOAP.RelatesTo != request.MessageID || rm.SOAP.ID() != "C" {
		t.Fatalf("%v %+v", err, rm.SOAP)
	}
	if _, err := hl7v3.Decode(rm.Payload); err != nil {
		t.Errorf("payload read back: %v", err)
	}
}

// epsClientExtract does what the EPS FHIR API's SpineResponseHandler does
// with a 200 body: the regex
// (?=<(hl7:)?ID[^]*>)([^]*)(?<=</(hl7:)?ID>) takes everything from the first
// start tag of the interaction to its last end tag.
func epsClientExtract(body, interaction string) (string, bool) {
	start := -1
	for _, open := range []string{"<" + interaction, "<hl7:" + interaction} {
		if i := strings.Index(body, open); i >= 0 && (start < 0 || i < start) {
			start = i
		}
	}
	end := -1
	for _, closing := range []string{"</" + interaction + ">", "</hl7:" + interaction + ">"} {
		if i := strings.LastIndex(body, closing); i >= 0 && i+len(closing) > end {
			end = i + len(closing)
		}
	}
	if start < 0 || end <= start {
		return "", false
	}
	return body[start:end], true
}

// A synchronous reply carrying the ebXML acknowledgement and the HL7 answer
// is read by us as both, and by the EPS FHIR API client as its answer.
func TestAckWithPayload(t *testing.T) {
	f, _ := capture(t, "patient-release-request-PORX_IN132004SM30.http")
	req, err := Parse(f.Header.Get("Content-Type"), f.Body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 0, 49, 13, 0, time.UTC)
	answer := hl7v3.NewAck(hl7v3.Wrapper{MessageID: "D3B5A1F0-0000-4000-8000-000000000001", Created: now,
		SenderASID: "990422715522", ReceiverASID: "200000001285"}, req.Header.MessageId, hl7v3.AckError, epserr.RejectNotFound).Encode()
	ct, body, err := AckWithPayload(req.Header, "0E0C2C2E-0000-4000-8000-000000000002", now, "YES-0000806", answer)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(ct, body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != KindRequest || !m.Acknowledges(req.Header.MessageId) || m.Header.RefToMessageId != req.Header.MessageId ||
		m.Header.Action != "MCCI_IN010000UK13" || m.Header.ConversationId != req.Header.ConversationId ||
		m.Header.To.ID != "T141D-822234" || m.Header.From.ID != "YES-0000806" || !bytes.Equal(m.Payload, answer) {
		t.Fatalf("%v %+v %+v", m.Kind, m.Header, m.Ack)
	}
	if errs := m.Check(CheckOptions{}); len(errs) != 0 {
		t.Errorf("Check: %v", errs)
	}
	fragment, ok := epsClientExtract(string(body), "MCCI_IN010000UK13")
	if !ok {
		t.Fatal("the EPS FHIR API client finds no MCCI_IN010000UK13 in the body")
	}
	ackMsg, err := hl7v3.Decode([]byte(fragment))
	if err != nil {
		t.Fatalf("the client's extract does not decode: %v", err)
	}
	if r, ok := hl7v3.ReadAck(ackMsg); !ok || r.Type != hl7v3.AckError || r.Ref != req.Header.MessageId || len(r.Errors) != 1 {
		t.Errorf("ack read by the client: %+v", r)
	}
	// Nothing else in the body looks like one of the answers the client
	// looks for first.
	for _, other := range []string{"PORX_IN050101UK31", "PORX_IN110101UK30", "PORX_IN070101UK31", "PORX_IN070103UK31"} {
		if _, ok := epsClientExtract(string(body), other); ok {
			t.Errorf("the body also matches %s", other)
		}
	}
}

// The structural comparison the builder tests rest on does notice a
// difference in a name, an attribute, a text or a child.
func TestXMLDiffNotices(t *testing.T) {
	base := `<a xmlns:p="urn:p" p:x="1"><b>t</b><c/></a>`
	for _, other := range []string{
		`<a xmlns:p="urn:q" p:x="1"><b>t</b><c/></a>`,
		`<a xmlns:p="urn:p" p:x="2"><b>t</b><c/></a>`,
		`<a xmlns:p="urn:p" p:x="1"><b>u</b><c/></a>`,
		`<a xmlns:p="urn:p" p:x="1"><b>t</b></a>`,
		`<a xmlns:p="urn:p" p:x="1"><c/><b>t</b></a>`,
	} {
		if d := xmlDiff(xmlTree(t, []byte(base)), xmlTree(t, []byte(other))); len(d) == 0 {
			t.Errorf("no difference found between %s and %s", base, other)
		}
	}
	if d := xmlDiff(xmlTree(t, []byte(base)), xmlTree(t, []byte(`<a xmlns:z="urn:p" z:x="1">
		<b> t </b><c></c></a>`))); len(d) != 0 {
		t.Errorf("prefixes and layout are not differences: %v", d)
	}
}
