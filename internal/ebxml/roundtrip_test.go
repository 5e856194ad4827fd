package ebxml

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

// reporter is what both *testing.T and *rapid.T offer.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// The header fields a request carries on the wire.
var headerFields = cmpopts.IgnoreUnexported(MessageHeader{})

// assertRoundTrip builds m, parses the result and checks that everything
// built comes back: header, payload byte for byte, attachments byte for
// byte.
func assertRoundTrip(t reporter, m *Message) *Message {
	t.Helper()
	ct, body, err := Build(m)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	got, err := Parse(ct, body, Limits{})
	if err != nil {
		t.Fatalf("Parse of Build's output: %v\n%s", err, body)
	}
	want := m.Header
	if want.Timestamp == "" {
		want.Timestamp = formatTime(want.SentAt)
	}
	want.SentAt = parseTime(want.Timestamp)
	if want.TimeToLive == "" && !want.ExpiresAt.IsZero() {
		want.TimeToLive = formatTime(want.ExpiresAt)
	}
	want.Version = "2.0"
	if want.From.Type == "" {
		want.From.Type = PartyType
	}
	if want.To.Type == "" {
		want.To.Type = PartyType
	}
	if want.AckRequested {
		want.AckVersion = "2.0"
		if want.AckActor == "" {
			want.AckActor = ActorToPartyMSH
		}
	}
	if want.SyncReply {
		want.SyncReplyVersion = "2.0"
		if want.SyncReplyActor == "" {
			want.SyncReplyActor = ActorNext
		}
	}
	if d := cmp.Diff(want, got.Header, headerFields, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("header (-built +parsed):\n%s", d)
	}
	if got.Kind != KindRequest || !bytes.Equal(got.Payload, m.Payload) {
		t.Errorf("kind %v, payload %q, want %q", got.Kind, got.Payload, m.Payload)
	}
	if len(got.Attachments) != len(m.Attachments) {
		t.Fatalf("%d attachments, want %d", len(got.Attachments), len(m.Attachments))
	}
	for i, a := range m.Attachments {
		g := got.Attachments[i]
		if !bytes.Equal(g.Body, a.Body) || g.External != a.External || g.Description != strings.TrimSpace(a.Description) ||
			g.DocumentID != a.DocumentID || g.MessageID != a.MessageID || (a.ContentID != "" && g.ContentID != a.ContentID) ||
			(a.ContentType != "" && g.ContentType != a.ContentType) || g.IsBase64 != a.IsBase64 {
			t.Errorf("attachment %d:\n got %+v\nwant %+v", i, g, a)
		}
	}
	if len(got.Warnings) != 0 {
		t.Errorf("warnings on our own output: %q", got.Warnings)
	}
	if errs := got.Check(CheckOptions{Contract: ContractReliable}); m.Header.DuplicateElimination && m.Header.AckRequested &&
		m.Header.SyncReply && len(errs) != 0 && errs[0].Rule != RuleActionPayload {
		t.Errorf("Check of our own request: %v", errs)
	}
	return got
}

func TestRoundTrip(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	m := adaptorRequest()
	m.Header.RefToMessageId = "F106022D-758B-49A9-A80A-8FF211C32A43"
	m.Header.ExpiresAt = time.Date(2012, 3, 15, 12, 0, 0, 0, time.UTC)
	m.Header.From.Role = "urn:nhs:names:role:sender"
	m.Header.Description = "Ünïcödé & <markup>"
	m.Payload = []byte("<?xml version=\"1.0\"?>\r\n<QUPA_IN000006UK02 xmlns=\"urn:hl7-org:v3\">¬ ❤️ 🧸\r\n\tline &amp; more\r\n</QUPA_IN000006UK02>\r\n")
	m.Attachments = []Attachment{
		{ContentType: "application/octet-stream", Body: all, Description: "every byte, sent binary"},
		{ContentType: "image/png", Body: all, IsBase64: true, Description: "every byte, sent base64", DocumentID: "_doc-1"},
		{ContentType: "text/plain; charset=UTF-8", Body: []byte("ends with a bare CR\r"), Description: "CR"},
		{ContentType: "text/plain", Body: []byte("\r\nstarts and ends with CRLF\r\n"), Description: "CRLF"},
		{ContentType: "text/plain", Body: []byte("ends with LF\n\n"), Description: "LF"},
		{ContentType: "text/plain", Body: []byte(""), Description: "empty"},
		{ContentType: "text/plain", Body: bytes.Repeat([]byte("x"), 100000), IsBase64: true, Description: "long base64"},
		{ContentType: "text/plain", TransferEncoding: "7bit", Body: []byte("seven bit"), Description: "7bit"},
		ExternalAttachment("8681AF4F-E577-4C8D-A2CE-43CABE3D5FB4", "8F1D7DE1@spine.nhs.uk", `Filename="a b.txt" Compressed=No`),
	}
	got := assertRoundTrip(t, m)
	if got.Attachments[8].Title != "a b.txt" || got.Attachments[7].TransferEncoding != "7bit" || got.Attachments[0].TransferEncoding != "binary" {
		t.Errorf("attachments %+v", got.Attachments)
	}
	if p, b64 := got.Attachments[0].AdaptorPayload(); b64 != true || p == "" {
		t.Errorf("binary attachment as text for the adaptor")
	}
}

