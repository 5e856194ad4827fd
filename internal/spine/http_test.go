package spine_test

// Tests of the service's transport (http.go): reply modes, duplicate
// elimination, the front door's poll pattern, sync SOAP, the directory's
// checks, over real HTTPS on loopback with mutual TLS.

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/directory"
	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/sqlite"
	"github.com/openeps/openeps/internal/testutil"
	"github.com/openeps/openeps/internal/tlsconf"
	"github.com/openeps/openeps/internal/tlsconf/tlstest"
)

// tpEnv is a service behind HTTPS with mutual TLS and a directory.
type tpEnv struct {
	t      *testing.T
	st     store.Store
	dir    *directory.Directory
	url    string
	client *http.Client
	ca     *tlstest.CA
	kicks  atomic.Int64
}

const tpGP = "A83008-0000001" // the prescribing system's party key

func newTPEnv(t *testing.T, o spine.HTTPOptions, now func() time.Time) *tpEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "eps.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := spine.New(spine.Config{Store: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	e := &tpEnv{t: t, st: st, dir: directory.New(st, time.Second), ca: tlstest.NewCA(t, "test")}
	if o.Directory == nil {
		o.Directory = e.dir
	}
	o.Notify = func() { e.kicks.Add(1) }
	server := e.ca.Issue(t, "spine")
	scfg, err := tlsconf.Server(tlsconf.Options{CertFile: server.CertFile, KeyFile: server.KeyFile, ClientCAFile: e.ca.File})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", scfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := spine.NewHTTPServer(ln.Addr().String(), svc.HTTPHandler(o))
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	e.url = "https://" + ln.Addr().String()
	e.client = e.clientFor("gp.example")
	return e
}

