package spine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/sqlite"
	"github.com/openeps/openeps/internal/testutil"
)

// env is one running service: a real SQLite file, real HTTP on loopback,
// and a clock the test moves.
type env struct {
	t     *testing.T
	store store.Store
	svc   *spine.Service
	srv   *httptest.Server
	mu    sync.Mutex
	now   time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "eps.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, store: st, now: time.Date(2022, 2, 1, 9, 0, 0, 0, time.UTC)}
	svc, err := spine.New(spine.Config{Store: st, Now: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.srv = httptest.NewServer(svc.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) setClock(t time.Time) {
	e.mu.Lock()
	e.now = t
	e.mu.Unlock()
}

// ebxmlRequest wraps an HL7 payload as a prescribing system's MHS does.
func ebxmlRequest(t testing.TB, payload []byte, interaction string) (ctype string, body []byte) {
	t.Helper()
	id := ids.NewUUID()
	m := &ebxml.Message{
		Header: ebxml.MessageHeader{
			From:           ebxml.Party{ID: "T141D-822234", Type: ebxml.PartyType},
			To:             ebxml.Party{ID: spine.DefaultPartyKey, Type: ebxml.PartyType},
			CPAId:          "S1001A1630",
			ConversationId: id,
			Service:        ebxml.ServiceMM,
			Action:         interaction,
			MessageId:      id,
			SentAt:         time.Now().UTC(),
			// Reliable messaging, with the answer on the same connection.
			DuplicateElimination: true,
			AckRequested:         true,
			AckActor:             ebxml.ActorToPartyMSH,
			SyncReply:            true,
			SyncReplyActor:       ebxml.ActorNext,
		},
		Payload:            payload,
		PayloadContentType: "text/xml; charset=UTF-8",
	}
	ctype, body, err := ebxml.Build(m)
	if err != nil {
		t.Fatalf("build ebXML: %v", err)
	}
	return ctype, body
}

// answer is what came back for one message.
type answer struct {
	status int
	ebxml  *ebxml.Message // the reply envelope (+ HL7 part)
	ack    hl7v3.AckResult
	raw    []byte
}

// post sends body with its content type to path and reads the reply.
func (e *env) post(path, ctype string, body []byte, soapAction string) answer {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if soapAction != "" {
		req.Header.Set("SOAPAction", soapAction)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: raw}
	m, err := ebxml.Parse(resp.Header.Get("Content-Type"), raw, ebxml.Limits{})
	if err != nil {
		e.t.Fatalf("reply is not ebXML (%d): %v\n%s", resp.StatusCode, err, raw)
	}
	a.ebxml = m
	if len(m.Payload) > 0 {
		hm, err := hl7v3.Decode(m.Payload)
		if err != nil {
			e.t.Fatalf("HL7 answer does not decode: %v\n%s", err, m.Payload)
		}
		// (Other answers — release and cancel responses — are read by summary.)
		a.ack, _ = hl7v3.ReadAck(hm)
	}
	return a
}

// send posts one HL7 interaction the way a prescribing system's MHS does.
func (e *env) send(payload []byte) answer {
	e.t.Helper()
	root := rootOf(payload)
	ctype, body := ebxmlRequest(e.t, payload, root)
	return e.post("/reliablemessaging/reliablerequest", ctype, body, ebxml.ServiceMM+"/"+root)
}

func rootOf(b []byte) string {
	s := string(b)
	i := strings.Index(s, "<PORX_")
	if i < 0 {
		i = strings.Index(s, "<MCCI_")
	}
	if i < 0 {
		return ""
	}
	j := strings.IndexAny(s[i+1:], " >\n")
	return s[i+1 : i+1+j]
}

func (e *env) view(id string) (spine.PrescriptionView, int) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/api/prescriptions/" + id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v spine.PrescriptionView
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			e.t.Fatal(err)
		}
	}
	return v, resp.StatusCode
}

