package mhs_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/mhs"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/sqlite"
	"github.com/openeps/openeps/internal/testutil"
)

// postmanBodies are the request bodies of the MHS adaptor's own example
// collection.
func postmanBodies(t testing.TB) []string {
	raw := testutil.ReadFixture(t, "ebxml", "mhs-adaptor", "mhs", "outbound", "MHS_Adaptor_Requests_postman_collection.json")
	var c struct {
		Item []struct {
			Request struct {
				Body struct {
					Raw string `json:"raw"`
				} `json:"body"`
			} `json:"request"`
		} `json:"item"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range c.Item {
		if it.Request.Body.Raw != "" {
			out = append(out, it.Request.Body.Raw)
		}
	}
	return out
}

// TestParseRequestPostman: the adaptor's example requests are read, their
// payloads byte for byte.
func TestParseRequestPostman(t *testing.T) {
	bodies := postmanBodies(t)
	if len(bodies) == 0 {
		t.Fatal("no example bodies")
	}
	for _, b := range bodies {
		var want struct {
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal([]byte(b), &want); err != nil {
			t.Fatal(err)
		}
		h := http.Header{"Content-Type": {"application/json"}, "Interaction-Id": {"PORX_IN020101SM31"}, "Wait-For-Response": {"false"}}
		r, err := mhs.ParseRequest(h, []byte(b), func() string { return "ID" })
		if err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		if string(r.Payload) != want.Payload || r.MessageID != "ID" || r.CorrelationID != "ID" {
			t.Errorf("payload or IDs differ: %+v", r)
		}
	}
}

// FuzzParseRequest: whatever the headers and body, ParseRequest never
// panics, refuses with a 4xx, and what it accepts holds to the API's
// limits with the payload exactly the JSON string's bytes.
func FuzzParseRequest(f *testing.F) {
	for _, b := range postmanBodies(f) {
		f.Add("PORX_IN020101SM31", "false", "application/json", b)
	}
	att := base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff})
	for _, b := range []string{
		`{"payload": "<a/>"}`,
		`{"payload": "<a>é</a>", "attachments": [{"content_type": "text/plain", "is_base64": false, "description": "d", "payload": "p"}]}`,
		`{"payload": "<a/>", "attachments": [{"content_type": "image/png", "is_base64": true, "description": "d", "payload": "` + att + `"}]}`,
		`{"payload": "<a/>", "external_attachments": [{"document_id": "x", "message_id": "y", "description": "d"}]}`,
		`{"payload": "<a/>", "attachments": null}`,
		`{"payload": "\u003ca/\u003e"}`,
		`[]`, `null`, `{"payload": "<a/>"} x`,
	} {
		f.Add("PORX_IN060102SM30", "true", "application/json; charset=utf-8", b)
	}
	f.Add("", "", "", "")
	f.Add("QURX_IN000005UK99", "TRUE", "application/json", `{"payload": "<q/>"}`)
	f.Fuzz(func(t *testing.T, interaction, wait, ctype, body string) {
		h := http.Header{}
		for k, v := range map[string]string{"Interaction-Id": interaction, "Wait-For-Response": wait, "Content-Type": ctype} {
			if v != "" {
				h.Set(k, v)
			}
		}
		r, err := mhs.ParseRequest(h, []byte(body), func() string { return "00000000-0000-4000-8000-000000000000" })
		if err != nil {
			var re *mhs.RequestError
			if !errors.As(err, &re) || re.Status < 400 || re.Status > 499 || re.Msg == "" {
				t.Fatalf("refusal %v is not a 4xx with a reason", err)
			}
			return
		}
		if len(r.Payload) == 0 || !utf8.Valid(r.Payload) || utf8.RuneCount(r.Payload) > mhs.MaxPayloadChars {
			t.Fatalf("accepted payload out of limits (%d bytes)", len(r.Payload))
		}
		var raw struct {
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal([]byte(body), &raw); err != nil || raw.Payload != string(r.Payload) {
			t.Fatalf("the payload is not the JSON string's bytes: %v", err)
		}
		if len(r.Attachments) > 2*mhs.MaxAttachments {
			t.Fatalf("%d attachments", len(r.Attachments))
		}
		if _, ok := mhs.LookupInteraction(r.InteractionID); !ok {
			t.Fatalf("accepted unknown interaction %q", r.InteractionID)
		}
		if r.WaitForResponse && !r.Interaction.SyncAsync {
			t.Fatal("wait-for-response accepted for an interaction without sync-async")
		}
		if strings.ContainsAny(r.MessageID+r.CorrelationID, "\r\n") {
			t.Fatal("a header value with a line break was accepted")
		}
	})
}

// FuzzInbound: whatever arrives at the inbound endpoint, the adaptor
// answers with ebXML that parses (an acknowledgment, an ErrorList) or an
// empty 200 for a signal, never panics, and keeps only what it
// acknowledged.
func FuzzInbound(f *testing.F) {
	for _, dir := range []string{testMessages, inboundMsgs} {
		for _, path := range testutil.Glob(f, dir+"/*.msg") {
			rel := dir + "/" + path[strings.LastIndex(path, "/")+1:]
			raw := testutil.ReadFixture(f, rel)
			f.Add(`multipart/related; boundary="--=_MIME-Boundary"; type="text/xml"; start="<ebXMLHeader@spine.nhs.uk>"`, raw)
		}
	}
	f.Add("text/xml", []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`))
	f.Add("", []byte{})
	st := openStoreFuzz(f)
	a, err := mhs.New(mhs.Config{Store: st, PartyKey: "A91424-9199121", SpineURL: "https://127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	h := a.InboundHandler()
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/reliablemessaging/reliablerequest", bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusInternalServerError:
		default:
			t.Fatalf("HTTP %d", rec.Code)
		}
		if rec.Body.Len() == 0 {
			if rec.Code != http.StatusOK {
				t.Fatal("an error without a body")
			}
			return
		}
		m, err := ebxml.Parse(rec.Header().Get("Content-Type"), rec.Body.Bytes(), ebxml.Limits{})
		if err != nil {
			t.Fatalf("the answer does not parse: %v\n%s", err, rec.Body.Bytes())
		}
		if rec.Code == http.StatusOK && m.Kind != ebxml.KindAck || rec.Code == http.StatusInternalServerError && m.Kind != ebxml.KindErrorList {
			t.Fatalf("HTTP %d with a %v", rec.Code, m.Kind)
		}
	})
}

