package mhs_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/mhs"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/testutil"
)

const (
	testMessages = "ebxml/mhs-adaptor/mhs/common/mhs_common/messages/tests/test_messages"
	inboundMsgs  = "ebxml/mhs-adaptor/mhs/inbound/inbound/request/tests/messages"
)

// fixture reads a captured message; a .msg with an .ebxml beside it gets
// the envelope put in its {{ebxml}} placeholder, as the adaptor's tests do.
func fixture(t *testing.T, rel string) []byte {
	t.Helper()
	b := testutil.ReadFixture(t, rel)
	if strings.HasSuffix(rel, ".msg") {
		if eb, err := os.ReadFile(testutil.Fixtures(t, strings.TrimSuffix(rel, ".msg")+".ebxml")); err == nil {
			b = bytes.ReplaceAll(b, []byte("{{ebxml}}"), eb)
		}
	}
	return b
}

// sendInbound posts a captured message to the adaptor's inbound endpoint,
// as the Spine would, and reads the answer.
func sendInbound(t *testing.T, c *http.Client, url string, raw []byte) (int, *ebxml.Message, []byte) {
	t.Helper()
	f, err := ebxml.ReadFile(raw)
	if err != nil {
		// Not even a capture (the adaptor's "no header" defect): sent as it is.
		f = &ebxml.File{Header: http.Header{}, Body: raw}
	}
	ct := f.Header.Get("Content-Type")
	if ct == "" {
		ct = `multipart/related; boundary="--=_MIME-Boundary"; type="text/xml"; start="<ebXMLHeader@spine.nhs.uk>"`
	}
	req, err := http.NewRequest(http.MethodPost, url+"/reliablemessaging/reliablerequest", bytes.NewReader(f.Body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	m, err := ebxml.Parse(resp.Header.Get("Content-Type"), out, ebxml.Limits{})
	if err != nil {
		t.Fatalf("the adaptor's answer does not parse: %v\n%s", err, out)
	}
	return resp.StatusCode, m, out
}

// TestInboundFixtures sends every captured inbound shape — the adaptor's
// test messages (attachments 7bit, 8bit, binary, base64, compressed,
// external, multi-byte text; defects) and its inbound handler's messages
// (unsolicited, unknown RefToMessageId, not for us) — to a real adaptor
// addressed as the capture's eb:To. Each gets a defined answer that parses:
// an acknowledgment, with the message kept exactly as the ebXML reader sees
// it, or an ErrorList, with nothing kept.
func TestInboundFixtures(t *testing.T) {
	p := newPKI(t)
	spineClient := p.client(t, "spine")
	var files []string
	for _, dir := range []string{testMessages, inboundMsgs} {
		files = append(files, testutil.Glob(t, filepath.Join(dir, "*.msg"))...)
	}
	if len(files) < 25 {
		t.Fatalf("only %d fixtures found", len(files))
	}
	refused := map[string]bool{
		// Defects the adaptor's own tests expect to fail.
		"ebxml_request_no_header.msg": true, "ebxml_request_no_payload.msg": true,
		"ebxml_request_invalid_binary_ebxml_header.msg": true, "ebxml_request_invalid_binary_hl7_payload.msg": true,
		"ebxml_request_invalid_application_xml_binary_hl7_payload.msg": true,
		"soap_request_with_defect.msg":                                 true, "ebxml_request_payload_defect.msg": true,
		// Its manifest names an attachment the message does not carry:
		// refused rather than kept without it.
		"ebxml_request_multibyte_character.msg": true,
		// Addressed to NOT_US: answered with 501314, as the adaptor does.
		"ebxml_request_unintended.msg": true,
	}
	kept := 0
	for _, path := range files {
		name := filepath.Base(path)
		rel, _ := filepath.Rel(testutil.Fixtures(t, "."), path)
		raw := fixture(t, rel)
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(path)))+"/"+name, func(t *testing.T) {
			f, err := ebxml.ReadFile(raw)
			if err != nil {
				f = &ebxml.File{Header: http.Header{}, Body: raw}
			}
			want, perr := ebxml.Parse(f.Header.Get("Content-Type"), f.Body, ebxml.Limits{})
			party := "A91424-9199121"
			if want != nil && want.Header.To.ID != "" && name != "ebxml_request_unintended.msg" {
				party = want.Header.To.ID
			}
			if name == "ebxml_request_unintended.msg" {
				party = "FROM_PARTY_ID"
			}
			a := newMHS(t, p, &spineEnv{url: "https://127.0.0.1:1"}, party, nil)
			status, got, _ := sendInbound(t, spineClient, a.inbound, raw)
			inbox := counts(t, a.store).Inbox
			if refused[name] {
				if status != 500 || got.Kind != ebxml.KindErrorList || len(got.Errors()) == 0 {
					t.Fatalf("want an ErrorList, got HTTP %d %v", status, got.Kind)
				}
				if inbox[store.InboxNew] != 0 {
					t.Errorf("a refused message was kept")
				}
				if name == "ebxml_request_unintended.msg" && !strings.HasPrefix(got.Errors()[0].Description(), "501314:") {
					t.Errorf("not-for-us answered %q, want 501314", got.Errors()[0].Description())
				}
				return
			}
			if perr != nil {
				t.Fatalf("the capture does not parse (%v) but was not expected to fail", perr)
			}
			if status != 200 || got.Kind != ebxml.KindAck || !got.Acknowledges(want.Header.MessageId) {
				t.Fatalf("want the acknowledgment of %s, got HTTP %d %v %v", want.Header.MessageId, status, got.Kind, got.Errors())
			}
			msgs := (&mhsEnvView{a}).all(t)
			if len(msgs) != 1 {
				t.Fatalf("%d messages kept", len(msgs))
			}
			m := msgs[0]
			kept++
			if m.Payload != string(want.Payload) || m.EbXML != string(want.Envelope) || m.MessageID != want.Header.MessageId ||
				m.RefToMessageID != want.Header.RefToMessageId || m.Unsolicited != (want.Header.RefToMessageId == "") {
				t.Errorf("kept message differs from the capture: %+v", m)
			}
			var parts, externals int
			for _, wa := range want.Attachments {
				if wa.External {
					x := m.ExternalAttachments[externals]
					externals++
					if x.DocumentID != wa.DocumentID || x.MessageID != wa.MessageID || x.Description != wa.Description {
						t.Errorf("external attachment %+v, want %+v", x, wa)
					}
					continue
				}
				ga := m.Attachments[parts]
				parts++
				body := []byte(ga.Payload)
				if ga.IsBase64 {
					if body, err = base64.StdEncoding.DecodeString(ga.Payload); err != nil {
						t.Fatal(err)
					}
				}
				if !bytes.Equal(body, wa.Body) || ga.ContentType != wa.ContentType || ga.Description != wa.Description {
					t.Errorf("attachment %d: %q (%s) differs from the capture's %q", parts, body, ga.ContentType, wa.Body)
				}
				if wa.Compressed() && !ga.IsBase64 {
					t.Errorf("compressed attachment %d handed over as text", parts)
				}
			}
			if parts != len(m.Attachments) || externals != len(m.ExternalAttachments) {
				t.Errorf("%d+%d attachments kept, the capture has %d", len(m.Attachments), len(m.ExternalAttachments), len(want.Attachments))
			}
			// The same message again: the original acknowledgment, byte
			// for byte, and still one message kept.
			_, _, first := sendInbound(t, spineClient, a.inbound, raw)
			_, _, second := sendInbound(t, spineClient, a.inbound, raw)
			if !bytes.Equal(first, second) {
				t.Errorf("a duplicate got a different acknowledgment")
			}
			if n := len((&mhsEnvView{a}).all(t)); n != 1 {
				t.Errorf("a duplicate was kept again: %d messages", n)
			}
		})
	}
	if kept < 15 {
		t.Errorf("only %d captures were kept", kept)
	}
}

