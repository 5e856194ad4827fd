package spine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openeps/openeps/internal/directory"
	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/tlsconf"
)

// MaxBodyBytes caps an HTTP request body. An EPS prescription is ~20 KB; the
// MHS adaptor allows attachments up to 5,000,000 characters each, so 16 MiB
// leaves room for a few without letting one client fill memory.
const MaxBodyBytes = 16 << 20

// HTTPOptions configure the service's transport. The zero value serves a
// service with no directory: every sender is unknown, gets its answer on
// its own connection and may name any CPA.
type HTTPOptions struct {
	// Directory knows the parties (SDS). A sender found there with an
	// endpoint, and a sync reply mode of signals only (what SDS gives every
	// EPS endpoint), takes its answers as messages of their own: the HTTP
	// reply is the ebXML acknowledgment (202) and the answer goes to the
	// outbox, for the delivery worker. Its CPA IDs are checked, and under
	// mutual TLS its client certificate must name its FQDN.
	Directory *directory.Directory
	// Notify is called when an answer has been put in the outbox (the
	// delivery worker's Kick), so it goes out without waiting for a poll.
	Notify func()
	// KnownSendersOnly refuses messages from parties not in the directory.
	KnownSendersOnly bool
	// SyncWait is how long POST /Prescription (the sync-async front door
	// NHS England's EPS FHIR API calls) holds the request for its answer
	// before replying 202 with a Content-Location to poll (default 25s,
	// below the server's write timeout). A request with "Prefer:
	// respond-async" gets the 202 at once.
	SyncWait time.Duration
	// ProcessTimeout bounds the handling of one message in the background
	// (default 2 minutes).
	ProcessTimeout time.Duration
}

// PollPrefix is where the answers of front-door requests can be polled:
// GET PollPrefix + ebXML MessageId.
const PollPrefix = "/_poll/"

// Handler returns the service's HTTP API with default options (see
// HTTPHandler).
func (s *Service) Handler() http.Handler { return s.HTTPHandler(HTTPOptions{}) }

// HTTPHandler returns the service's HTTP API:
//
//	POST /reliablemessaging/reliablerequest  ebXML: the Spine's MHS endpoint
//	POST /Prescription                        ebXML through the sync-async front door (EPS FHIR API)
//	GET  /_poll/{id}                          the answer to a front-door request answered 202
//	POST /syncservice-mm/mm                   sync SOAP (WS-Addressing) queries
//	GET  /api/prescriptions/{id}              a prescription record as JSON
//	GET  /healthz, /healthcheck               200 when the store answers
//	GET  /metrics                             Prometheus text format
func (s *Service) HTTPHandler(o HTTPOptions) http.Handler {
	if o.SyncWait <= 0 {
		o.SyncWait = 25 * time.Second
	}
	if o.ProcessTimeout <= 0 {
		o.ProcessTimeout = 2 * time.Minute
	}
	t := &transport{svc: s, o: o, inflight: map[string]*call{}, failures: map[string]failure{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reliablemessaging/reliablerequest", func(w http.ResponseWriter, r *http.Request) {
		t.receive(w, r, false)
	})
	mux.HandleFunc("POST /Prescription", func(w http.ResponseWriter, r *http.Request) { t.receive(w, r, true) })
	mux.HandleFunc("GET "+PollPrefix+"{id}", t.poll)
	mux.HandleFunc("POST /syncservice-mm/mm", t.syncSOAP)
	mux.HandleFunc("GET /api/prescriptions/{id}", s.handlePrescription)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /healthcheck", s.handleHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	return s.guard(mux)
}

// MetricsRegisterer is the registry GET /metrics serves, for the parts
// that run beside the service (the delivery worker).
func (s *Service) MetricsRegisterer() prometheus.Registerer { return s.metrics.reg }

