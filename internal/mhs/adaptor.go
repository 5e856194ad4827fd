// Package mhs is the client-side adaptor `eps mhs`: the REST API of the NHS
// MHS adaptor (NHSDigital/integration-adaptor-mhs, mhs/outbound/mhsapi.json)
// in front of the Spine's ebXML, so that a prescribing or dispensing system
// written for that adaptor works unchanged — same path, headers
// (Interaction-Id, Message-Id, Correlation-Id, wait-for-response, from-asid,
// ods-code), JSON body and status codes.
//
// Outbound, a client request becomes an ebXML reliable message to the
// Spine, sent with retries (the Spine eliminates duplicates by eb:MessageId,
// which is the client's Message-Id), and the client gets 202 once the Spine
// has acknowledged it — or, with wait-for-response: true, 200 with the
// Spine's answer when it arrives.
//
// Inbound, the adaptor's own ebXML endpoint takes the Spine's async
// messages: it acknowledges each, answers a duplicate with the original
// acknowledgment, and keeps every message — payload, attachments and
// header fields, byte for byte — in a durable inbox (the same store
// transaction as the receipt used for duplicate elimination) until the
// client takes it (GET /inbox, long poll, then POST /inbox/{seq}/ack) or a
// configured callback URL has accepted it. Where the NHS adaptor needs a
// queue broker, a state store and a route lookup service, this is one
// process and one store.
package mhs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/signature"
	"github.com/openeps/openeps/internal/store"
)

// Spine's identity in the fixtures, the defaults of Config.
const (
	DefaultSpinePartyKey = "YES-0000806"
	DefaultSpineASID     = "567456789789"
	DefaultCPAId         = "S1001A1630"
)

// Config is what an Adaptor needs. Store, PartyKey and SpineURL are required.
type Config struct {
	// Store keeps the inbox and the receipts of inbound messages.
	Store store.Store
	// PartyKey and ASID are this MHS's identity (eb:From of what it sends;
	// inbound messages must be addressed to PartyKey).
	PartyKey string
	ASID     string
	// SpineURL is where the Spine is: https://host:port, to which
	// /reliablemessaging/reliablerequest (ebXML) and /syncservice-mm/mm
	// (sync SOAP) are added, or the full ebXML endpoint URL.
	SpineURL      string
	SpinePartyKey string // default YES-0000806
	SpineASID     string // default 567456789789
	CPAId         string // default S1001A1630 (EPS)
	// Client sends to the Spine (with our certificate for its mutual TLS).
	Client *http.Client
	// Retries and RetryInterval are the Spine's reliability (SDS: 2 and
	// PT1M, the defaults): how often a send that failed on the way is
	// repeated, and how long to wait before each.
	Retries       int
	RetryInterval time.Duration
	// SendTimeout bounds one attempt (default 30s).
	SendTimeout time.Duration
	// WaitTimeout bounds how long wait-for-response holds the client for
	// the async answer (default 60s); the answer, when it comes later,
	// stays in the inbox.
	WaitTimeout time.Duration
	// CallbackURL, when set, receives every inbox message as JSON (POST);
	// a 2xx answer marks it delivered. CallbackClient sends there.
	CallbackURL    string
	CallbackClient *http.Client
	// InboundAckDelay holds the acknowledgment of every new inbound message
	// back this long after the message is stored (a duplicate is answered
	// from its receipt at once): a fault-injection knob for tests of a slow
	// receiver whose first acknowledgment is lost. Zero in production.
	InboundAckDelay time.Duration
	// Trust, when set, makes the adaptor verify every prescription in a
	// release response it receives (PORX_IN070101 / 070103) as a dispensing
	// system must before dispensing (hl7v3.md §7.5), and put the verdicts
	// in the inbox message (Message.Signatures). A failed one is for the
	// pharmacy system to return with reason 0005 "Invalid digital
	// signature"; the adaptor does not act for it.
	Trust  func() *signature.TrustStore
	Logger *slog.Logger
}

// Adaptor is one running MHS adaptor. It is safe for concurrent use.
type Adaptor struct {
	cfg      Config
	log      *slog.Logger
	ebxmlURL string
	syncURL  string

	mu      sync.Mutex
	waiters map[string][]chan Message // client Message-Id → calls waiting for its answer
	claimed map[int64]bool            // inbox items being handed to a waiting call
	arrival chan struct{}             // closed and replaced on every new inbox item
}

