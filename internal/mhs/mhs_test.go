package mhs_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/dispense"
	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/mhs"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/store"
)

// prescription builds a fresh parent prescription nominated to ods.
func prescription(t *testing.T, ods string) (prescribe.Prescription, []byte) {
	t.Helper()
	p := prescribe.Example(time.Now().UTC().Add(-time.Minute), ods)
	b, err := prescribe.Build(&p)
	if err != nil {
		t.Fatal(err)
	}
	return p, b
}

func body(payload []byte) map[string]any { return map[string]any{"payload": string(payload)} }

func ackOf(t *testing.T, payload []byte) hl7v3.AckResult {
	t.Helper()
	m, err := hl7v3.Decode(payload)
	if err != nil {
		t.Fatalf("the answer does not decode: %v\n%s", err, payload)
	}
	a, ok := hl7v3.ReadAck(m)
	if !ok {
		t.Fatalf("the answer is a %s, not an acknowledgement", m.Root)
	}
	return a
}

// TestWaitForResponse: a prescribing system sends a prescription with
// wait-for-response and gets the Spine's HL7 acknowledgement back on its
// call, as from the NHS adaptor; the answer came as an async message from
// the Spine's delivery worker to the adaptor's inbound endpoint, over
// mutual TLS both ways.
func TestWaitForResponse(t *testing.T) {
	p := newPKI(t)
	sp := newSpine(t, p, spineOptions{})
	gp := newMHS(t, p, sp, "A83008-0000001", nil)
	_, rx := prescription(t, "FA565")
	msgID, corr := ids.NewUUID(), ids.NewUUID()
	resp, out := gp.post(t, "PORX_IN020101SM31", true, map[string]string{"Message-Id": msgID, "Correlation-Id": corr}, body(rx))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, out)
	}
	if resp.Header.Get("Message-Id") != msgID || resp.Header.Get("Correlation-Id") != corr ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		t.Errorf("headers %v", resp.Header)
	}
	if a := ackOf(t, out); a.Type != "AA" {
		t.Errorf("HL7 answer %s %v, want AA", a.Type, a.Errors)
	}
	// The answer was handed to the caller: the inbox does not offer it
	// again, but keeps it, delivered.
	if msgs := gp.inbox(t, 0); len(msgs) != 0 {
		t.Errorf("the inbox offers %d messages after a waited call", len(msgs))
	}
	eventually(t, 5*time.Second, "the answer is kept as delivered", func() bool {
		return counts(t, gp.store).Inbox[store.InboxDelivered] == 1
	})
	eventually(t, 5*time.Second, "the Spine's outbox item is done", func() bool {
		return counts(t, sp.store).Outbox[store.OutboxDone] == 1
	})
}

// TestAsyncThenInbox: without waiting, the client gets 202 once the Spine
// acknowledged the message, then takes the answer from the inbox (long
// poll), acknowledges it, and it is not offered again.
func TestAsyncThenInbox(t *testing.T) {
	p := newPKI(t)
	sp := newSpine(t, p, spineOptions{})
	gp := newMHS(t, p, sp, "A83008-0000001", nil)
	_, rx := prescription(t, "FA565")
	msgID := ids.NewUUID()
	resp, out := gp.post(t, "PORX_IN020101SM31", false, map[string]string{"Message-Id": msgID}, body(rx))
	if resp.StatusCode != http.StatusAccepted || len(out) != 0 {
		t.Fatalf("HTTP %d %q, want 202 and no body", resp.StatusCode, out)
	}
	msgs := gp.inbox(t, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the inbox", len(msgs))
	}
	m := msgs[0]
	if m.RefToMessageID != msgID || m.InteractionID != "MCCI_IN010000UK13" || m.FromPartyID != "YES-0000806" ||
		m.Unsolicited || !strings.Contains(m.EbXML, msgID) {
		t.Errorf("message %+v", m)
	}
	if a := ackOf(t, []byte(m.Payload)); a.Type != "AA" {
		t.Errorf("HL7 answer %s", a.Type)
	}
	gp.ack(t, m.Seq)
	gp.ack(t, m.Seq) // twice is fine
	if msgs := gp.inbox(t, 0); len(msgs) != 0 {
		t.Errorf("acknowledged message offered again: %d", len(msgs))
	}
	resp2, err := http.Get(gp.client + "/inbox/" + itoa(m.Seq))
	if err != nil {
		t.Fatal(err)
	}
	var again mhs.Message
	_ = json.NewDecoder(resp2.Body).Decode(&again)
	resp2.Body.Close()
	if again.Payload != m.Payload || again.State != "delivered" {
		t.Errorf("GET /inbox/{seq}: %+v", again)
	}
}