// NewHTTPServer returns an http.Server for h with timeouts that stop slow
// or stalled clients from holding connections.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// statusWriter remembers the status code written, for metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// guard counts requests and turns a panic into a 500 (a bug must not take
// the service down or leave the client hanging).
func (s *Service) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.code == 0 {
					httpError(sw, http.StatusInternalServerError, "internal error")
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			s.metrics.httpReqs.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		}()
		next.ServeHTTP(sw, r)
	})
}

// httpError writes a JSON error body.
func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// readBody reads a request body up to MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, fmt.Errorf("request body over %d bytes", MaxBodyBytes)
	}
	return body, err
}

func writeBody(w http.ResponseWriter, code int, ctype string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// transport is the state of one HTTPHandler: the options, the messages
// being handled (so a duplicate arriving meanwhile waits for the first,
// and a poll can tell "not yet" from "unknown"), and the recent failures
// of front-door requests already answered 202.
type transport struct {
	svc *Service
	o   HTTPOptions

	mu       sync.Mutex
	inflight map[string]*call
	failures map[string]failure
}

// call is one message being handled; result is set before done closes.
type call struct {
	done   chan struct{}
	result answer
}

// answer is an HTTP reply.
type answer struct {
	status int
	ctype  string
	body   []byte
}

type failure struct {
	at  time.Time
	ans answer
}

// maxFailures bounds the failures kept for polls.
const maxFailures = 10000

// receive takes one ebXML message. frontDoor is POST /Prescription, where
// the answer always comes back to the sender on this request (or a poll).
func (t *transport) receive(w http.ResponseWriter, r *http.Request, frontDoor bool) {
	s := t.svc
	now := s.now()
	body, err := readBody(w, r)
	if err != nil {
		t.writeErrorList(w, nil, now, ebxml.Errorf(ebxml.OtherError, ebxml.RuleTooLarge, "%v", err))
		return
	}
	msg, err := ebxml.Parse(r.Header.Get("Content-Type"), body, ebxml.Limits{MaxBody: MaxBodyBytes})
	if err != nil {
		var hdr *ebxml.MessageHeader
		if msg != nil {
			hdr = &msg.Header
		}
		t.writeErrorList(w, hdr, now, ebxml.ErrorOf(err))
		return
	}
	switch msg.Kind {
	case ebxml.KindAck, ebxml.KindErrorList:
		// An acknowledgment or error list sent to us on its own: nothing
		// to do, and never answered with an error (that could loop).
		s.log.Info("ebxml signal received", "kind", msg.Kind.String(), "ref", msg.Header.RefToMessageId,
			"from", msg.Header.From.ID)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	ctx := r.Context()
	entry, known, err := t.sender(ctx, msg.Header.From.ID)
	if err != nil {
		t.writeErrorList(w, &msg.Header, now, ebxml.Errorf(ebxml.DeliveryFailure, "", "the directory is unavailable; send the message again"))
		return
	}
	if errs := t.check(r, msg, entry, known); len(errs) > 0 {
		t.writeErrorList(w, &msg.Header, now, errs...)
		return
	}
	id := msg.Header.MessageId
	// ebMS duplicate elimination: a MessageId seen before gets the answer
	// sent the first time, byte for byte, and is not processed again.
	if rc, ok, err := s.receipt(ctx, id); err != nil {
		t.writeErrorList(w, &msg.Header, now, ebxml.Errorf(ebxml.DeliveryFailure, "", "the store is unavailable; send the message again"))
		return
	} else if ok {
		writeBody(w, receiptStatus(rc), rc.ContentType, rc.Response)
		return
	}
	async := !frontDoor && (!msg.Header.SyncReply ||
		(known && entry.Endpoint != "" && !entry.Reliability.AnswersOnConnection()))
	c, first := t.start(id)
	if first {
		go t.process(c, msg, async, now)
	}
	wait := t.o.ProcessTimeout
	if frontDoor {
		wait = t.o.SyncWait
		if strings.Contains(strings.ToLower(r.Header.Get("Prefer")), "respond-async") {
			wait = 0
		}
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-c.done:
		a := c.result
		writeBody(w, a.status, a.ctype, a.body)
	case <-timer.C:
		if !frontDoor {
			t.writeErrorList(w, &msg.Header, now, ebxml.Errorf(ebxml.DeliveryFailure, "", "the message is still being processed; send it again"))
			return
		}
		// The sync-async pattern: come back for the answer.
		w.Header().Set("Content-Location", PollPrefix+id)
		w.WriteHeader(http.StatusAccepted)
	case <-ctx.Done():
		// The sender went away; the message is still handled, and a resend
		// gets the answer from the receipt.
	}
}

// start registers a call for message id, or returns the one in flight.
func (t *transport) start(id string) (*call, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.inflight[id]; ok {
		return c, false
	}
	c := &call{done: make(chan struct{})}
	t.inflight[id] = c
	return c, true
}

// process handles one message in the background (a client that goes away
// or a 202 must not abort its transaction) and publishes the reply.
func (t *transport) process(c *call, msg *ebxml.Message, async bool, now time.Time) {
	s := t.svc
	h := msg.Header
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic", "ebxml", h.MessageId, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			ctype, body := ebxml.ErrorList(&h, ids.NewUUID(), now)
			c.result = answer{http.StatusInternalServerError, ctype, body}
		}
		t.finish(h.MessageId, c)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), t.o.ProcessTimeout)
	defer cancel()
	// A copy that finished just before this one started was not in flight
	// any more, and its receipt is written: answer with it.
	if rc, ok, err := s.receipt(ctx, h.MessageId); err == nil && ok {
		c.result = answer{receiptStatus(rc), rc.ContentType, rc.Response}
		return
	}
	reply, err := s.Handle(ctx, Inbound{Payload: msg.Payload, FromParty: h.From.ID, ReplyAsync: async,
		EbxmlMessageID: h.MessageId, ConversationID: h.ConversationId})
	if err != nil {
		s.log.Error("handle", "ebxml", h.MessageId, "err", err)
		ctype, body := ebxml.ErrorList(&h, ids.NewUUID(), now,
			ebxml.Errorf(ebxml.DeliveryFailure, "", "the message could not be stored; send it again"))
		c.result = answer{http.StatusInternalServerError, ctype, body}
		return
	}
	var a answer
	if async {
		if err := t.queued(ctx, h, reply, now); err != nil {
			s.log.Error("outbox", "ebxml", h.MessageId, "err", err)
			ctype, body := ebxml.ErrorList(&h, ids.NewUUID(), now,
				ebxml.Errorf(ebxml.DeliveryFailure, "", "the answer could not be queued; send the message again"))
			c.result = answer{http.StatusInternalServerError, ctype, body}
			return
		}
		ctype, body := ebxml.Ack(h, ids.NewUUID(), now, s.partyKey)
		a = answer{http.StatusAccepted, ctype, body}
	} else {
		// The sender waits on this connection: the HL7 answer rides with the ack.
		ctype, body, err := ebxml.AckWithPayload(h, ids.NewUUID(), now, s.partyKey, reply.Body)
		if err != nil {
			s.log.Error("sync reply", "ebxml", h.MessageId, "err", err)
			ctype, body = ebxml.ErrorList(&h, ids.NewUUID(), now)
			c.result = answer{http.StatusInternalServerError, ctype, body}
			return
		}
		a = answer{http.StatusOK, ctype, body}
	}
	c.result = t.remember(ctx, h, now, a)
	if async && t.o.Notify != nil {
		t.o.Notify()
	}
}