// New checks cfg and returns an adaptor.
func New(cfg Config) (*Adaptor, error) {
	if cfg.Store == nil || cfg.PartyKey == "" || cfg.SpineURL == "" {
		return nil, errors.New("mhs: an adaptor needs a store, its party key and the Spine's URL")
	}
	if cfg.SpinePartyKey == "" {
		cfg.SpinePartyKey = DefaultSpinePartyKey
	}
	if cfg.SpineASID == "" {
		cfg.SpineASID = DefaultSpineASID
	}
	if cfg.CPAId == "" {
		cfg.CPAId = DefaultCPAId
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.CallbackClient == nil {
		cfg.CallbackClient = cfg.Client
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = time.Minute
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.SpineURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("mhs: Spine URL %q is not an http(s) URL", cfg.SpineURL)
	}
	base := u.Scheme + "://" + u.Host
	a := &Adaptor{cfg: cfg, log: cfg.Logger, ebxmlURL: cfg.SpineURL, syncURL: base + "/syncservice-mm/mm",
		waiters: map[string][]chan Message{}, claimed: map[int64]bool{}, arrival: make(chan struct{})}
	if u.Path == "" || u.Path == "/" {
		a.ebxmlURL = base + "/reliablemessaging/reliablerequest"
	}
	return a, nil
}

// MaxHold is the longest a client call can be held (every attempt, the
// waits between them, and the wait for the answer): the write timeout its
// server needs.
func (a *Adaptor) MaxHold() time.Duration {
	c := a.cfg
	return time.Duration(c.Retries+1)*c.SendTimeout + time.Duration(c.Retries)*c.RetryInterval + c.WaitTimeout
}

// ClientHandler is the API the client system calls:
//
//	POST /                     send a message (the MHS adaptor's API)
//	GET  /healthcheck          200
//	GET  /inbox                messages received, not yet acknowledged (long poll: ?wait=30s)
//	GET  /inbox/{seq}          one message, whatever its state
//	POST /inbox/{seq}/ack      the client has it (also DELETE /inbox/{seq})
func (a *Adaptor) ClientHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", a.handleSend)
	mux.HandleFunc("GET /healthcheck", a.handleHealth)
	mux.HandleFunc("GET /inbox", a.handleInbox)
	mux.HandleFunc("GET /inbox/{seq}", a.handleInboxItem)
	mux.HandleFunc("POST /inbox/{seq}/ack", a.handleInboxAck)
	mux.HandleFunc("DELETE /inbox/{seq}", a.handleInboxAck)
	return guard(a.log, mux)
}

// InboundHandler is the ebXML endpoint the Spine sends to:
//
//	POST /reliablemessaging/reliablerequest (and POST /)
//	GET  /healthcheck
func (a *Adaptor) InboundHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reliablemessaging/reliablerequest", a.handleInbound)
	mux.HandleFunc("POST /{$}", a.handleInbound)
	mux.HandleFunc("GET /healthcheck", a.handleHealth)
	return guard(a.log, mux)
}