// clientFor is an HTTPS client whose certificate names host.
func (e *tpEnv) clientFor(host string) *http.Client {
	e.t.Helper()
	c := e.ca.Issue(e.t, "client-"+host, host)
	cfg, err := tlsconf.Client(tlsconf.Options{CertFile: c.CertFile, KeyFile: c.KeyFile, RootCAFile: e.ca.File})
	if err != nil {
		e.t.Fatal(err)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

// register puts the prescribing system in the directory, with an endpoint:
// it takes its answers as messages of their own.
func (e *tpEnv) register(mod func(*directory.Entry)) {
	e.t.Helper()
	en := directory.Entry{PartyKey: tpGP, ASID: "200000001285", Endpoint: "https://gp.example/reliablemessaging/reliablerequest",
		Reliability: directory.DefaultReliability()}
	if mod != nil {
		mod(&en)
	}
	if err := e.dir.Put(context.Background(), en); err != nil {
		e.t.Fatal(err)
	}
}

type tpReply struct {
	status int
	hdr    http.Header
	raw    []byte
	m      *ebxml.Message
}

func (e *tpEnv) do(c *http.Client, method, path, ctype string, body []byte, hdr map[string]string) tpReply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c == nil {
		c = e.client
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := tpReply{status: resp.StatusCode, hdr: resp.Header, raw: raw}
	if len(raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "xml") || strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart") {
		m, err := ebxml.Parse(resp.Header.Get("Content-Type"), raw, ebxml.Limits{})
		if err != nil {
			e.t.Fatalf("the service's reply does not parse (HTTP %d): %v\n%s", resp.StatusCode, err, raw)
		}
		r.m = m
	}
	return r
}

// tpMessage wraps a payload as a prescribing system's MHS does.
func tpMessage(t *testing.T, payload []byte, mod func(*ebxml.MessageHeader)) (string, []byte, string) {
	t.Helper()
	id := ids.NewUUID()
	h := ebxml.MessageHeader{From: ebxml.Party{ID: tpGP, Type: ebxml.PartyType}, To: ebxml.Party{ID: spine.DefaultPartyKey, Type: ebxml.PartyType},
		CPAId: "S1001A1630", ConversationId: id, Service: ebxml.ServiceMM, Action: "PORX_IN020101SM31", MessageId: id,
		SentAt: time.Now(), DuplicateElimination: true, AckRequested: true, AckActor: ebxml.ActorToPartyMSH,
		SyncReply: true, SyncReplyActor: ebxml.ActorNext}
	if mod != nil {
		mod(&h)
	}
	ct, body, err := ebxml.Build(&ebxml.Message{Header: h, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	return ct, body, id
}

func tpPrescription(t *testing.T) []byte {
	t.Helper()
	p := prescribe.Example(time.Now().UTC().Add(-time.Minute), "FA565")
	b, err := prescribe.Build(&p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *tpEnv) outbox() []store.OutboxItem {
	e.t.Helper()
	var items []store.OutboxItem
	if err := e.st.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		items, err = tx.Outbox(context.Background(), "", time.Time{}, 0)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return items
}

func tpAck(t *testing.T, payload []byte) hl7v3.AckResult {
	t.Helper()
	m, err := hl7v3.Decode(payload)
	if err != nil {
		t.Fatalf("%v\n%s", err, payload)
	}
	a, ok := hl7v3.ReadAck(m)
	if !ok {
		t.Fatalf("%s is not an acknowledgement", m.Root)
	}
	return a
}

// TestAsyncReplyForKnownSender: a sender the directory knows with an
// endpoint gets the ebXML acknowledgment (202) and its HL7 answer goes to
// the outbox, for the delivery worker — what SDS's MSHSignalsOnly means.
func TestAsyncReplyForKnownSender(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, nil)
	e.register(nil)
	ct, body, id := tpMessage(t, tpPrescription(t), nil)
	r := e.do(nil, "POST", "/reliablemessaging/reliablerequest", ct, body, map[string]string{"SOAPAction": ebxml.ServiceMM + "/PORX_IN020101SM31"})
	if r.status != http.StatusAccepted || r.m.Kind != ebxml.KindAck || !r.m.Acknowledges(id) || len(r.m.Payload) != 0 {
		t.Fatalf("HTTP %d %v: want 202 with the bare acknowledgment\n%s", r.status, r.m.Kind, r.raw)
	}
	items := e.outbox()
	if len(items) != 1 {
		t.Fatalf("%d outbox items", len(items))
	}
	it := items[0]
	if it.Destination != tpGP || it.RefToMessage != id || it.Conversation != id || it.Interaction != "MCCI_IN010000UK13" ||
		tpAck(t, it.Body).Type != "AA" {
		t.Errorf("outbox item %+v", it)
	}
	if e.kicks.Load() != 1 {
		t.Errorf("the delivery worker was kicked %d times", e.kicks.Load())
	}
	// A duplicate: the original acknowledgment byte for byte, nothing new queued.
	r2 := e.do(nil, "POST", "/reliablemessaging/reliablerequest", ct, body, nil)
	if r2.status != http.StatusAccepted || !bytes.Equal(r2.raw, r.raw) {
		t.Errorf("duplicate: HTTP %d, same bytes %v", r2.status, bytes.Equal(r2.raw, r.raw))
	}
	if n := len(e.outbox()); n != 1 {
		t.Errorf("a duplicate queued another answer: %d items", n)
	}
}

// TestReplayUnderNewMessageIDGetsItsOwnAnswer: the same HL7 message sent
// again in a new ebXML message (a client that resent without its
// Message-Id) changes nothing, and the new message gets an answer of its
// own — once, however often it is resent.
func TestReplayUnderNewMessageIDGetsItsOwnAnswer(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, nil)
	e.register(nil)
	rx := tpPrescription(t)
	ct1, b1, _ := tpMessage(t, rx, nil)
	ct2, b2, id2 := tpMessage(t, rx, nil)
	e.do(nil, "POST", "/reliablemessaging/reliablerequest", ct1, b1, nil)
	for range 2 {
		if r := e.do(nil, "POST", "/reliablemessaging/reliablerequest", ct2, b2, nil); r.status != http.StatusAccepted {
			t.Fatalf("HTTP %d", r.status)
		}
	}
	items := e.outbox()
	if len(items) != 2 {
		t.Fatalf("%d outbox items, want 2", len(items))
	}
	if items[1].RefToMessage != id2 || !bytes.Equal(items[1].Body, items[0].Body) {
		t.Errorf("the replay's answer: %+v", items[1])
	}
}

// TestAsyncNackForUnreadablePayload: an HL7 document the core cannot read
// is answered AR; for an async sender that answer is queued too.
func TestAsyncNackForUnreadablePayload(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, nil)
	e.register(nil)
	raw := tpPrescription(t)
	ct, body, _ := tpMessage(t, raw, nil)
	cut := raw[:len(raw)/2]
	body = bytes.Replace(body, raw, cut, 1)
	r := e.do(nil, "POST", "/reliablemessaging/reliablerequest", ct, body, nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("HTTP %d\n%s", r.status, r.raw)
	}
	items := e.outbox()
	if len(items) != 1 || tpAck(t, items[0].Body).Type != "AR" {
		t.Fatalf("outbox: %+v", items)
	}
}

// TestDirectoryChecks: the CPA ID, the client certificate and (when asked)
// the sender must be the directory's.
func TestDirectoryChecks(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, nil)
	e.register(func(en *directory.Entry) { en.CPAIds = []string{"S1001A1630"}; en.FQDN = "gp.example" })
	ct, body, _ := tpMessage(t, tpPrescription(t), func(h *ebxml.MessageHeader) { h.CPAId = "S9999X0000" })
	r := e.do(nil, "POST", "/reliablemessaging/reliablerequest", ct, body, nil)
	if r.status != 500 || r.m.Kind != ebxml.KindErrorList || !strings.HasPrefix(r.m.Errors()[0].Description(), "501319:") {
		t.Errorf("unknown CPA: HTTP %d %v", r.status, r.m.Errors())
	}
	ct, body, _ = tpMessage(t, tpPrescription(t), nil)
	r = e.do(e.clientFor("intruder.example"), "POST", "/reliablemessaging/reliablerequest", ct, body, nil)
	if r.status != 500 || r.m.Kind != ebxml.KindErrorList || r.m.Errors()[0].Code != ebxml.SecurityFailure {
		t.Errorf("another system's certificate: HTTP %d %v", r.status, r.m.Errors())
	}
	if r = e.do(nil, "POST", "/reliablemessaging/reliablerequest", ct, body, nil); r.status != 202 {
		t.Errorf("its own certificate: HTTP %d %v", r.status, r.m.Errors())
	}
	if n := len(e.outbox()); n != 1 {
		t.Errorf("%d answers queued, want 1 (the refused messages change nothing)", n)
	}

	strict := newTPEnv(t, spine.HTTPOptions{KnownSendersOnly: true}, nil)
	ct, body, _ = tpMessage(t, tpPrescription(t), nil)
	r = strict.do(nil, "POST", "/reliablemessaging/reliablerequest", ct, body, nil)
	if r.status != 500 || r.m.Kind != ebxml.KindErrorList || !strings.Contains(r.m.Errors()[0].Text, "Unknown eb:From") {
		t.Errorf("unknown sender under KnownSendersOnly: HTTP %d %v", r.status, r.m.Errors())
	}
}

