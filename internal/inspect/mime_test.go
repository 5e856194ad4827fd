package inspect

import (
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/testutil"
)

// An EPS FHIR API capture (request line, headers, MIME body) gives its
// transport fields and, from the HL7 payload, the prescription's.
func TestMimeCapture(t *testing.T) {
	b := testutil.ReadFixture(t, "ebxml", "eps-fhir-api-client", "parent-prescription-PORX_IN020101SM31.http")
	r := Bytes(b)
	if r.Error != "" {
		t.Fatalf("error: %s", r.Error)
	}
	if r.EbxmlMessageID != "6E26932C-37FE-47FB-A030-1A7E1A995662" || r.Action != "PORX_IN020101SM31" ||
		r.From != "T141D-822234" || r.To != "YES-0000806" || r.Attachments != 0 {
		t.Errorf("transport fields %+v", r)
	}
	if r.Interaction != "PORX_IN020101SM31" || r.MessageID != "4BBC97C0-F16D-4D82-85C8-C3CC62F8BD78" || r.PrescriptionID == "" ||
		r.NHSNumber == "" || len(r.LineItems) == 0 {
		t.Errorf("payload fields %+v", r)
	}
}

// A bare MIME body (the MHS adaptor's test messages) with attachments, and
// a defective one: the transport error is reported, the header still read.
func TestMimeBareBody(t *testing.T) {
	dir := []string{"ebxml", "mhs-adaptor", "mhs", "inbound", "inbound", "request", "tests", "messages"}
	r := Bytes(testutil.ReadFixture(t, append(dir, "ebxml_unknown_ref_to.msg")...))
	if r.Action != "MCCI_IN010000UK13" || r.Attachments != 1 || r.EbxmlMessageID != "C614484E-4B10-499A-9ACD-5D645CFACF61" ||
		r.From != "YES-0000806" || r.To != "FROM_PARTY_ID" {
		t.Errorf("%+v", r)
	}
	// Its payload is an empty acknowledgement: the HL7 decoder says so.
	if r.Interaction != "MCCI_IN010000UK13" || !strings.Contains(r.Error, "is required") {
		t.Errorf("payload: %q %q", r.Interaction, r.Error)
	}
	msgs := []string{"ebxml", "mhs-adaptor", "mhs", "common", "mhs_common", "messages", "tests", "test_messages"}
	r = Bytes(testutil.ReadFixture(t, append(msgs, "ebxml_request_invalid_binary_hl7_payload.msg")...))
	if !strings.Contains(r.Error, "image/png") || r.Action != "MCCI_IN010000UK13" {
		t.Errorf("%+v", r)
	}
	r = Bytes(testutil.ReadFixture(t, append(msgs, "ebxml_request_no_header.msg")...))
	if !strings.HasPrefix(r.Error, "not an ebXML message") {
		t.Errorf("%+v", r)
	}
}