// guard turns a panic into a 500: a bug must not take the adaptor down.
func guard(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				textError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (a *Adaptor) handleHealth(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

// textError answers as the adaptor does for 4xx/5xx: text/plain.
func textError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// handleSend is POST /: one message for the Spine.
func (a *Adaptor) handleSend(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			textError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request is too large. MaxRequestSize=%d", MaxRequestBody))
			return
		}
		textError(w, http.StatusBadRequest, "could not read the request body")
		return
	}
	req, err := ParseRequest(r.Header, body, ids.NewUUID)
	if err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			textError(w, re.Status, re.Msg)
			return
		}
		textError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set(HeaderCorrelationID, req.CorrelationID)
	w.Header().Set(HeaderMessageID, req.MessageID)
	a.log.Info("outbound", "message", req.MessageID, "correlation", req.CorrelationID, "interaction", req.InteractionID,
		"wait", req.WaitForResponse, "ods", req.ODSCode)
	status, ctype, out := a.Send(r.Context(), req)
	if status >= 400 {
		textError(w, status, string(out))
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// Send carries a checked request to the Spine and returns what the client
// gets: 202 (no body) once the Spine acknowledged an async message; 200
// with the answer (text/xml) for a sync interaction or a waited one; 500
// with the reason when the Spine refused it or could not be reached.
func (a *Adaptor) Send(ctx context.Context, req *Request) (status int, ctype string, body []byte) {
	if req.Interaction.Workflow == WorkflowSync {
		return a.sendSync(ctx, req)
	}
	m := &ebxml.Message{
		Header: ebxml.MessageHeader{
			From:                 ebxml.Party{ID: a.cfg.PartyKey, Type: ebxml.PartyType},
			To:                   ebxml.Party{ID: a.cfg.SpinePartyKey, Type: ebxml.PartyType},
			CPAId:                a.cfg.CPAId,
			ConversationId:       req.CorrelationID,
			Service:              req.Interaction.Service,
			Action:               req.InteractionID,
			MessageId:            req.MessageID,
			SentAt:               time.Now().UTC(),
			DuplicateElimination: true,
			AckRequested:         true,
			AckActor:             ebxml.ActorToPartyMSH,
			SyncReply:            true,
			SyncReplyActor:       ebxml.ActorNext,
		},
		Payload:            req.Payload,
		PayloadContentType: "text/xml; charset=UTF-8",
		Attachments:        req.Attachments,
	}
	contentType, msg, err := ebxml.Build(m)
	if err != nil {
		return http.StatusBadRequest, "", []byte("Invalid request: " + err.Error())
	}
	var wait chan Message
	if req.WaitForResponse {
		// Registered before sending: the answer may come in before the
		// Spine's acknowledgment does.
		wait = a.addWaiter(req.MessageID)
		defer a.removeWaiter(req.MessageID, wait)
	}
	reply, err := a.deliver(ctx, m.Header, contentType, msg)
	if err != nil {
		a.log.Warn("outbound failed", "message", req.MessageID, "err", err)
		return http.StatusInternalServerError, "", []byte(err.Error())
	}
	if len(reply.Payload) > 0 {
		// The Spine answered on the connection (it does for a sender it
		// has no endpoint for): keep the answer like any other, so it is
		// never lost, and hand it over at once if the client waits.
		if _, err := a.keep(ctx, reply, nil); err != nil {
			a.log.Error("keep the answer", "message", req.MessageID, "err", err)
			if wait != nil {
				return http.StatusOK, "text/xml", reply.Payload
			}
		}
	}
	if wait == nil {
		return http.StatusAccepted, "text/xml", nil
	}
	t := time.NewTimer(a.cfg.WaitTimeout)
	defer t.Stop()
	select {
	case got := <-wait:
		// Delivered to the caller: it is no longer offered by the inbox.
		a.delivered(got.Seq)
		return http.StatusOK, "text/xml", []byte(got.Payload)
	case <-t.C:
		return http.StatusInternalServerError, "", []byte("No async response received from sync-async store")
	case <-ctx.Done():
		return http.StatusInternalServerError, "", []byte("the client went away")
	}
}

// deliver sends an ebXML message to the Spine until it is acknowledged,
// refused, or out of retries.
func (a *Adaptor) deliver(ctx context.Context, h ebxml.MessageHeader, contentType string, msg []byte) (*ebxml.Message, error) {
	var last error
	for attempt := 0; attempt <= a.cfg.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(a.cfg.RetryInterval):
			case <-ctx.Done():
				return nil, fmt.Errorf("gave up when the client went away: %w", last)
			}
		}
		reply, retry, err := a.attempt(ctx, h, contentType, msg)
		if err == nil {
			return reply, nil
		}
		last = err
		if !retry {
			return nil, err
		}
		a.log.Info("outbound retry", "message", h.MessageId, "attempt", attempt+1, "err", err)
	}
	return nil, fmt.Errorf("no acknowledgment after %d attempts: %w", a.cfg.Retries+1, last)
}