// TestNominatedReleaseAndDispense: the dispenser's side of the journey
// through its own adaptor.
func TestNominatedReleaseAndDispense(t *testing.T) {
	p := newPKI(t)
	sp := newSpine(t, p, spineOptions{})
	gp := newMHS(t, p, sp, "A83008-0000001", nil)
	pharmacy := newMHS(t, p, sp, "FA565-0000001", nil)
	d := dispense.Example()
	rxp, rx := prescription(t, d.ODS)
	if resp, out := gp.post(t, "PORX_IN020101SM31", true, nil, body(rx)); resp.StatusCode != 200 || ackOf(t, out).Type != "AA" {
		t.Fatalf("prescription: HTTP %d %s", resp.StatusCode, out)
	}
	req, err := dispense.NominatedRelease(d, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	if resp, out := pharmacy.post(t, "PORX_IN060102SM30", false, nil, body(req)); resp.StatusCode != 202 {
		t.Fatalf("release request: HTTP %d %s", resp.StatusCode, out)
	}
	msgs := pharmacy.inbox(t, 10*time.Second)
	if len(msgs) != 1 || msgs[0].InteractionID != "PORX_IN070101UK31" {
		t.Fatalf("inbox: %+v", msgs)
	}
	rel, err := dispense.ReadRelease([]byte(msgs[0].Payload))
	if err != nil || len(rel) != 1 || rel[0].PrescriptionID != rxp.ShortID {
		t.Fatalf("release: %v %+v", err, rel)
	}
	pharmacy.ack(t, msgs[0].Seq)
	dn, err := dispense.Notification(d, rel[0], dispense.FullSupplies(rel[0]), time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	resp, out := pharmacy.post(t, "PORX_IN080101SM31", true, nil, body(dn))
	if resp.StatusCode != 200 {
		t.Fatalf("dispense notification: HTTP %d %s", resp.StatusCode, out)
	}
	if a := ackOf(t, out); a.Type != "AA" {
		t.Fatalf("dispense notification answered %s %v", a.Type, a.Errors)
	}
	v, err := sp.svc.Prescription(context.Background(), rxp.ShortID)
	if err != nil || v.Status != "0006" {
		t.Errorf("record after the notification: %v %s", err, v.Status)
	}
}

// TestSyncAnswerFromUnknownSender: a Spine with no directory entry for the
// adaptor answers on the connection; the adaptor keeps the answer and
// hands it over like an async one.
func TestSyncAnswerFromUnknownSender(t *testing.T) {
	p := newPKI(t)
	sp := newSpine(t, p, spineOptions{noDirectory: true})
	gp := newMHS(t, p, sp, "A83008-0000001", nil)
	_, rx := prescription(t, "FA565")
	resp, out := gp.post(t, "PORX_IN020101SM31", true, nil, body(rx))
	if resp.StatusCode != 200 || ackOf(t, out).Type != "AA" {
		t.Fatalf("HTTP %d %s", resp.StatusCode, out)
	}
	_, rx2 := prescription(t, "FA565")
	resp, _ = gp.post(t, "PORX_IN020101SM31", false, nil, body(rx2))
	if resp.StatusCode != 202 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	if msgs := gp.inbox(t, 5*time.Second); len(msgs) != 1 || ackOf(t, []byte(msgs[0].Payload)).Type != "AA" {
		t.Fatalf("the answer that came on the connection is not in the inbox: %+v", msgs)
	}
}

// TestSpineRefusal: an ebXML ErrorList from the Spine is the client's 500
// with the Spine's code, sent once (never retried).
func TestSpineRefusal(t *testing.T) {
	p := newPKI(t)
	var posts atomic.Int32
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		body, _ := io.ReadAll(r.Body)
		m, _ := ebxml.Parse(r.Header.Get("Content-Type"), body, ebxml.Limits{})
		var h *ebxml.MessageHeader
		if m != nil {
			h = &m.Header
		}
		ct, out := ebxml.ErrorList(h, ids.NewUUID(), time.Now(), &ebxml.Error{Code: ebxml.ValueNotRecognized,
			SpineCode: ebxml.SpineUnknownCPAId, Text: "Unknown eb:CPAId"})
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(500)
		_, _ = w.Write(out)
	})
	url := listen(t, refuse, p.server(t, "spine"))
	gp := newMHS(t, p, &spineEnv{url: url}, "A83008-0000001", nil)
	_, rx := prescription(t, "FA565")
	resp, out := gp.post(t, "PORX_IN020101SM31", false, nil, body(rx))
	if resp.StatusCode != 500 || !strings.Contains(string(out), "501319:Unknown eb:CPAId") {
		t.Errorf("HTTP %d %q", resp.StatusCode, out)
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("a refused message was sent %d times", n)
	}
}