// finish publishes a call's result and forgets it (a failure is kept a
// while, for a poll).
func (t *transport) finish(id string, c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inflight, id)
	if c.result.status >= 500 {
		if len(t.failures) >= maxFailures {
			cutoff := time.Now().Add(-10 * time.Minute)
			for k, f := range t.failures {
				if f.at.Before(cutoff) || len(t.failures) >= maxFailures {
					delete(t.failures, k)
				}
			}
		}
		t.failures[id] = failure{at: time.Now(), ans: c.result}
	} else {
		delete(t.failures, id)
	}
	close(c.done)
}

// queued makes sure the answer of an async message is in the outbox. The
// core queues it with the state change; it does not for a replay of an HL7
// message handled before (here under a new ebXML MessageId, which must get
// its own answer) nor for a document it could not store at all. Queuing
// under the answer's ID is idempotent (a duplicate ID is already queued).
func (t *transport) queued(ctx context.Context, h ebxml.MessageHeader, reply Reply, now time.Time) error {
	if !reply.Replay && reply.MessageID != "" && !strings.HasPrefix(reply.Outcome, hl7v3.AckReject) {
		return nil // the core queued it in its transaction
	}
	id := reply.ID
	if id == "" || reply.Replay {
		id = answerOutboxID(h.MessageId, reply.ID)
	}
	err := t.svc.store.Update(ctx, func(tx store.Tx) error {
		return tx.Enqueue(ctx, store.OutboxItem{ID: id, CreatedAt: now, Destination: h.From.ID,
			Interaction: reply.Interaction, RefToMessage: h.MessageId, Conversation: h.ConversationId,
			Body: reply.Body, State: store.OutboxPending, NextAttemptAt: now})
	})
	if errors.Is(err, store.ErrDuplicate) {
		return nil
	}
	return err
}