// attempt is one POST to the Spine. It reports whether a failure may be
// retried: refusals (eb:ErrorList, non-retriable faults) may not.
func (a *Adaptor) attempt(ctx context.Context, h ebxml.MessageHeader, contentType string, msg []byte) (*ebxml.Message, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.SendTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, a.ebxmlURL, bytes.NewReader(msg))
	if err != nil {
		return nil, false, err
	}
	hr.Header.Set("Content-Type", contentType)
	hr.Header.Set("SOAPAction", h.SOAPAction())
	resp, err := a.cfg.Client.Do(hr)
	if err != nil {
		return nil, true, fmt.Errorf("error making outbound request: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxRequestBody+1))
	if err != nil {
		return nil, true, fmt.Errorf("error reading the Spine's answer: %v", err)
	}
	reply, perr := ebxml.Parse(resp.Header.Get("Content-Type"), body, ebxml.Limits{})
	if reply != nil && reply.Acknowledges(h.MessageId) {
		if perr != nil {
			// Acknowledged, but what rode with the ack is unreadable.
			a.log.Warn("the Spine's answer beside its acknowledgment is unreadable", "message", h.MessageId, "err", perr)
			reply.Payload = nil
		}
		return reply, false, nil
	}
	if perr == nil {
		switch reply.Kind {
		case ebxml.KindErrorList:
			var parts []string
			for _, e := range reply.Errors() {
				parts = append(parts, e.Description())
			}
			return nil, false, fmt.Errorf("the Spine refused the message (ebXML errors): %s", strings.Join(parts, "; "))
		case ebxml.KindFault:
			return nil, reply.Fault.Retriable(), fmt.Errorf("the Spine answered with a SOAP fault: %v", reply.Fault)
		}
	}
	return nil, true, fmt.Errorf("no acknowledgment in the Spine's answer (HTTP %d)", resp.StatusCode)
}

// sendSync carries a sync interaction (a tracker query) as sync SOAP and
// returns the HL7 answer.
func (a *Adaptor) sendSync(ctx context.Context, req *Request) (int, string, []byte) {
	from := req.FromASID
	if from == "" {
		from = a.cfg.ASID
	}
	action := req.Interaction.Service + "/" + req.InteractionID
	ctype, body, err := ebxml.SyncRequest(ebxml.SOAPHeader{MessageID: req.MessageID, Action: action, To: a.syncURL,
		ToASID: a.cfg.SpineASID, FromASID: from}, req.Payload)
	if err != nil {
		return http.StatusBadRequest, "", []byte("Invalid request: " + err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.SendTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, a.syncURL, bytes.NewReader(body))
	if err != nil {
		return http.StatusInternalServerError, "", []byte(err.Error())
	}
	hr.Header.Set("Content-Type", ctype)
	hr.Header.Set("SOAPAction", action)
	resp, err := a.cfg.Client.Do(hr)
	if err != nil {
		return http.StatusInternalServerError, "", []byte("Error making outbound request: " + err.Error())
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, MaxRequestBody))
	if err != nil {
		return http.StatusInternalServerError, "", []byte("Error reading the Spine's answer")
	}
	m, err := ebxml.Parse(resp.Header.Get("Content-Type"), out, ebxml.Limits{})
	switch {
	case err != nil:
		return http.StatusInternalServerError, "", []byte("Unable to handle response returned from Spine: " + err.Error())
	case m.Kind == ebxml.KindFault:
		return http.StatusInternalServerError, "", []byte(m.Fault.Error())
	case m.Kind != ebxml.KindSOAP || len(m.Payload) == 0:
		return http.StatusInternalServerError, "", []byte("Didn't get expected response from Spine")
	}
	return http.StatusOK, "text/xml", m.Payload
}

// handleInbound takes one ebXML message from the Spine.
func (a *Adaptor) handleInbound(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if err != nil {
		writeErrorList(w, nil, now, ebxml.Errorf(ebxml.OtherError, ebxml.RuleTooLarge, "the message is over %d bytes", MaxRequestBody))
		return
	}
	m, err := ebxml.Parse(r.Header.Get("Content-Type"), body, ebxml.Limits{MaxBody: MaxRequestBody})
	if err != nil {
		var hdr *ebxml.MessageHeader
		if m != nil {
			hdr = &m.Header
		}
		writeErrorList(w, hdr, now, ebxml.ErrorOf(err))
		return
	}
	if m.Kind == ebxml.KindAck || m.Kind == ebxml.KindErrorList {
		a.log.Info("ebxml signal received", "kind", m.Kind.String(), "ref", m.Header.RefToMessageId)
		w.WriteHeader(http.StatusOK)
		return
	}
	var errs []*ebxml.Error
	for _, e := range m.Check(ebxml.CheckOptions{Party: a.cfg.PartyKey}) {
		if e.Rule == ebxml.RuleToParty {
			// Not for us: the MHS adaptor's answer (TMS Error Base 501314).
			c := *e
			c.SpineCode = ebxml.SpineInvalidToPartyType
			e = &c
		}
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		writeErrorList(w, &m.Header, now, errs...)
		return
	}
	ctx := r.Context()
	var rc store.Receipt
	err = a.cfg.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		rc, err = tx.Receipt(ctx, m.Header.MessageId)
		return err
	})
	switch {
	case err == nil:
		// A duplicate: the original acknowledgment again, nothing stored twice.
		writeBody(w, http.StatusOK, rc.ContentType, rc.Response)
		return
	case !errors.Is(err, store.ErrNotFound):
		writeErrorList(w, &m.Header, now, ebxml.Errorf(ebxml.DeliveryFailure, "", "the inbox is unavailable; send the message again"))
		return
	}
	ctype, ack := ebxml.Ack(m.Header, ids.NewUUID(), now, a.cfg.PartyKey)
	receipt := &store.Receipt{MessageID: m.Header.MessageId, FromParty: m.Header.From.ID, ReceivedAt: now,
		ContentType: ctype, Response: ack}
	dup, err := a.keep(ctx, m, receipt)
	if err != nil {
		a.log.Error("inbound not stored", "message", m.Header.MessageId, "err", err)
		writeErrorList(w, &m.Header, now, ebxml.Errorf(ebxml.DeliveryFailure, "", "the message could not be stored; send it again"))
		return
	}
	if dup != nil {
		ctype, ack = dup.ContentType, dup.Response
	}
	if d := a.cfg.InboundAckDelay; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	writeBody(w, http.StatusOK, ctype, ack)
}

