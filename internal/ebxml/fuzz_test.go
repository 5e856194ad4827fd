package ebxml

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/testutil"
)

// seeds returns every fixture file with the Content-Type it is read with.
func seeds(tb testing.TB) [][2][]byte {
	var out [][2][]byte
	for _, dir := range []string{"ebxml", spineResponses} {
		root := testutil.Fixtures(tb, dir)
		filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(testutil.Fixtures(tb), path)
			switch filepath.Ext(path) {
			case ".msg":
				b := fixture(tb, rel)
				out = append(out, [2][]byte{[]byte(multipartCT), b},
					[2][]byte{[]byte(multipartCT + `; type=text/xml; start="<ebXMLHeader@spine.nhs.uk>"`), b})
			case ".xml", ".ebxml":
				out = append(out, [2][]byte{nil, fixture(tb, rel)})
			case ".http":
				f, err := ReadFile(fixture(tb, rel))
				if err == nil {
					out = append(out, [2][]byte{[]byte(f.Header.Get("Content-Type")), f.Body})
				}
			}
			return nil
		})
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(string(s[0]), s[1])
	}
	f.Add(multipartCT, []byte("----=_MIME-Boundary\r\n\r\n----=_MIME-Boundary--"))
	f.Add("text/xml", []byte(`<SOAP:Envelope xmlns:SOAP="`+NSSOAP+`"><SOAP:Body><x/></SOAP:Body></SOAP:Envelope>`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		m, err := Parse(ct, body, Limits{MaxBody: 1 << 20, MaxParts: 20})
		if err != nil {
			e := AsError(err)
			if e == nil {
				t.Fatalf("%T is not an *Error: %v", err, err)
			}
			if e.Code == "" || e.Description() == "" || e.Rule == "" {
				t.Fatalf("incomplete error %+v", e)
			}
		} else if m == nil {
			t.Fatal("no message and no error")
		}
		if m == nil {
			return
		}
		// Whatever was read can be answered and checked.
		now := time.Unix(1e9, 0)
		Ack(m.Header, "ACK", now, "")
		ErrorList(&m.Header, "ERR", now, m.Check(SpineEPS)...)
		CheckSync(m)
		if err != nil || m.Kind != KindRequest {
			return
		}
		// What Build makes of a parsed request parses back to the same
		// payload and attachments.
		ct2, body2, err := Build(m)
		if err != nil {
			return
		}
		m2, err := Parse(ct2, body2, Limits{})
		if err != nil {
			t.Fatalf("our own build does not parse: %v\n%q", err, body2)
		}
		if !bytes.Equal(m2.Payload, m.Payload) || len(m2.Attachments) != len(m.Attachments) {
			t.Fatalf("round trip: payload %q vs %q, %d vs %d attachments", m2.Payload, m.Payload, len(m2.Attachments), len(m.Attachments))
		}
		for i := range m.Attachments {
			if !bytes.Equal(m2.Attachments[i].Body, m.Attachments[i].Body) {
				t.Fatalf("attachment %d changed: %q vs %q", i, m2.Attachments[i].Body, m.Attachments[i].Body)
			}
		}
	})
}

func FuzzReadFile(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s[1])
	}
	for _, p := range testutil.Glob(f, epsClient+"/*.http") {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("HTTP/1.1 202 Accepted\nContent-Location: /_poll/x\nContent-Length: 0\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := ReadFile(b)
		if err != nil {
			return
		}
		if !bytes.Contains(b, file.Body) {
			t.Fatalf("body is not part of the input")
		}
		for name := range file.Header {
			if name == "" || strings.ContainsAny(name, " :\r\n") {
				t.Fatalf("header name %q", name)
			}
		}
		// What inspect does next must not fail badly either.
		if m, err := Parse(file.Header.Get("Content-Type"), file.Body, Limits{MaxBody: 1 << 20, MaxParts: 20}); m == nil && err == nil {
			t.Fatal("no message and no error")
		}
	})
}

// Whatever Build accepts, Parse reads back exactly.
func FuzzBuildParse(f *testing.F) {
	f.Add("PORX_IN020101SM31", "<PORX_IN020101SM31 xmlns=\"urn:hl7-org:v3\"/>", []byte("Some payload"), "Some description", "", "text/plain", false)
	f.Add("QUPA_IN000006UK02", "<a>¬ ❤️ 🧸</a>\r\n", []byte{0, 1, 2, 0xff, '\r'}, "A&E <x>", "a@b", "image/png", true)
	f.Add("X", "<x/>", []byte("\r\n----=_MIME-Boundary\r\n"), " ", "c@d", "text/plain; charset=UTF-8", false)
	f.Fuzz(func(t *testing.T, action, payload string, body []byte, desc, cid, ct string, b64 bool) {
		m := &Message{
			Header: MessageHeader{From: Party{ID: "A"}, To: Party{ID: "B"}, CPAId: "C", ConversationId: "D", Service: ServiceMM,
				Action: action, MessageId: "E", SentAt: time.Unix(1e9, 0), DuplicateElimination: true, AckRequested: true},
			Payload:     []byte(payload),
			Attachments: []Attachment{{ContentID: cid, ContentType: ct, Body: body, Description: desc, IsBase64: b64}},
		}
		ct2, out, err := Build(m)
		if err != nil {
			return
		}
		got, err := Parse(ct2, out, Limits{})
		if err != nil {
			t.Fatalf("Parse of Build's output: %v\n%q", err, out)
		}
		if got.Header.Action != strings.TrimSpace(action) || !bytes.Equal(got.Payload, m.Payload) || len(got.Attachments) != 1 ||
			!bytes.Equal(got.Attachments[0].Body, body) || got.Attachments[0].Description != strings.TrimSpace(desc) ||
			got.Attachments[0].IsBase64 != b64 || (cid != "" && got.Attachments[0].ContentID != cid) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, got)
		}
	})
}