// receiptStatus is the HTTP status a stored answer goes out with: 200 for
// an answer that carries the HL7 reply (multipart), 202 for a bare ack.
func receiptStatus(rc store.Receipt) int {
	if strings.HasPrefix(strings.ToLower(rc.ContentType), "multipart/") {
		return http.StatusOK
	}
	return http.StatusAccepted
}

// sender looks up the party a message comes from.
func (t *transport) sender(ctx context.Context, partyKey string) (directory.Entry, bool, error) {
	if t.o.Directory == nil || partyKey == "" {
		return directory.Entry{}, false, nil
	}
	return t.o.Directory.ByPartyKey(ctx, partyKey)
}

// check makes the Spine's checks of a received message: the ebXML header
// and manifest (reliable messaging blocks, one manifest reference, the mm
// service, our party key, an EPS interaction the Spine takes, eb:Action
// matching the payload, the SOAPAction header), the sender's CPA, and who
// the sender is.
func (t *transport) check(r *http.Request, msg *ebxml.Message, entry directory.Entry, known bool) []*ebxml.Error {
	s := t.svc
	o := ebxml.SpineEPS
	o.Party = s.partyKey
	o.SOAPAction = r.Header.Get("SOAPAction")
	o.Now = s.now()
	o.KnownAction = func(service, action string) bool { return service == ebxml.ServiceMM && isEPS(action) }
	o.KnownCPA = func(h ebxml.MessageHeader) bool { return !known || entry.AcceptsCPA(h.CPAId) }
	var errs []*ebxml.Error
	for _, e := range msg.Check(o) {
		// An eb:Action that contradicts a payload the Spine would take is a
		// transport error. A payload that is not an interaction the Spine
		// takes at all is left to the HL7 layer, whose answer says exactly
		// what is wrong in the terms the sending application reads.
		if e.Rule == ebxml.RuleActionPayload {
			if _, root := sniff(msg.Payload); !spineTakes(root) {
				continue
			}
		}
		errs = append(errs, e)
	}
	if !known && t.o.KnownSendersOnly && msg.Header.From.ID != "" {
		errs = append(errs, &ebxml.Error{Code: ebxml.ValueNotRecognized,
			Location: "eb:From/eb:PartyId", Text: "Unknown eb:From PartyId " + msg.Header.From.ID})
	}
	if known && entry.FQDN != "" {
		if cert := tlsconf.PeerCertificate(r); cert != nil && cert.VerifyHostname(entry.FQDN) != nil {
			errs = append(errs, &ebxml.Error{Code: ebxml.SecurityFailure, Location: "eb:From/eb:PartyId",
				Text: fmt.Sprintf("the client certificate (%s) is not the certificate of %s (%s)",
					cert.Subject.CommonName, msg.Header.From.ID, entry.FQDN)})
		}
	}
	return errs
}