// A part that holds the NHS boundary on a line of its own makes Build pick
// another boundary, and the part still comes back exactly.
func TestRoundTripBoundaryInContent(t *testing.T) {
	m := adaptorRequest()
	evil := []byte("before\r\n----=_MIME-Boundary\r\nContent-Id: <ebXMLHeader@spine.nhs.uk>\r\n\r\n<x/>\r\n----=_MIME-Boundary--\r\nafter")
	m.Attachments = []Attachment{{ContentType: "text/plain", Body: evil, Description: "boundary inside"}}
	ct, body, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, p := parseContentType(ct); p["boundary"] == Boundary {
		t.Fatalf("boundary not changed: %s", ct)
	}
	_ = body
	assertRoundTrip(t, m)
}

func TestRoundTripAdaptorAttachments(t *testing.T) {
	a, err := AdaptorAttachment("image/png", true, "Another description", "QW5vdGhlciBwYXlsb2Fk")
	if err != nil || string(a.Body) != "Another payload" {
		t.Fatalf("%v %q", err, a.Body)
	}
	if _, err := AdaptorAttachment("image/png", true, "x", "not base64!"); err == nil {
		t.Error("bad base64 accepted")
	}
	b, _ := AdaptorAttachment("text/plain", false, "Some description", "Some payload")
	m := adaptorRequest()
	m.Attachments = []Attachment{a, b}
	got := assertRoundTrip(t, m)
	for i, want := range []struct {
		payload string
		b64     bool
	}{{"QW5vdGhlciBwYXlsb2Fk", true}, {"Some payload", false}} {
		if p, b64 := got.Attachments[i].AdaptorPayload(); p != want.payload || b64 != want.b64 {
			t.Errorf("attachment %d to the adaptor: %q %v", i, p, b64)
		}
	}
}

// Any header, payload and attachments Build accepts come back from Parse.
func TestRoundTripProperty(t *testing.T) {
	text := rapid.StringMatching(`[A-Za-z0-9 &<>"'ü❤️\-:./]{1,30}`)
	id := rapid.StringMatching(`[A-Z0-9][A-Z0-9\-]{0,35}`)
	rapid.Check(t, func(rt *rapid.T) {
		h := MessageHeader{
			From: Party{ID: id.Draw(rt, "from")}, To: Party{ID: id.Draw(rt, "to")},
			CPAId: id.Draw(rt, "cpa"), ConversationId: id.Draw(rt, "conv"), Service: text.Draw(rt, "service"),
			Action: id.Draw(rt, "action"), MessageId: id.Draw(rt, "msgid"),
			SentAt:               time.Unix(rapid.Int64Range(0, 4e9).Draw(rt, "sent"), 0).UTC(),
			RefToMessageId:       rapid.SampledFrom([]string{"", "REF-1"}).Draw(rt, "ref"),
			DuplicateElimination: rapid.Bool().Draw(rt, "dup"), AckRequested: rapid.Bool().Draw(rt, "ack"),
			SyncReply: rapid.Bool().Draw(rt, "sync"),
		}
		h.Service = strings.TrimSpace(h.Service)
		if h.Service == "" {
			h.Service = ServiceMM
		}
		payload := fmt.Sprintf("<P xmlns=\"urn:hl7-org:v3\">%s</P>%s", escape(rapid.String().Draw(rt, "text")),
			rapid.SampledFrom([]string{"", "\n", "\r\n", "\r"}).Draw(rt, "tail"))
		m := &Message{Header: h, Payload: []byte(payload)}
		n := rapid.IntRange(0, 4).Draw(rt, "n")
		for i := 0; i < n; i++ {
			m.Attachments = append(m.Attachments, Attachment{
				ContentType: rapid.SampledFrom([]string{"text/plain", "application/pdf", "image/png"}).Draw(rt, "ct"),
				Body:        rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(rt, "body"),
				IsBase64:    rapid.Bool().Draw(rt, "b64"),
				Description: strings.TrimSpace(text.Draw(rt, "desc")),
			})
		}
		assertRoundTrip(rt, m)
	})
}

func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == 0xFFFD || r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF:
			b.WriteString("?")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