// keep keeps a received message in the inbox — with its receipt, in one
// transaction, when it came as a message of its own — and offers it to a
// call waiting for it. A message already there is not stored again: dup
// is then the receipt of the first (nil if it had none).
func (a *Adaptor) keep(ctx context.Context, m *ebxml.Message, receipt *store.Receipt) (dup *store.Receipt, err error) {
	msg := messageOf(m, time.Now())
	if a.cfg.Trust != nil {
		msg.Signatures = checkSignatures(m, a.cfg.Trust(), msg.ReceivedAt)
	}
	it, err := msg.item()
	if err != nil {
		return nil, err
	}
	var seq int64
	err = a.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if seq, err = tx.PutInbox(ctx, it); err != nil {
			return err
		}
		if receipt != nil {
			return tx.PutReceipt(ctx, *receipt)
		}
		return nil
	})
	if errors.Is(err, store.ErrDuplicate) {
		// Raced in on another connection and stored there.
		if receipt != nil {
			var rc store.Receipt
			if rerr := a.cfg.Store.View(ctx, func(tx store.ReadTx) error {
				var err error
				rc, err = tx.Receipt(ctx, receipt.MessageID)
				return err
			}); rerr == nil {
				return &rc, nil
			}
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	msg.Seq, msg.State = seq, string(store.InboxNew)
	a.log.Info("inbound", "message", msg.MessageID, "ref", msg.RefToMessageID, "interaction", msg.InteractionID,
		"seq", seq, "attachments", len(msg.Attachments))
	a.arrived(msg)
	return nil, nil
}

// addWaiter registers a call waiting for the answer to message id.
func (a *Adaptor) addWaiter(id string) chan Message {
	ch := make(chan Message, 1)
	a.mu.Lock()
	a.waiters[id] = append(a.waiters[id], ch)
	a.mu.Unlock()
	return ch
}

// removeWaiter forgets a waiting call. An answer handed to it that it did
// not take goes back to the inbox.
func (a *Adaptor) removeWaiter(id string, ch chan Message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	list := a.waiters[id]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(a.waiters, id)
	} else {
		a.waiters[id] = list
	}
	select {
	case m := <-ch:
		delete(a.claimed, m.Seq)
		a.signal()
	default:
	}
}

// arrived offers a new inbox message to a call waiting for it, and wakes
// the long polls and the callback.
func (a *Adaptor) arrived(m Message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if m.RefToMessageID != "" {
		for _, ch := range a.waiters[m.RefToMessageID] {
			select {
			case ch <- m:
				a.claimed[m.Seq] = true
				return
			default:
			}
		}
	}
	a.signal()
}

// signal wakes everyone waiting for inbox changes. a.mu must be held.
func (a *Adaptor) signal() {
	close(a.arrival)
	a.arrival = make(chan struct{})
}

// delivered marks an inbox message handed over.
func (a *Adaptor) delivered(seq int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.cfg.Store.Update(ctx, func(tx store.Tx) error {
		return tx.SetInboxState(ctx, seq, store.InboxDelivered)
	}); err != nil {
		a.log.Error("inbox: mark delivered", "seq", seq, "err", err)
	}
	a.mu.Lock()
	delete(a.claimed, seq)
	a.mu.Unlock()
}

func writeBody(w http.ResponseWriter, status int, ctype string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeErrorList answers an inbound message with an ebXML ErrorList (500).
func writeErrorList(w http.ResponseWriter, hdr *ebxml.MessageHeader, now time.Time, errs ...*ebxml.Error) {
	ctype, out := ebxml.ErrorList(hdr, ids.NewUUID(), now, errs...)
	writeBody(w, http.StatusInternalServerError, ctype, out)
}

// PruneReceipts forgets the receipts of inbound messages received before
// the given time (duplicate elimination needs them for the senders'
// persist duration). The messages stay in the inbox. It returns how many
// went.
func (a *Adaptor) PruneReceipts(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := a.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.PruneReceipts(ctx, before)
		return err
	})
	return n, err
}