// TestRetriesUntilSpineAnswers: a Spine unreachable, then answering with a
// retriable SOAP fault, then acknowledging: the client gets 202, and the
// Spine saw the same message ID every time.
func TestRetriesUntilSpineAnswers(t *testing.T) {
	p := newPKI(t)
	var mu sync.Mutex
	var seen []string
	n := 0
	flaky := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m, err := ebxml.Parse(r.Header.Get("Content-Type"), body, ebxml.Limits{})
		if err != nil {
			t.Errorf("the adaptor sent unreadable ebXML: %v", err)
			return
		}
		mu.Lock()
		n++
		seen = append(seen, m.Header.MessageId)
		attempt := n
		mu.Unlock()
		if attempt == 1 {
			ct, out := ebxml.SOAPFault("Server", "System failure", ebxml.FaultError{Code: "208", Description: "storage"})
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(500)
			_, _ = w.Write(out)
			return
		}
		ct, out := ebxml.Ack(m.Header, ids.NewUUID(), time.Now(), "YES-0000806")
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(202)
		_, _ = w.Write(out)
	})
	url := listen(t, flaky, p.server(t, "spine"))
	gp := newMHS(t, p, &spineEnv{url: url}, "A83008-0000001", nil)
	_, rx := prescription(t, "FA565")
	id := ids.NewUUID()
	resp, out := gp.post(t, "PORX_IN020101SM31", false, map[string]string{"Message-Id": id}, body(rx))
	if resp.StatusCode != 202 {
		t.Fatalf("HTTP %d %s", resp.StatusCode, out)
	}
	if len(seen) != 2 || seen[0] != id || seen[1] != id {
		t.Errorf("attempts carried IDs %v, want %s twice", seen, id)
	}
}