type mhsEnvView struct{ *mhsEnv }

// all reads every inbox message, whatever its state.
func (v *mhsEnvView) all(t *testing.T) []mhs.Message {
	t.Helper()
	msgs := v.inbox(t, 0)
	return msgs
}

// TestMultibyteRoundTrip: an inbound message with multi-byte text in its
// payload and attachments keeps it byte for byte through the inbox's JSON.
func TestMultibyteRoundTrip(t *testing.T) {
	p := newPKI(t)
	a := newMHS(t, p, &spineEnv{url: "https://127.0.0.1:1"}, "A91424-9199121", nil)
	payload := "<MCCI_IN010000UK13 xmlns=\"urn:hl7-org:v3\"><!-- Zoë, ½ tablet, 𝄞, \u00a0, 中文 --></MCCI_IN010000UK13>"
	note := "Grüße aus Köln — ☃\r\nline two\tend"
	id := ids.NewUUID()
	ct, body, err := ebxml.Build(&ebxml.Message{
		Header: ebxml.MessageHeader{From: ebxml.Party{ID: "YES-0000806"}, To: ebxml.Party{ID: "A91424-9199121"},
			CPAId: "S1001A1630", ConversationId: id, Service: ebxml.ServiceMM, Action: "MCCI_IN010000UK13",
			MessageId: id, RefToMessageId: ids.NewUUID(), SentAt: time.Now(), DuplicateElimination: true,
			AckRequested: true, AckActor: ebxml.ActorToPartyMSH, SyncReply: true, SyncReplyActor: ebxml.ActorNext},
		Payload:     []byte(payload),
		Attachments: []ebxml.Attachment{{ContentType: "text/plain; charset=UTF-8", Description: "notes ✓", Body: []byte(note)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, a.inbound+"/reliablemessaging/reliablerequest", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	resp, err := p.client(t, "spine").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	msgs := a.inbox(t, 0)
	if len(msgs) != 1 || msgs[0].Payload != payload {
		t.Fatalf("payload changed in the inbox: %+v", msgs)
	}
	if at := msgs[0].Attachments; len(at) != 1 || at[0].IsBase64 || at[0].Payload != note || at[0].Description != "notes ✓" {
		t.Errorf("attachment changed: %+v", at)
	}
}

// TestInboundWithoutClientCertificate: the inbound endpoint takes nothing
// from a client without a certificate from the CA.
func TestInboundWithoutClientCertificate(t *testing.T) {
	p := newPKI(t)
	a := newMHS(t, p, &spineEnv{url: "https://127.0.0.1:1"}, "A91424-9199121", nil)
	stranger := newPKI(t).client(t, "stranger")
	stranger.Transport.(*http.Transport).TLSClientConfig.RootCAs = p.client(t, "x").Transport.(*http.Transport).TLSClientConfig.RootCAs
	raw := fixture(t, testMessages+"/ebxml_request.msg")
	f, _ := ebxml.ReadFile(raw)
	_, err := stranger.Post(a.inbound+"/", "multipart/related; boundary=\"--=_MIME-Boundary\"", bytes.NewReader(f.Body))
	if err == nil {
		t.Fatal("a client with a certificate from another CA was let in")
	}
	if c := counts(t, a.store); c.Inbox[store.InboxNew] != 0 {
		t.Error("something was kept")
	}
}

// TestCallback: with a callback URL, every inbox message is POSTed there
// until it is accepted; a callback that fails at first gets each message,
// and the inbox marks them delivered once accepted.
func TestCallback(t *testing.T) {
	p := newPKI(t)
	var mu sync.Mutex
	var accepted []mhs.Message
	calls := 0
	cb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var m mhs.Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || r.Header.Get("Message-Id") != m.MessageID {
			t.Errorf("callback body: %v", err)
		}
		accepted = append(accepted, m)
		w.WriteHeader(http.StatusNoContent)
	})
	cbURL := listen(t, cb, nil)
	a := newMHS(t, p, &spineEnv{url: "https://127.0.0.1:1"}, "A91424-9199121", func(c *mhs.Config) { c.CallbackURL = cbURL })
	spineClient := p.client(t, "spine")
	raw := fixture(t, testMessages+"/ebxml_request_one_binary_attachment.msg")
	var ids3 []string
	for range 3 {
		id := ids.NewUUID()
		ids3 = append(ids3, id)
		b := bytes.ReplaceAll(raw, []byte("C614484E-4B10-499A-9ACD-5D645CFACF61"), []byte(id))
		if status, _, _ := sendInbound(t, spineClient, a.inbound, b); status != 200 {
			t.Fatalf("HTTP %d", status)
		}
	}
	eventually(t, 15*time.Second, "three messages accepted by the callback", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted) >= 3
	})
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(accepted) != 3 {
		t.Fatalf("%d messages accepted, want 3", len(accepted))
	}
	for i, m := range accepted {
		if m.MessageID != ids3[i] {
			t.Errorf("callback %d: message %s, want %s (oldest first)", i, m.MessageID, ids3[i])
		}
	}
	if c := counts(t, a.store); c.Inbox[store.InboxDelivered] != 3 || c.Inbox[store.InboxNew] != 0 {
		t.Errorf("inbox states %v", c.Inbox)
	}
}