// isEPS reports whether action is an EPS interaction (in its SM or UK
// spelling), whichever side sends it.
func isEPS(action string) bool {
	in := hl7v3.Canonical(action)
	for _, known := range hl7v3.Interactions() {
		if known == in {
			return true
		}
	}
	return false
}

// spineTakes reports whether action is an EPS interaction the Spine
// receives.
func spineTakes(action string) bool { return isEPS(action) && !spineSends[hl7v3.Canonical(action)] }

// writeErrorList answers with an ebXML ErrorList. HTTP 500, as the Spine
// answers a message it will not take (the MHS adaptor reads NACKs from 500s).
func (t *transport) writeErrorList(w http.ResponseWriter, hdr *ebxml.MessageHeader, now time.Time, errs ...*ebxml.Error) {
	ctype, out := ebxml.ErrorList(hdr, ids.NewUUID(), now, errs...)
	writeBody(w, http.StatusInternalServerError, ctype, out)
}

// receipt returns what was answered to an ebXML MessageId received before.
func (s *Service) receipt(ctx context.Context, id string) (store.Receipt, bool, error) {
	if id == "" {
		return store.Receipt{}, false, nil
	}
	var rc store.Receipt
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		rc, err = tx.Receipt(ctx, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Receipt{}, false, nil
	}
	return rc, err == nil, err
}

// remember stores the answer to an ebXML message and returns the answer to
// send: this one, or — when the same MessageId was answered meanwhile by
// another process on the same store — that one. Failing to remember is not
// fatal: a resend is then recognised by its HL7 message id and answered
// the same way.
func (t *transport) remember(ctx context.Context, h ebxml.MessageHeader, now time.Time, a answer) answer {
	s := t.svc
	if h.MessageId == "" {
		return a
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		return tx.PutReceipt(ctx, store.Receipt{MessageID: h.MessageId, FromParty: h.From.ID, ReceivedAt: now,
			ContentType: a.ctype, Response: a.body})
	})
	if errors.Is(err, store.ErrDuplicate) {
		if rc, ok, rerr := s.receipt(ctx, h.MessageId); rerr == nil && ok {
			return answer{receiptStatus(rc), rc.ContentType, rc.Response}
		}
	} else if err != nil {
		s.log.Warn("receipt not stored", "ebxml", h.MessageId, "err", err)
	}
	return a
}