// TestFrontDoorPoll: POST /Prescription with Prefer: respond-async answers
// 202 with a Content-Location; polling it gives the answer the synchronous
// call would have given, to the sender's ASID only.
func TestFrontDoorPoll(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, nil)
	e.register(nil)
	ct, body, id := tpMessage(t, tpPrescription(t), nil)
	r := e.do(nil, "POST", "/Prescription", ct, body, map[string]string{"Prefer": "respond-async"})
	if r.status != http.StatusAccepted || r.hdr.Get("Content-Location") != spine.PollPrefix+id || len(r.raw) != 0 {
		t.Fatalf("HTTP %d %q %q", r.status, r.hdr.Get("Content-Location"), r.raw)
	}
	var p tpReply
	deadline := time.Now().Add(10 * time.Second)
	for {
		p = e.do(nil, "GET", r.hdr.Get("Content-Location"), "", nil, map[string]string{"nhsd-asid": "200000001285"})
		if p.status != http.StatusAccepted || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p.status != 200 || p.m == nil || !p.m.Acknowledges(id) || tpAck(t, p.m.Payload).Type != "AA" {
		t.Fatalf("poll: HTTP %d\n%s", p.status, p.raw)
	}
	// The same message again, answered at once, byte for byte.
	again := e.do(nil, "POST", "/Prescription", ct, body, nil)
	if again.status != 200 || !bytes.Equal(again.raw, p.raw) {
		t.Errorf("resend: HTTP %d, same %v", again.status, bytes.Equal(again.raw, p.raw))
	}
	if f := e.do(nil, "GET", spine.PollPrefix+id, "", nil, map[string]string{"nhsd-asid": "999999999999"}); f.status != 403 {
		t.Errorf("another ASID polled the answer: HTTP %d", f.status)
	}
	if u := e.do(nil, "GET", spine.PollPrefix+ids.NewUUID(), "", nil, nil); u.status != 404 {
		t.Errorf("unknown poll: HTTP %d", u.status)
	}
	if n := len(e.outbox()); n != 0 {
		t.Errorf("the front door queued %d answers; its answers go back on the connection", n)
	}
}