func (e *env) counts() store.Counts {
	e.t.Helper()
	var c store.Counts
	err := e.store.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		c, err = tx.Counts(context.Background())
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// parentPrescriptions returns every whole parent prescription among the
// HL7 V3 fixtures (flat samples, signature vectors, eps-api examples).
func parentPrescriptions(t *testing.T) []string {
	t.Helper()
	var out []string
	root := testutil.Fixtures(t, "hl7v3")
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			if n := info.Name(); n == "mim" || n == "spine-xslt" {
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.Ext(path) != ".xml" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if r := rootOf(b); strings.HasPrefix(r, "PORX_IN020101") || strings.HasPrefix(r, "PORX_IN020102") {
			if strings.HasPrefix(strings.TrimSpace(string(b)), "<") {
				out = append(out, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 40 {
		t.Fatalf("found %d parent prescriptions in the fixtures; expected over 40", len(out))
	}
	return out
}

// TestEveryParentPrescription sends every parent prescription in the
// fixtures through the service, each at its own creation time, and checks
// the answer and the stored record field by field against the message. A
// second message with a short ID already used is refused as a duplicate;
// the same message sent twice is answered as the first time.
func TestEveryParentPrescription(t *testing.T) {
	e := newEnv(t)
	firstMessage := map[string]string{} // short ID → message ID that created it
	answered := map[string][]byte{}     // message ID → HL7 answer body
	unsigned, replays := 0, 0
	for _, path := range parentPrescriptions(t) {
		name, _ := filepath.Rel(testutil.Fixtures(t, "hl7v3"), path)
		raw, _ := os.ReadFile(path)
		m, err := hl7v3.Decode(raw)
		if err != nil {
			t.Errorf("%s: fixture does not decode: %v", name, err)
			continue
		}
		if prev, ok := answered[m.Header().MessageID]; ok {
			// A message ID sent before (the examples reuse some): whatever it
			// carries now, it is answered as the first time.
			if a := e.send(raw); !bytes.Equal(prev, a.ebxml.Payload) {
				t.Errorf("%s: a replay got a different answer", name)
			}
			replays++
			continue
		}
		if !signatureElement.Match(raw) {
			// A few examples carry no ds:Signature: the Spine refuses them
			// with 0003 "Digital Signature not found".
			a := e.send(raw)
			answered[m.Header().MessageID] = a.ebxml.Payload
			if a.ack.Type != "AE" || len(a.ack.Errors) == 0 || a.ack.Errors[0].Value != "0003" ||
				a.ack.Errors[0].System != "2.16.840.1.113883.2.1.3.2.4.17.22" {
				t.Errorf("%s: got %s %v, want AE 0003 Digital Signature not found", name, a.ack.Type, a.ack.Errors)
			}
			unsigned++
			continue
		}
		h := m.Header()
		v := m.Payload().(*hl7v3.PORX_MT132004UK31_ParentPrescription).View()
		// The service's clock stands an hour after the prescriber signed
		// (creationTime in the examples is when they were converted, later).
		signed, err := time.Parse(hl7v3.TimeFormat, v.AuthorTime)
		if err != nil {
			t.Fatalf("%s: author time %q", name, v.AuthorTime)
		}
		e.setClock(signed.Add(time.Hour))

		a := e.send(raw)
		if a.status != http.StatusOK {
			t.Errorf("%s: HTTP %d\n%s", name, a.status, a.raw)
			continue
		}
		if a.ack.Ref != h.MessageID {
			t.Errorf("%s: ack refers to %q, want %q", name, a.ack.Ref, h.MessageID)
		}
		answered[h.MessageID] = a.ebxml.Payload
		if first, dup := firstMessage[v.ShortID]; dup {
			if a.ack.Type != "AE" || len(a.ack.Errors) == 0 || a.ack.Errors[0].Value != "0002" {
				t.Errorf("%s: reused ID %s (first sent as %s): got %s %v, want AE 0002", name, v.ShortID, first, a.ack.Type, a.ack.Errors)
			}
			continue
		}
		if a.ack.Type != "AA" {
			t.Errorf("%s: %s %v, want AA", name, a.ack.Type, a.ack.Errors)
			continue
		}
		firstMessage[v.ShortID] = h.MessageID
		checkRecord(t, e, name, v, h)
	}
	if len(firstMessage) < 30 {
		t.Errorf("only %d distinct prescriptions were accepted", len(firstMessage))
	}
	t.Logf("%d prescriptions accepted, %d unsigned refused, %d replays", len(firstMessage), unsigned, replays)
	if replays == 0 {
		t.Error("no fixture replayed a message ID: the replay path went untested")
	}
}

// checkRecord compares what the API shows with the message.
func checkRecord(t *testing.T, e *env, name string, v hl7v3.Prescription, h hl7v3.Header) {
	t.Helper()
	got, code := e.view(v.ShortID)
	if code != http.StatusOK {
		t.Errorf("%s: GET %s: HTTP %d", name, v.ShortID, code)
		return
	}
	if got.ID != v.ShortID || got.NHSNumber != v.NHSNumber || got.TreatmentType != v.TreatmentType {
		t.Errorf("%s: id %q nhs %q treatment %q; message has %q %q %q", name, got.ID, got.NHSNumber,
			got.TreatmentType, v.ShortID, v.NHSNumber, v.TreatmentType)
	}
	if got.Status != "0001" && got.Status != "9001" {
		t.Errorf("%s: status %s %q, want 0001 To Be Dispensed (or 9001 future-dated)", name, got.Status, got.StatusLabel)
	}
	if got.StatusLabel == "" {
		t.Errorf("%s: no status label", name)
	}
	if got.Prescriber.ODS != v.Author.OrgODS || got.Prescriber.Name != v.Author.Name ||
		got.Prescriber.Code != v.Author.ProfessionalCode {
		t.Errorf("%s: prescriber %+v; message has %s %q %s", name, got.Prescriber, v.Author.OrgODS, v.Author.Name, v.Author.ProfessionalCode)
	}
	if got.Patient.Family != v.Patient.Family || got.Patient.Given != v.Patient.Given ||
		got.Patient.BirthDate != v.Patient.BirthDate || got.Patient.GPODS != v.Patient.GPODS {
		t.Errorf("%s: patient %+v; message has %+v", name, got.Patient, v.Patient)
	}
	if got.NominatedODS != v.NominatedODS {
		t.Errorf("%s: nominated %q, message %q", name, got.NominatedODS, v.NominatedODS)
	}
	if len(got.LineItems) != len(v.LineItems) {
		t.Errorf("%s: %d line items, message has %d", name, len(got.LineItems), len(v.LineItems))
		return
	}
	for i, li := range v.LineItems {
		g := got.LineItems[i]
		if g.ID != li.ID || g.DMDCode != li.DMDCode || g.Description != li.Description || g.Quantity != li.Quantity ||
			g.Dosage != li.Dosage {
			t.Errorf("%s: line item %d: %+v; message has %+v", name, i+1, g, li)
		}
		if g.Status != "0007" && g.Status != "0006" {
			t.Errorf("%s: line item %d status %s", name, i+1, g.Status)
		}
	}
	if len(got.History) != 1 || got.History[0].MessageID != h.MessageID || got.History[0].Outcome != "AA" {
		t.Errorf("%s: history %+v", name, got.History)
	}
}

// TestReplayChangesNothing sends a prescription, then the same message
// again (a sender retrying after a lost answer): the second answer is the
// first byte for byte and the store is as it was.
func TestReplayChangesNothing(t *testing.T) {
	e := newEnv(t)
	raw := testutil.ReadFixture(t, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
	e.setClock(time.Date(2022, 10, 21, 14, 0, 0, 0, time.UTC))
	first := e.send(raw)
	if first.ack.Type != "AA" {
		t.Fatalf("first send: %s %v", first.ack.Type, first.ack.Errors)
	}
	before := e.counts()
	v1, _ := e.view("24F5DA-A83008-7EFE6Z")

	e.setClock(time.Date(2022, 10, 22, 9, 0, 0, 0, time.UTC)) // a day later
	again := e.send(raw)
	if !bytes.Equal(first.ebxml.Payload, again.ebxml.Payload) {
		t.Errorf("replay answer differs:\nfirst  %s\nreplay %s", first.ebxml.Payload, again.ebxml.Payload)
	}
	// (A new ebXML message carrying the same HL7 message adds only its own
	// ebXML receipt, for ebMS duplicate elimination.)
	if after := e.counts(); after.Records != before.Records || after.Messages != before.Messages ||
		fmt.Sprint(after.Outbox) != fmt.Sprint(before.Outbox) {
		t.Errorf("store changed on replay: before %+v after %+v", before, after)
	}
	v2, _ := e.view("24F5DA-A83008-7EFE6Z")
	if v1.SCN != v2.SCN || len(v2.History) != 1 {
		t.Errorf("record changed on replay: SCN %d → %d, history %d", v1.SCN, v2.SCN, len(v2.History))
	}

	// The very same ebXML message resent (same MessageId): ebMS duplicate
	// elimination answers with the original reply, byte for byte.
	ctype, body := ebxmlRequest(t, raw, "PORX_IN020101SM31")
	r1 := e.post("/reliablemessaging/reliablerequest", ctype, body, ebxml.ServiceMM+"/PORX_IN020101SM31")
	r2 := e.post("/reliablemessaging/reliablerequest", ctype, body, ebxml.ServiceMM+"/PORX_IN020101SM31")
	if !bytes.Equal(r1.raw, r2.raw) {
		t.Errorf("duplicate ebXML message got a different reply")
	}
}

// TestMalformedMessages sends broken messages: each gets an answer in the
// protocol's own terms and the store is left exactly as it was.
func TestMalformedMessages(t *testing.T) {
	e := newEnv(t)
	raw := testutil.ReadFixture(t, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
	e.setClock(time.Date(2022, 10, 21, 14, 0, 0, 0, time.UTC))

	hl7Cases := map[string][]byte{
		"truncated":        raw[:len(raw)/2],
		"not XML":          []byte("this is not a prescription"),
		"DTD":              append([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>`), raw[bytes.Index(raw, []byte("<PORX")):]...),
		"five line items":  fifthItem(raw),
		"wrong namespace":  bytes.Replace(raw, []byte(`xmlns="urn:hl7-org:v3"`), []byte(`xmlns="urn:example"`), 1),
		"bad NHS number":   bytes.Replace(raw, []byte("5839945242"), []byte("5839945243"), 1),
		"bad check digit":  bytes.Replace(raw, []byte("24F5DA-A83008-7EFE6Z"), []byte("24F5DA-A83008-7EFE6A"), 1),
		"not a prescriber": bytes.Replace(raw, []byte("PORX_IN020101SM31"), []byte("PORX_IN070101UK31"), -1),
	}
	// Unreadable payloads are answered AR and leave no trace; readable ones
	// that break a rule are answered AE and kept with their answer (S2).
	unreadable := map[string]bool{"truncated": true, "not XML": true, "DTD": true, "wrong namespace": true}
	for name, payload := range hl7Cases {
		before := e.counts()
		// A fresh message id each time (the same one would be a replay), then
		// swapped into a valid envelope: the ebXML builder refuses bad payloads.
		payload = bytes.ReplaceAll(payload, []byte("46183ABC-9FAD-4673-85DB-CE2CB6614732"), []byte(ids.NewUUID()))
		action := rootOf(payload)
		if action == "" {
			action = "PORX_IN020101SM31"
		}
		ctype, valid := ebxmlRequest(t, raw, action)
		body := bytes.Replace(valid, raw, payload, 1)
		a := e.post("/reliablemessaging/reliablerequest", ctype, body, ebxml.ServiceMM+"/"+action)
		want := "AE"
		if unreadable[name] {
			want = "AR"
		}
		if unreadable[name] && a.status == http.StatusInternalServerError && a.ebxml.Kind == ebxml.KindErrorList {
			// The ebXML layer already refused a payload that is not XML.
		} else {
			if a.status != http.StatusOK || a.ack.Type != want {
				t.Errorf("%s: HTTP %d, HL7 answer %s %v, want %s", name, a.status, a.ack.Type, a.ack.Errors, want)
			}
			if len(a.ack.Errors) == 0 || a.ack.Errors[0].System == "" || a.ack.Errors[0].Display == "" {
				t.Errorf("%s: the NACK carries no coded error: %+v", name, a.ack.Errors)
			}
		}
		if name == "five line items" && (len(a.ack.Errors) == 0 || a.ack.Errors[0].Value != "0010") {
			t.Errorf("five line items: %v, want 0010", a.ack.Errors)
		}
		after := e.counts()
		if after.Records != 0 {
			t.Errorf("%s: %d records in the store", name, after.Records)
		}
		if unreadable[name] && after.Messages != before.Messages {
			t.Errorf("%s: an unreadable message was stored", name)
		}
	}

	// Broken ebXML: an ErrorList (or, for a cut-off body, an AR), nothing stored.
	ctype, body := ebxmlRequest(t, raw, "PORX_IN020101SM31")
	before := e.counts()
	transport := map[string]struct {
		ctype string
		body  []byte
	}{
		"truncated MIME":       {ctype, body[:len(body)/3]},
		"not multipart":        {"text/plain", body},
		"no boundary":          {"multipart/related", body},
		"empty body":           {ctype, nil},
		"garbage in the parts": {ctype, bytes.Replace(body, []byte("<SOAP:Envelope"), []byte("<SOAP:Envelop"), 1)},
	}
	for name, c := range transport {
		a := e.post("/reliablemessaging/reliablerequest", c.ctype, c.body, "")
		switch {
		case a.ebxml.Kind == ebxml.KindErrorList && a.status == http.StatusInternalServerError:
		case a.status == http.StatusOK && a.ack.Type == "AR":
			// The MIME reader takes a body whose closing boundary is missing
			// (a real-world quirk): the cut-off HL7 payload is then refused.
		default:
			t.Errorf("%s: HTTP %d kind %v ack %q, want 500 with an ebXML ErrorList (or an HL7 AR)", name, a.status, a.ebxml.Kind, a.ack.Type)
		}
	}
	if after := e.counts(); after.Records != 0 || after.Messages != before.Messages {
		t.Errorf("broken ebXML left %d records and %d messages (before: %d)", after.Records, after.Messages, before.Messages)
	}
}

// signatureElement finds a ds:Signature start tag (the Spine's check is
// count(signatureText/DigSig:Signature) = 1).
var signatureElement = regexp.MustCompile(`<([A-Za-z0-9]+:)?Signature[\s>]`)

// fifthItem adds a copy of the first line item (with a new ID) to a
// four-item prescription: one more than the Spine allows.
func fifthItem(b []byte) []byte {
	s := string(b)
	const open = "            <pertinentInformation2 contextConductionInd=\"true\" inversionInd"
	const end = "\n            </pertinentInformation2>\n"
	i := strings.Index(s, open)
	j := strings.Index(s[i:], end) + i + len(end)
	item := s[i:j]
	k := strings.Index(item, `<id root="`) + len(`<id root="`)
	item = item[:k] + "00000000" + item[k+8:] // another upper-case UUID
	// The copy's actRef among the care record elements is not needed: the
	// Spine counts the line items themselves.
	return []byte(s[:j] + item + s[j:])
}

func TestUnknownPrescriptionIs404(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/api/prescriptions/24F5DA-A83008-7EFE6Z")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusNotFound || body["error"] == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("HTTP %d %q %v", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	e.setClock(time.Date(2022, 10, 21, 14, 0, 0, 0, time.UTC))
	e.send(testutil.ReadFixture(t, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml"))
	resp, err := http.Get(e.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	resp, err = http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `eps_messages_total{interaction="PORX_IN020101UK31",outcome="AA"} 1`) {
		t.Errorf("metrics do not count the prescription:\n%s", b)
	}
	// With the store closed, health says so.
	e.store.Close()
	resp, err = http.Get(e.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz with the store closed: %d", resp.StatusCode)
	}
}

// TestDuplicatePrescriptionID sends two different messages carrying the
// same prescription ID: the second is refused with 0002 "Duplicate
// prescription ID exists" and the first record is untouched.
func TestDuplicatePrescriptionID(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2022, 2, 1, 9, 0, 0, 0, time.UTC)
	e.setClock(at.Add(time.Minute))
	p := prescribe.Example(at, "FA565")
	first, err := prescribe.Build(&p)
	if err != nil {
		t.Fatal(err)
	}
	if a := e.send(first); a.ack.Type != "AA" {
		t.Fatalf("first: %s %v", a.ack.Type, a.ack.Errors)
	}
	before, _ := e.view(p.ShortID)

	q := prescribe.Example(at, "")
	q.ShortID = p.ShortID // same ID, new message, other content
	second, err := prescribe.Build(&q)
	if err != nil {
		t.Fatal(err)
	}
	a := e.send(second)
	if a.ack.Type != "AE" || len(a.ack.Errors) != 1 || a.ack.Errors[0].Value != "0002" ||
		a.ack.Errors[0].System != "2.16.840.1.113883.2.1.3.2.4.17.22" {
		t.Fatalf("second: %s %v, want AE 0002 (17.22)", a.ack.Type, a.ack.Errors)
	}
	after, _ := e.view(p.ShortID)
	if after.SCN != before.SCN || after.NominatedODS != "FA565" || after.LineItems[0].ID != p.Items[0].ID {
		t.Errorf("the first record changed: %+v", after)
	}
	// The refused message is kept, and listed in that ID's history.
	if len(after.History) != 2 || after.History[1].Outcome != "AE 0002 Duplicate prescription ID exists" {
		t.Errorf("history %+v", after.History)
	}
}

// TestSweepExpiresThenDeletes creates a prescription and moves the clock:
// after six months the sweep expires it, sweeping again changes nothing,
// and 90 days after expiry the record is deleted (lifecycle.md §3.11).
func TestSweepExpiresThenDeletes(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2022, 2, 1, 9, 0, 0, 0, time.UTC)
	e.setClock(at)
	p := prescribe.Example(at, "FA565")
	raw, err := prescribe.Build(&p)
	if err != nil {
		t.Fatal(err)
	}
	if a := e.send(raw); a.ack.Type != "AA" {
		t.Fatalf("%s %v", a.ack.Type, a.ack.Errors)
	}
	ctx := context.Background()

	e.setClock(at.AddDate(0, 5, 0)) // not yet due
	if res, err := e.svc.Sweep(ctx); err != nil || res.Changed != 0 {
		t.Fatalf("five months on: %v %v", res, err)
	}
	e.setClock(at.AddDate(0, 6, 1))
	res, err := e.svc.Sweep(ctx)
	if err != nil || res.Changed != 1 {
		t.Fatalf("six months on: %v %v", res, err)
	}
	v, _ := e.view(p.ShortID)
	if v.Status != "0004" || v.LineItems[0].Status != "0006" {
		t.Errorf("after expiry: %s / item %s, want 0004 / 0006", v.Status, v.LineItems[0].Status)
	}
	scn := v.SCN
	if res, err := e.svc.Sweep(ctx); err != nil || res.Changed != 0 {
		t.Errorf("second sweep: %v %v", res, err)
	}
	if v, _ := e.view(p.ShortID); v.SCN != scn {
		t.Errorf("second sweep changed the record: SCN %d → %d", scn, v.SCN)
	}
	e.setClock(at.AddDate(0, 6, 1).AddDate(0, 0, 91))
	if res, err := e.svc.Sweep(ctx); err != nil || res.Deleted != 1 {
		t.Fatalf("after the delete period: %v %v", res, err)
	}
	if _, code := e.view(p.ShortID); code != http.StatusNotFound {
		t.Errorf("deleted record still answers %d", code)
	}
	if c := e.counts(); c.Records != 0 || c.Messages != 0 {
		t.Errorf("after deletion: %+v (messages go with their record)", c)
	}
}