// TestRequestErrors: the adaptor's status codes for bad requests.
func TestRequestErrors(t *testing.T) {
	p := newPKI(t)
	gp := newMHS(t, p, &spineEnv{url: "https://127.0.0.1:1"}, "A83008-0000001", nil)
	good := `{"payload": "<PORX_IN020101SM31 xmlns=\"urn:hl7-org:v3\"/>"}`
	long := strings.Repeat("d", 101)
	for name, c := range map[string]struct {
		interaction string
		wait        string
		ctype       string
		body        string
		status      int
	}{
		"no Interaction-Id":       {"", "false", "application/json", good, 404},
		"unknown interaction":     {"QUPA_IN040000UK32", "false", "application/json", good, 404},
		"no wait-for-response":    {"PORX_IN020101SM31", "", "application/json", good, 400},
		"bad wait-for-response":   {"PORX_IN020101SM31", "maybe", "application/json", good, 400},
		"sync with wait":          {"QURX_IN000005UK99", "true", "application/json", good, 400},
		"not JSON content type":   {"PORX_IN020101SM31", "false", "text/xml", good, 415},
		"no content type":         {"PORX_IN020101SM31", "false", "", good, 400},
		"empty body":              {"PORX_IN020101SM31", "false", "application/json", "", 400},
		"not JSON":                {"PORX_IN020101SM31", "false", "application/json", "{", 400},
		"no payload":              {"PORX_IN020101SM31", "false", "application/json", `{}`, 400},
		"empty payload":           {"PORX_IN020101SM31", "false", "application/json", `{"payload": ""}`, 400},
		"payload not a string":    {"PORX_IN020101SM31", "false", "application/json", `{"payload": 1}`, 400},
		"unknown field":           {"PORX_IN020101SM31", "false", "application/json", `{"payload": "<a/>", "x": 1}`, 400},
		"payload not XML":         {"PORX_IN020101SM31", "false", "application/json", `{"payload": "hello"}`, 400},
		"bad attachment type":     {"PORX_IN020101SM31", "false", "application/json", `{"payload": "<a/>", "attachments": [{"content_type": "text/evil", "is_base64": false, "description": "d", "payload": "p"}]}`, 400},
		"attachment no is_base64": {"PORX_IN020101SM31", "false", "application/json", `{"payload": "<a/>", "attachments": [{"content_type": "text/plain", "description": "d", "payload": "p"}]}`, 400},
		"long description":        {"PORX_IN020101SM31", "false", "application/json", `{"payload": "<a/>", "attachments": [{"content_type": "text/plain", "is_base64": false, "description": "` + long + `", "payload": "p"}]}`, 400},
		"bad base64":              {"PORX_IN020101SM31", "false", "application/json", `{"payload": "<a/>", "attachments": [{"content_type": "image/png", "is_base64": true, "description": "d", "payload": "!!!"}]}`, 400},
		"external no message id":  {"PORX_IN020101SM31", "false", "application/json", `{"payload": "<a/>", "external_attachments": [{"document_id": "x", "description": "d"}]}`, 400},
		"trailing data":           {"PORX_IN020101SM31", "false", "application/json", good + `{}`, 400},
	} {
		hdr := map[string]string{"Content-Type": c.ctype, "wait-for-response": c.wait}
		if c.ctype == "" {
			hdr["Content-Type"] = ""
		}
		resp, out := gp.post(t, c.interaction, false, hdr, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: HTTP %d %q, want %d", name, resp.StatusCode, out, c.status)
		}
		if len(out) == 0 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: no text/plain reason", name)
		}
	}
	// The Spine cannot be reached: 500 with the reason, after the retries.
	resp, out := gp.post(t, "PORX_IN020101SM31", false, nil, good)
	if resp.StatusCode != 500 || !strings.Contains(string(out), "outbound request") {
		t.Errorf("unreachable Spine: HTTP %d %q", resp.StatusCode, out)
	}
	// A body over the cap: 413, read no further.
	big := `{"payload": "<a>` + strings.Repeat("x", mhs.MaxRequestBody) + `</a>"}`
	if resp, out := gp.post(t, "PORX_IN020101SM31", false, nil, big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: HTTP %d %.100s", resp.StatusCode, out)
	}
	// Healthcheck.
	hc, err := http.Get(gp.client + "/healthcheck")
	if err != nil || hc.StatusCode != 200 {
		t.Errorf("healthcheck: %v %v", err, hc)
	}
}