// TestSyncSOAP: the sync service takes WS-Addressing queries and answers
// with a SOAP envelope; anything else gets a SOAP fault with TMS codes.
func TestSyncSOAP(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, nil)
	query := []byte(`<QURX_IN000005UK99 xmlns="urn:hl7-org:v3"><id root="` + ids.NewUUID() + `"/></QURX_IN000005UK99>`)
	h := ebxml.SOAPHeader{MessageID: ids.NewUUID(), Action: "urn:nhs:names:services:mmquery/QURX_IN000005UK99",
		To: e.url + "/syncservice-mm/mm", ToASID: spine.DefaultASID, FromASID: "200000001285"}
	ct, body, err := ebxml.SyncRequest(h, query)
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(nil, "POST", "/syncservice-mm/mm", ct, body, map[string]string{"SOAPAction": h.Action})
	if r.status != 200 || r.m.Kind != ebxml.KindSOAP || r.m.SOAP.RelatesTo != "uuid:"+h.ID() || r.m.SOAP.ToASID != "200000001285" {
		t.Fatalf("HTTP %d %v\n%s", r.status, r.m.Kind, r.raw)
	}
	if a := tpAck(t, r.m.Payload); a.Type == "AA" {
		t.Errorf("a query the service does not answer yet was acknowledged AA")
	}
	for name, c := range map[string]struct {
		ct   string
		body []byte
		hdr  map[string]string
	}{
		"not SOAP":         {"text/xml", []byte("<x/>"), nil},
		"ebXML message":    {ct, []byte(strings.Replace(string(body), "wsa:MessageID", "wsa:MessageIDx", 2)), nil},
		"state change":     {ct, bytes.ReplaceAll(body, []byte("mmquery/"), []byte("mm/")), nil},
		"SOAPAction wrong": {ct, body, map[string]string{"SOAPAction": "urn:nhs:names:services:mmquery/OTHER"}},
	} {
		f := e.do(nil, "POST", "/syncservice-mm/mm", c.ct, c.body, c.hdr)
		if f.status != 500 || f.m == nil || f.m.Kind != ebxml.KindFault || len(f.m.Fault.Errors) == 0 {
			t.Errorf("%s: HTTP %d %v\n%s", name, f.status, f.m, f.raw)
		}
	}
}