// poll answers GET /_poll/{id}: the answer once there (200), 202 with the
// same Content-Location while the message is being handled, the failure if
// handling failed, 404 for an ID never received.
func (t *transport) poll(w http.ResponseWriter, r *http.Request) {
	s := t.svc
	id := r.PathValue("id")
	if len(id) > 128 {
		httpError(w, http.StatusBadRequest, "message ID too long")
		return
	}
	t.mu.Lock()
	_, busy := t.inflight[id]
	f, failed := t.failures[id]
	t.mu.Unlock()
	if busy {
		w.Header().Set("Content-Location", PollPrefix+id)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	rc, ok, err := s.receipt(r.Context(), id)
	switch {
	case err != nil:
		httpError(w, http.StatusServiceUnavailable, "store unavailable")
	case ok:
		if asid := r.Header.Get("nhsd-asid"); asid != "" && !t.pollerMaySee(r.Context(), rc, asid) {
			httpError(w, http.StatusForbidden, "that answer is not for ASID "+asid)
			return
		}
		writeBody(w, http.StatusOK, rc.ContentType, rc.Response)
	case failed:
		writeBody(w, f.ans.status, f.ans.ctype, f.ans.body)
	default:
		httpError(w, http.StatusNotFound, "no message "+id+" was received")
	}
}

// pollerMaySee reports whether the ASID a poller names (nhsd-asid) may read
// an answer: when the directory knows the sender of the message, its ASID
// must be the one named.
func (t *transport) pollerMaySee(ctx context.Context, rc store.Receipt, asid string) bool {
	e, known, err := t.sender(ctx, rc.FromParty)
	if err != nil || !known || e.ASID == "" {
		return true
	}
	return e.ASID == asid
}

// syncSOAP answers POST /syncservice-mm/mm, the Spine's synchronous SOAP
// service (tracker queries): a WS-Addressing envelope with the HL7 query in
// SOAP:Body, answered by a SOAP response, or a SOAP fault with the Spine's
// TMS codes. Only query interactions (the mmquery service) are taken here;
// the state-changing EPS interactions go through ebXML.
func (t *transport) syncSOAP(w http.ResponseWriter, r *http.Request) {
	s := t.svc
	body, err := readBody(w, r)
	if err != nil {
		writeFault(w, "Client", err.Error(), ebxml.Errorf(ebxml.OtherError, ebxml.RuleTooLarge, "%v", err))
		return
	}
	msg, err := ebxml.Parse(r.Header.Get("Content-Type"), body, ebxml.Limits{MaxBody: MaxBodyBytes})
	if err != nil {
		writeFault(w, "Client", "The message is not well formed", ebxml.ErrorOf(err))
		return
	}
	if msg.Kind != ebxml.KindSOAP {
		writeFault(w, "Client", "not a synchronous SOAP message",
			ebxml.Errorf(ebxml.NotSupported, ebxml.RuleUnsupportedMessage, "a %s was sent to the sync service", msg.Kind))
		return
	}
	if errs := ebxml.CheckSync(msg); len(errs) > 0 {
		writeFault(w, "Client", "The message is not well formed", errs...)
		return
	}
	sh := *msg.SOAP
	service := sh.Action
	if i := strings.LastIndexByte(service, '/'); i >= 0 {
		service = service[:i]
	}
	if service != "urn:nhs:names:services:mmquery" {
		writeFault(w, "Client", "interaction not available over sync SOAP",
			ebxml.Errorf(ebxml.NotSupported, ebxml.RuleAction, "%s is not a sync service interaction; send it as ebXML", sh.Action))
		return
	}
	if sa := strings.Trim(strings.TrimSpace(r.Header.Get("SOAPAction")), `"`); sa != "" && sa != sh.Action {
		writeFault(w, "Client", "SOAPAction mismatch",
			ebxml.Errorf(ebxml.Inconsistent, ebxml.RuleSOAPActionHeader, "the SOAPAction header %q does not match wsa:Action %s", sa, sh.Action))
		return
	}
	reply, err := s.Handle(r.Context(), Inbound{Payload: msg.Payload, FromParty: sh.FromASID, EbxmlMessageID: sh.ID()})
	if err != nil {
		s.log.Error("sync", "message", sh.MessageID, "err", err)
		writeFault(w, "Server", "System failure to process message", ebxml.ErrorOf(err))
		return
	}
	ctype, out, err := ebxml.SyncResponse(sh, ebxml.SOAPHeader{MessageID: ids.NewUUID(), From: s.partyKey, To: sh.From,
		FromASID: s.asid, ToASID: sh.FromASID}, reply.Body)
	if err != nil {
		writeFault(w, "Server", "System failure to process message", ebxml.ErrorOf(err))
		return
	}
	writeBody(w, http.StatusOK, ctype, out)
}

// writeFault answers with a Spine SOAP fault (HTTP 500).
func writeFault(w http.ResponseWriter, code, text string, errs ...*ebxml.Error) {
	ctype, out := ebxml.SOAPFault(code, text, ebxml.FaultErrorsOf(errs...)...)
	writeBody(w, http.StatusInternalServerError, ctype, out)
}

// handleHealth answers 200 only when the store does.
func (s *Service) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		httpError(w, http.StatusServiceUnavailable, "store unavailable: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

// PruneReceipts forgets the ebXML receipts older than keep at the
// service's clock (duplicate elimination needs them for the senders'
// persist duration; polls for a while after). It returns how many went.
func (s *Service) PruneReceipts(ctx context.Context, keep time.Duration) (int, error) {
	before := s.now().Add(-keep)
	var n int
	err := s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.PruneReceipts(ctx, before)
		return err
	})
	return n, err
}