// TestInboundConcurrentDuplicates: copies of one message arriving at once
// are kept once and all get the same acknowledgment.
func TestInboundConcurrentDuplicates(t *testing.T) {
	p := newPKI(t)
	a := newMHS(t, p, &spineEnv{url: "https://127.0.0.1:1"}, "A91424-9199121", nil)
	raw := fixture(t, testMessages+"/ebxml_request_one_7bit_attachment.msg")
	f, err := ebxml.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	client := p.client(t, "spine")
	const n = 10
	acks := make(chan []byte, n)
	for range n {
		go func() {
			var out []byte
			defer func() { acks <- out }()
			req, _ := http.NewRequest(http.MethodPost, a.inbound+"/reliablemessaging/reliablerequest", bytes.NewReader(f.Body))
			req.Header.Set("Content-Type", `multipart/related; boundary="--=_MIME-Boundary"`)
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			out, _ = io.ReadAll(resp.Body)
		}()
	}
	first := <-acks
	if len(first) == 0 {
		t.Fatal("no acknowledgment")
	}
	for range n - 1 {
		if got := <-acks; !bytes.Equal(got, first) {
			t.Error("a copy got a different acknowledgment")
		}
	}
	if c := counts(t, a.store); c.Inbox[store.InboxNew] != 1 || c.Receipts != 1 {
		t.Errorf("inbox %v, receipts %d", c.Inbox, c.Receipts)
	}
}