// TestSignalsAreNotAnswered: an acknowledgment or error list sent to the
// service is taken (202) and not answered with an error.
func TestSignalsAreNotAnswered(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, nil)
	h := ebxml.MessageHeader{From: ebxml.Party{ID: tpGP}, To: ebxml.Party{ID: spine.DefaultPartyKey}, CPAId: "S1001A1630",
		ConversationId: "c", MessageId: ids.NewUUID(), Timestamp: "2026-01-01T00:00:00Z"}
	ct, ack := ebxml.Ack(h, ids.NewUUID(), time.Now(), tpGP)
	if r := e.do(nil, "POST", "/reliablemessaging/reliablerequest", ct, ack, nil); r.status != 202 || len(r.raw) != 0 {
		t.Errorf("ack: HTTP %d %q", r.status, r.raw)
	}
	ct, nack := ebxml.ErrorList(&h, ids.NewUUID(), time.Now())
	if r := e.do(nil, "POST", "/reliablemessaging/reliablerequest", ct, nack, nil); r.status != 202 || len(r.raw) != 0 {
		t.Errorf("error list: HTTP %d %q", r.status, r.raw)
	}
}

// TestAdaptorCaptures: every ebXML capture of the MHS adaptor's tests sent
// to the service gets an answer in ebXML that parses: an ErrorList with a
// code for what the Spine will not take (they are not EPS messages, or are
// defective), never a crash and never a stored record.
func TestAdaptorCaptures(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, nil)
	files := testutil.Glob(t, "ebxml/mhs-adaptor/mhs/common/mhs_common/messages/tests/test_messages/*.msg")
	files = append(files, testutil.Glob(t, "ebxml/mhs-adaptor/mhs/inbound/inbound/request/tests/messages/*.msg")...)
	if len(files) < 25 {
		t.Fatalf("%d captures", len(files))
	}
	for _, f := range files {
		raw := readMsg(t, f)
		fl, err := ebxml.ReadFile(raw)
		if err != nil {
			fl = &ebxml.File{Header: http.Header{}, Body: raw}
		}
		ct := fl.Header.Get("Content-Type")
		if ct == "" {
			ct = ebxml.ContentType(ebxml.Boundary)
		}
		r := e.do(nil, "POST", "/reliablemessaging/reliablerequest", ct, fl.Body, nil)
		if r.m == nil || (r.m.Kind != ebxml.KindErrorList && r.m.Kind != ebxml.KindAck) {
			t.Errorf("%s: HTTP %d, no ebXML answer\n%s", filepath.Base(f), r.status, r.raw)
			continue
		}
		if r.m.Kind == ebxml.KindErrorList && (r.status != 500 || len(r.m.Errors()) == 0 || r.m.Errors()[0].Description() == "") {
			t.Errorf("%s: an ErrorList without an error (HTTP %d)", filepath.Base(f), r.status)
		}
	}
	var c store.Counts
	_ = e.st.View(context.Background(), func(tx store.ReadTx) error { c, _ = tx.Counts(context.Background()); return nil })
	if c.Records != 0 {
		t.Errorf("%d records stored from non-EPS captures", c.Records)
	}
}

func readMsg(t *testing.T, path string) []byte {
	t.Helper()
	rel, _ := filepath.Rel(testutil.Fixtures(t, "."), path)
	b := testutil.ReadFixture(t, rel)
	if strings.HasSuffix(path, ".msg") {
		if eb, err := os.ReadFile(strings.TrimSuffix(path, ".msg") + ".ebxml"); err == nil {
			b = bytes.ReplaceAll(b, []byte("{{ebxml}}"), eb)
		}
	}
	return b
}