// TestAttachmentsReachTheSpineIntact: attachments in the adaptor's JSON
// form (text, base64 binary, external) go into the ebXML message as the
// receiving end reads them back, byte for byte.
func TestAttachmentsReachTheSpineIntact(t *testing.T) {
	p := newPKI(t)
	got := make(chan *ebxml.Message, 1)
	spineStub := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m, err := ebxml.Parse(r.Header.Get("Content-Type"), b, ebxml.Limits{})
		if err != nil {
			t.Errorf("parse: %v", err)
			w.WriteHeader(500)
			return
		}
		got <- m
		ct, out := ebxml.Ack(m.Header, ids.NewUUID(), time.Now(), "YES-0000806")
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(202)
		_, _ = w.Write(out)
	})
	url := listen(t, spineStub, p.server(t, "spine"))
	gp := newMHS(t, p, &spineEnv{url: url}, "A83008-0000001", nil)
	binary := []byte{0x89, 'P', 'N', 'G', 0, 0xff, 0xfe, 0x1f, 0x8b}
	text := "Grüße — ½ tablet, ☃ 𝄞"
	payload := `<PORX_IN020101SM31 xmlns="urn:hl7-org:v3"><!-- café ✓ --></PORX_IN020101SM31>`
	req := map[string]any{
		"payload": payload,
		"attachments": []map[string]any{
			{"content_type": "text/plain", "is_base64": false, "description": "notes é", "payload": text},
			{"content_type": "image/png", "is_base64": true, "description": "scan", "payload": base64.StdEncoding.EncodeToString(binary)},
		},
		"external_attachments": []map[string]any{{"document_id": "_DOC1", "message_id": "B0C3E1D4-0000-4000-8000-000000000001", "description": "big file"}},
	}
	resp, out := gp.post(t, "PORX_IN020101SM31", false, nil, req)
	if resp.StatusCode != 202 {
		t.Fatalf("HTTP %d %s", resp.StatusCode, out)
	}
	m := <-got
	if string(m.Payload) != payload {
		t.Errorf("payload changed:\n%q\n%q", m.Payload, payload)
	}
	if len(m.Attachments) != 3 {
		t.Fatalf("%d attachments", len(m.Attachments))
	}
	if string(m.Attachments[0].Body) != text || m.Attachments[0].Description != "notes é" {
		t.Errorf("text attachment: %q %q", m.Attachments[0].Body, m.Attachments[0].Description)
	}
	if !bytes.Equal(m.Attachments[1].Body, binary) || !m.Attachments[1].IsBase64 {
		t.Errorf("binary attachment: %x", m.Attachments[1].Body)
	}
	if x := m.Attachments[2]; !x.External || x.DocumentID != "_DOC1" || x.MessageID != "B0C3E1D4-0000-4000-8000-000000000001" {
		t.Errorf("external attachment: %+v", x)
	}
}

// TestWaitTimesOutAnswerKept: when the answer does not come within the
// wait, the client gets the adaptor's 500, and the answer, arriving later,
// waits in the inbox rather than being lost.
func TestWaitTimesOutAnswerKept(t *testing.T) {
	p := newPKI(t)
	sp := newSpine(t, p, spineOptions{noWorker: true})
	gp := newMHS(t, p, sp, "A83008-0000001", func(c *mhs.Config) { c.WaitTimeout = 200 * time.Millisecond })
	_, rx := prescription(t, "FA565")
	id := ids.NewUUID()
	resp, out := gp.post(t, "PORX_IN020101SM31", true, map[string]string{"Message-Id": id}, body(rx))
	if resp.StatusCode != 500 || !strings.Contains(string(out), "No async response") {
		t.Fatalf("HTTP %d %q", resp.StatusCode, out)
	}
	if res, err := sp.worker.Pass(context.Background()); err != nil || res.Done != 1 {
		t.Fatalf("delivery: %+v %v", res, err)
	}
	msgs := gp.inbox(t, 5*time.Second)
	if len(msgs) != 1 || msgs[0].RefToMessageID != id || ackOf(t, []byte(msgs[0].Payload)).Type != "AA" {
		t.Fatalf("the late answer is not in the inbox: %+v", msgs)
	}
}

// TestSyncInteraction: a sync interaction (the tracker's prescription
// metadata query) goes as sync SOAP to the Spine's sync service and its
// HL7 answer comes back on the call, as the adaptor's sync workflow does.
func TestSyncInteraction(t *testing.T) {
	p := newPKI(t)
	sp := newSpine(t, p, spineOptions{})
	gp := newMHS(t, p, sp, "A83008-0000001", nil)
	query := `<QURX_IN000005UK99 xmlns="urn:hl7-org:v3"><id root="` + ids.NewUUID() + `"/></QURX_IN000005UK99>`
	resp, out := gp.post(t, "QURX_IN000005UK99", false, map[string]string{"from-asid": "200000001285"}, map[string]string{"payload": query})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		t.Fatalf("HTTP %d %s", resp.StatusCode, out)
	}
	// The service does not answer tracker queries yet: an HL7 refusal, on the call.
	if a := ackOf(t, out); a.Type == "AA" {
		t.Errorf("answer %s", a.Type)
	}
}