func openStoreFuzz(f *testing.F) store.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	return st
}

// TestInteractionsMatchAdaptor: the adaptor's own interactions.json agrees
// with the table for every EPS interaction it lists.
func TestInteractionsMatchAdaptor(t *testing.T) {
	raw := testutil.ReadFixture(t, "ebxml", "mhs-adaptor", "mhs", "common", "data", "interactions", "interactions.json")
	var file map[string]struct {
		Service   string `json:"service"`
		Workflow  string `json:"workflow"`
		SyncAsync bool   `json:"sync_async"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	n := 0
	for id, want := range file {
		if want.Service != "urn:nhs:names:services:mm" && want.Service != "urn:nhs:names:services:mmquery" {
			if _, ok := mhs.LookupInteraction(id); ok {
				t.Errorf("%s (%s) is offered, but is not EPS", id, want.Service)
			}
			continue
		}
		n++
		got, ok := mhs.LookupInteraction(id)
		if !ok || got.Service != want.Service || got.Workflow != want.Workflow || got.SyncAsync != want.SyncAsync {
			t.Errorf("%s: %+v, the adaptor's file says %+v", id, got, want)
		}
	}
	if n < 10 {
		t.Fatalf("only %d EPS interactions in the file", n)
	}
	if got, ok := mhs.LookupInteraction("PORX_IN020101SM31"); !ok || got.ID != "PORX_IN020101UK31" {
		t.Errorf("the SM spelling is not taken: %+v", got)
	}
}