// clientRegexp is how NHS England's EPS FHIR API finds the answer in a
// Spine reply (spine-response-handler.ts): the first element of that name,
// with or without the hl7: prefix, to its last end tag.
func clientRegexp(interaction string) *regexp.Regexp {
	return regexp.MustCompile(`(?s)<(?:hl7:)?` + interaction + `[\s>/].*</(?:hl7:)?` + interaction + `>`)
}

// ackTypeCode reads acknowledgement/@typeCode, what the EPS FHIR API
// switches on whatever the answer's interaction.
func ackTypeCode(doc []byte) string {
	m := regexp.MustCompile(`<(?:hl7:)?acknowledgement\b[^>]*\btypeCode="([A-Z]+)"`).FindSubmatch(doc)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// TestEPSClientCapturesInProcess replays the eight requests of the EPS
// FHIR API as captured (path, headers, MIME quirks) and reads each answer
// the way that client does. (internal/e2e does the same against a real
// eps serve process.)
func TestEPSClientCapturesInProcess(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, func() time.Time { return time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC) })
	for _, c := range []struct{ file, answer, ack string }{
		{"parent-prescription-PORX_IN020101SM31.http", "MCCI_IN010000UK13", "AA"},
		{"patient-release-request-PORX_IN132004SM30.http", "PORX_IN070103UK31", "AA"},
		{"dispense-notification-PORX_IN080101SM31.http", "MCCI_IN010000UK13", "AA"},
		{"dispense-claim-PORX_IN090101SM31.http", "MCCI_IN010000UK13", "AA"},
	} {
		raw := testutil.ReadFixture(t, "ebxml", "eps-fhir-api-client", c.file)
		_, path, hdr, body, err := ebxml.ParseRequestFile(raw)
		if err != nil {
			t.Fatal(err)
		}
		h := map[string]string{}
		for k := range hdr {
			if k != "Content-Length" && k != "Content-Type" {
				h[k] = hdr.Get(k)
			}
		}
		r := e.do(nil, "POST", path, hdr.Get("Content-Type"), body, h)
		if r.status != 200 {
			t.Fatalf("%s: HTTP %d\n%s", c.file, r.status, r.raw)
		}
		found := clientRegexp(c.answer).Find(r.raw)
		if found == nil {
			t.Fatalf("%s: the client would find no %s in\n%s", c.file, c.answer, r.raw)
		}
		if _, err := hl7v3.Decode(found); err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if got := ackTypeCode(found); got != c.ack {
			t.Errorf("%s: %s acknowledgement %q, want %s", c.file, c.answer, got, c.ack)
		}
	}
}

// FuzzTransport: whatever reaches the ebXML endpoints, the service answers
// in ebXML that parses (or an empty 202 for a signal), never panics.
func FuzzTransport(f *testing.F) {
	for _, path := range testutil.Glob(f, "ebxml/eps-fhir-api-client/*.http") {
		rel, _ := filepath.Rel(testutil.Fixtures(f, "."), path)
		_, _, hdr, body, err := ebxml.ParseRequestFile(testutil.ReadFixture(f, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(hdr.Get("Content-Type"), body)
	}
	for _, path := range testutil.Glob(f, "ebxml/mhs-adaptor/mhs/inbound/inbound/request/tests/messages/*.msg") {
		rel, _ := filepath.Rel(testutil.Fixtures(f, "."), path)
		f.Add(ebxml.ContentType(ebxml.Boundary), testutil.ReadFixture(f, rel))
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "eps.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc, err := spine.New(spine.Config{Store: st, Now: func() time.Time { return time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	h := svc.HTTPHandler(spine.HTTPOptions{Directory: directory.New(st, time.Second)})
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		for _, path := range []string{"/reliablemessaging/reliablerequest", "/Prescription"} {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", ctype)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code == http.StatusAccepted && rec.Body.Len() == 0 {
				continue
			}
			m, err := ebxml.Parse(rec.Header().Get("Content-Type"), rec.Body.Bytes(), ebxml.Limits{})
			if err != nil {
				t.Fatalf("%s: HTTP %d, the answer does not parse: %v\n%s", path, rec.Code, err, rec.Body.Bytes())
			}
			if rec.Code >= 500 && m.Kind != ebxml.KindErrorList {
				t.Fatalf("%s: HTTP %d with a %v", path, rec.Code, m.Kind)
			}
		}
	})
}

// TestConcurrentDuplicates: the same message arriving on several
// connections at once (a sender retrying while the first is still being
// handled) is handled once; every copy gets the same acknowledgment.
func TestConcurrentDuplicates(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, nil)
	e.register(nil)
	ct, body, _ := tpMessage(t, tpPrescription(t), nil)
	const n = 12
	replies := make(chan tpReply, n)
	for range n {
		go func() { replies <- e.do(nil, "POST", "/reliablemessaging/reliablerequest", ct, body, nil) }()
	}
	var first []byte
	for i := range n {
		r := <-replies
		if r.status != http.StatusAccepted {
			t.Fatalf("HTTP %d\n%s", r.status, r.raw)
		}
		if i == 0 {
			first = r.raw
		} else if !bytes.Equal(r.raw, first) {
			t.Errorf("copy %d got a different acknowledgment", i)
		}
	}
	if items := e.outbox(); len(items) != 1 {
		t.Errorf("%d answers queued for one message", len(items))
	}
}

// TestOversizedMessage: a body over the cap is refused with an ErrorList.
func TestOversizedMessage(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, nil)
	big := bytes.Repeat([]byte("x"), spine.MaxBodyBytes+1)
	r := e.do(nil, "POST", "/reliablemessaging/reliablerequest", ebxml.ContentType(ebxml.Boundary), big, nil)
	if r.status != 500 || r.m == nil || r.m.Kind != ebxml.KindErrorList {
		t.Fatalf("HTTP %d %v", r.status, r.m)
	}
}

// TestAsyncAnswerQueuedOnceAfterCrash: a known sender takes its HL7 answer
// asynchronously (202 + the ebXML Acknowledgment; the answer in the
// outbox). When the service stops between committing the message and
// writing the ebXML receipt (simulated by dropping the receipt) and the
// sender resends the same ebXML message, nothing is applied again and the
// answer is not queued a second time.
func TestAsyncAnswerQueuedOnceAfterCrash(t *testing.T) {
	e := newTPEnv(t, spine.HTTPOptions{}, time.Now)
	e.register(nil)
	ct, body, id := tpMessage(t, tpPrescription(t), nil)
	send := func() tpReply {
		return e.do(nil, http.MethodPost, "/reliablemessaging/reliablerequest", ct, body,
			map[string]string{"SOAPAction": ebxml.ServiceMM + "/PORX_IN020101SM31"})
	}
	answers := func() int {
		n := 0
		for _, it := range e.outbox() {
			if it.RefToMessage == id {
				n++
			}
		}
		return n
	}
	if r := send(); r.status != http.StatusAccepted || r.m == nil || !r.m.Acknowledges(id) {
		t.Fatalf("HTTP %d: want 202 with the ebXML Acknowledgment\n%s", r.status, r.raw)
	}
	if n := answers(); n != 1 {
		t.Fatalf("%d answers queued, want 1", n)
	}
	if err := e.st.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.PruneReceipts(context.Background(), time.Now().Add(24*time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r := send(); r.status != http.StatusAccepted || !r.m.Acknowledges(id) {
		t.Fatalf("resend: HTTP %d\n%s", r.status, r.raw)
	}
	if n := answers(); n != 1 {
		t.Errorf("%d answers queued after the resend, want still 1", n)
	}
	var c store.Counts
	_ = e.st.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		c, err = tx.Counts(context.Background())
		return err
	})
	if c.Records != 1 || c.Messages != 1 {
		t.Errorf("after the resend: %d records, %d messages; want 1 and 1", c.Records, c.Messages)
	}
}
