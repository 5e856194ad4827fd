// Package delivery sends the outbox: the messages the service committed, in
// the transaction of the state change that produced them, for another
// system — async answers, forwarded messages, notifications. Each item goes
// out as an ebXML reliable message to the endpoint the directory gives for
// its destination, with its outbox ID as eb:MessageId, and is marked done
// only when the receiver's eb:Acknowledgment for that ID comes back. Other
// answers decide what happens next, by the MHS adaptor's rules: an
// eb:ErrorList means the receiver read the message and refused it (failed,
// never sent again); a SOAP fault is retried if its codes say so; a network
// failure, a timeout or an unreadable answer is retried with backoff, up to
// the receiver's nhsMHSRetries.
//
// Sending again is safe because receivers eliminate duplicates by
// eb:MessageId (ebMS 2.0 §6.5): a receiver that already has a message
// answers with its original acknowledgment. That is what makes delivery
// exactly-once in effect while the transport is at-least-once.
//
// Everything the worker knows is in the store, so it survives a restart:
// an item is claimed by moving its next attempt past the send timeout (a
// lease) and counting the attempt before it is sent; a process killed
// mid-send leaves it claimed, and it is sent again when the lease runs out.
package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openeps/openeps/internal/directory"
	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/store"
)

// Resolver finds the endpoint of an outbox destination (a party key,
// "asid:…", a role): *directory.Directory.
type Resolver interface {
	Resolve(ctx context.Context, destination string) (directory.Entry, error)
}

// Config is what a Worker needs. Store, Directory and PartyKey are required.
type Config struct {
	Store     store.Store
	Directory Resolver
	// PartyKey is our own party key (eb:From of everything sent).
	PartyKey string
	// DefaultCPAId is the eb:CPAId used for a receiver whose entry names
	// none (default S1001A1630, the EPS CPA).
	DefaultCPAId string
	// Client sends the messages; it carries the TLS configuration (our
	// certificate for the receivers' mutual TLS). nil: a plain client.
	Client *http.Client
	// ServiceClock is the clock that stamped the outbox items (the
	// service's, which `eps serve --now` may fix). The worker schedules in
	// real time, starting from the later of the two clocks, so that items
	// stamped by a clock fixed in the future are due at once and backoff
	// still runs. nil: time.Now.
	ServiceClock func() time.Time
	// PollInterval is how often the outbox is read when nothing kicked the
	// worker (default 1s).
	PollInterval time.Duration
	// Concurrency is how many messages are in flight at once (default 4).
	Concurrency int
	// SendTimeout bounds one attempt, connection to acknowledgment
	// (default 30s).
	SendTimeout time.Duration
	// MaxBackoff caps the wait between attempts (default 10 minutes).
	MaxBackoff time.Duration
	// Fallback is the reliability used for a destination the directory
	// does not know (yet) or knows without an endpoint; nil means
	// directory.DefaultReliability().
	Fallback *directory.Reliability
	// Retries, when non-negative, overrides every receiver's nhsMHSRetries.
	// Negative: the directory's value.
	Retries int
	// StopGrace is how long Run lets sends in flight finish once its
	// context ends (default 5s); those still running are then abandoned
	// and their items released for the next start.
	StopGrace time.Duration
	// MaxResponse caps the receiver's answer (default 16 MiB).
	MaxResponse int64
	Logger      *slog.Logger
	// Registerer, when set, receives the worker's metrics.
	Registerer prometheus.Registerer
}

// DefaultCPAId is the CPA of the EPS interactions (eb:CPAId S1001A1630).
const DefaultCPAId = "S1001A1630"

// Worker delivers the outbox. It is safe for concurrent use; Run it once.
type Worker struct {
	cfg    Config
	log    *slog.Logger
	kick   chan struct{}
	offset time.Duration // worker clock = time.Now() + offset

	sent, acked, retried, failed prometheus.Counter
}

// New checks cfg and returns a worker.
func New(cfg Config) (*Worker, error) {
	if cfg.Store == nil || cfg.Directory == nil || cfg.PartyKey == "" {
		return nil, errors.New("delivery: a worker needs a store, a directory and our party key")
	}
	if cfg.DefaultCPAId == "" {
		cfg.DefaultCPAId = DefaultCPAId
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.ServiceClock == nil {
		cfg.ServiceClock = time.Now
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 5 * time.Second
	}
	if cfg.MaxResponse <= 0 {
		cfg.MaxResponse = 16 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Fallback == nil {
		r := directory.DefaultReliability()
		cfg.Fallback = &r
	}
	w := &Worker{cfg: cfg, log: cfg.Logger, kick: make(chan struct{}, 1)}
	if d := time.Until(cfg.ServiceClock()); d > 0 {
		w.offset = d
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		if cfg.Registerer != nil {
			_ = cfg.Registerer.Register(c)
		}
		return c
	}
	w.sent = counter("eps_delivery_attempts_total", "Outbox messages sent (every attempt).")
	w.acked = counter("eps_delivery_acknowledged_total", "Outbox messages the receiver acknowledged (done).")
	w.retried = counter("eps_delivery_retries_total", "Attempts that failed and were scheduled again.")
	w.failed = counter("eps_delivery_failed_total", "Outbox messages given up on (refused, or out of retries).")
	return w, nil
}

// now is the worker's clock (see Config.ServiceClock).
func (w *Worker) now() time.Time { return time.Now().Add(w.offset) }

// lease is how long a claimed item is left alone: one attempt's timeout
// and a margin.
func (w *Worker) lease() time.Duration { return w.cfg.SendTimeout + 2*time.Second }

// Kick tells the worker new items are waiting, so it does not wait for its
// next poll. It never blocks.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Result counts what one pass did.
type Result struct {
	Claimed, Done, Retried, Failed, Released int
}

func (r *Result) add(o outcome) {
	switch o {
	case outcomeDone:
		r.Done++
	case outcomeRetry:
		r.Retried++
	case outcomeFailed:
		r.Failed++
	case outcomeReleased:
		r.Released++
	}
}

// Run delivers until ctx ends. Up to Concurrency messages are in flight at
// once; a slot that frees up is filled at once, so one slow receiver
// holds one slot, not the others. The outbox is read again when kicked,
// when a slot frees while more items were waiting, and every poll
// interval. Run returns after the sends in flight have finished (or, past
// StopGrace, been abandoned and their items released) and their outcomes
// are written, so the store may be closed after it.
func (w *Worker) Run(ctx context.Context) error {
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(w.cfg.StopGrace, cancelSends) })
	defer stop()

	rec := w.startRecorder()
	defer rec.close()
	slots := make(chan struct{}, w.cfg.Concurrency)
	freed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait() // before rec.close: every outcome is handed over first

	more := true // the last read may have left due items behind
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			more = true
		case <-w.kick:
			more = true
		case <-freed:
		}
		free := cap(slots) - len(slots)
		if free == 0 || !more {
			continue
		}
		items, err := w.claim(ctx, free)
		if err != nil && ctx.Err() == nil {
			w.log.Error("delivery: claim", "err", err)
		}
		more = len(items) == free
		for _, it := range items {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec.add(w.deliver(sendCtx, it))
				<-slots
				select {
				case freed <- struct{}{}:
				default:
				}
			}()
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(w.cfg.PollInterval)
	}
}

// Pass claims the items due now (up to four times Concurrency) and sends
// them, waiting for every send and recording every outcome. Tests and
// tools use it to deliver without a running worker.
func (w *Worker) Pass(ctx context.Context) (Result, error) {
	var res Result
	items, err := w.claim(ctx, 4*w.cfg.Concurrency)
	if err != nil {
		return res, err
	}
	res.Claimed = len(items)
	done := make([]attempt, len(items))
	var wg sync.WaitGroup
	sem := make(chan struct{}, w.cfg.Concurrency)
	for i, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			done[i] = w.deliver(ctx, it)
		}()
	}
	wg.Wait()
	for _, a := range done {
		res.add(a.outcome)
	}
	w.recordAll(done)
	return res, nil
}

// claim takes up to limit due items in one transaction: each counts an
// attempt and has its next attempt moved a lease ahead, so neither this
// worker's next read nor another worker on the same store takes it while
// it is in flight.
func (w *Worker) claim(ctx context.Context, limit int) ([]store.OutboxItem, error) {
	now := w.now()
	var claimed []store.OutboxItem
	err := w.cfg.Store.Update(ctx, func(tx store.Tx) error {
		claimed = claimed[:0]
		due, err := tx.Outbox(ctx, store.OutboxPending, now, limit)
		if err != nil {
			return err
		}
		for _, it := range due {
			it.Attempts++
			it.NextAttemptAt = now.Add(w.lease())
			if err := tx.UpdateOutbox(ctx, it); err != nil {
				return err
			}
			claimed = append(claimed, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: claim: %w", err)
	}
	return claimed, nil
}

// attempt is one item after an attempt: its new delivery state and what
// became of it.
type attempt struct {
	item    store.OutboxItem
	outcome outcome
	what    string
}

// recorder writes outcomes in batches: one transaction for all the
// attempts that finished meanwhile, rather than one each.
type recorder struct {
	w    *Worker
	ch   chan attempt
	done chan struct{}
}

func (w *Worker) startRecorder() *recorder {
	r := &recorder{w: w, ch: make(chan attempt, 256), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for a := range r.ch {
			batch := []attempt{a}
		more:
			for len(batch) < 128 {
				select {
				case b, ok := <-r.ch:
					if !ok {
						break more
					}
					batch = append(batch, b)
				default:
					break more
				}
			}
			w.recordAll(batch)
		}
	}()
	return r
}

func (r *recorder) add(a attempt) { r.ch <- a }

// close writes what is left and waits for it.
func (r *recorder) close() {
	close(r.ch)
	<-r.done
}

type outcome int

const (
	outcomeDone outcome = iota + 1
	outcomeRetry
	outcomeFailed
	outcomeReleased
)

// sendError is why one attempt failed, and whether trying again may help.
type sendError struct {
	retriable bool
	msg       string
}

func (e *sendError) Error() string { return e.msg }

func permanent(format string, args ...any) *sendError {
	return &sendError{msg: fmt.Sprintf(format, args...)}
}

func transient(format string, args ...any) *sendError {
	return &sendError{retriable: true, msg: fmt.Sprintf(format, args...)}
}

// deliver makes one attempt at an item and says what is to become of it.
func (w *Worker) deliver(ctx context.Context, it store.OutboxItem) attempt {
	rel := *w.cfg.Fallback
	entry, err := w.cfg.Directory.Resolve(ctx, it.Destination)
	var serr *sendError
	switch {
	case err != nil && errors.Is(err, directory.ErrUnknown):
		// The entry may yet be added: try again later, within the retries.
		serr = transient("destination %s is not in the directory", it.Destination)
	case err != nil:
		serr = transient("directory: %v", err)
	case entry.Endpoint == "":
		serr = transient("destination %s (%s) has no endpoint", it.Destination, entry.PartyKey)
	default:
		rel = entry.Reliability
		w.sent.Inc()
		serr = w.send(ctx, it, entry)
	}
	if serr != nil && ctx.Err() != nil && serr.retriable {
		// Stopped mid-send: not the receiver's fault. Give the item back
		// for the next start without counting the attempt.
		it.Attempts--
		it.NextAttemptAt = w.now()
		it.LastError = "interrupted: " + serr.msg
		return attempt{it, outcomeReleased, "released"}
	}
	switch {
	case serr == nil:
		it.State, it.LastError = store.OutboxDone, ""
		w.acked.Inc()
		return attempt{it, outcomeDone, "acknowledged"}
	case !serr.retriable:
		it.State, it.LastError = store.OutboxFailed, serr.msg
		w.failed.Inc()
		return attempt{it, outcomeFailed, "refused"}
	}
	retries := rel.Retries
	if w.cfg.Retries >= 0 {
		retries = w.cfg.Retries
	}
	it.LastError = serr.msg
	if it.Attempts > retries {
		it.State = store.OutboxFailed
		w.failed.Inc()
		return attempt{it, outcomeFailed, "out of retries"}
	}
	it.NextAttemptAt = w.now().Add(w.backoff(rel.RetryInterval, it.Attempts))
	w.retried.Inc()
	return attempt{it, outcomeRetry, "will retry"}
}

// backoff is the wait after the attempt-th failed attempt: the receiver's
// retry interval, doubling each time, capped, with ±10% jitter so that
// items that failed together do not all come back together.
func (w *Worker) backoff(interval time.Duration, attempt int) time.Duration {
	if interval <= 0 {
		interval = time.Second
	}
	d := interval
	for i := 1; i < attempt && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	if d > w.cfg.MaxBackoff && interval <= w.cfg.MaxBackoff {
		d = w.cfg.MaxBackoff
	}
	jitter := time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
	return d + jitter
}

// recordAll writes the new delivery state of items in one transaction. It
// runs even while the worker stops (the attempts happened), within its own
// short deadline.
func (w *Worker) recordAll(batch []attempt) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := w.cfg.Store.Update(ctx, func(tx store.Tx) error {
		for _, a := range batch {
			if err := tx.UpdateOutbox(ctx, a.item); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	for _, a := range batch {
		it := a.item
		lvl := slog.LevelInfo
		if it.State == store.OutboxFailed {
			lvl = slog.LevelWarn
		}
		w.log.Log(ctx, lvl, "delivery", "id", it.ID, "to", it.Destination, "interaction", it.Interaction,
			"attempt", it.Attempts, "outcome", a.what, "error", it.LastError)
	}
	if err != nil {
		// The items stay claimed and are tried again after their lease:
		// the receivers eliminate the duplicates.
		w.log.Error("delivery: record outcomes", "items", len(batch), "err", err)
	}
}

// send makes one attempt: build the ebXML message, POST it, read the answer.
func (w *Worker) send(ctx context.Context, it store.OutboxItem, to directory.Entry) *sendError {
	ctype, body, err := w.build(it, to)
	if err != nil {
		return permanent("build: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to.Endpoint, bytes.NewReader(body))
	if err != nil {
		return permanent("endpoint %s: %v", to.Endpoint, err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("SOAPAction", ebxml.ServiceMM+"/"+it.Interaction)
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return transient("send to %s: %v", to.Endpoint, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, w.cfg.MaxResponse+1))
	if err != nil {
		return transient("read the answer of %s: %v", to.Endpoint, err)
	}
	if int64(len(reply)) > w.cfg.MaxResponse {
		return transient("the answer of %s is over %d bytes", to.Endpoint, w.cfg.MaxResponse)
	}
	return judge(it.ID, resp.StatusCode, resp.Header.Get("Content-Type"), reply)
}

// judge reads the receiver's answer to message id.
func judge(id string, status int, ctype string, reply []byte) *sendError {
	m, perr := ebxml.Parse(ctype, reply, ebxml.Limits{})
	if m != nil && m.Acknowledges(id) {
		return nil
	}
	if m != nil && perr == nil {
		switch m.Kind {
		case ebxml.KindErrorList:
			var parts []string
			for _, e := range m.Errors() {
				parts = append(parts, string(e.Code)+" "+e.Description())
			}
			return permanent("refused by the receiver (HTTP %d): %s", status, strings.Join(parts, "; "))
		case ebxml.KindFault:
			if m.Fault.Retriable() {
				return transient("SOAP fault (HTTP %d): %v", status, m.Fault)
			}
			return permanent("SOAP fault (HTTP %d): %v", status, m.Fault)
		case ebxml.KindAck:
			return transient("the acknowledgment (HTTP %d) is for %s, not %s", status, m.Ack.RefToMessageId, id)
		}
	}
	snippet := string(reply)
	if len(snippet) > 200 {
		snippet = snippet[:200] + "…"
	}
	return transient("HTTP %d without an acknowledgment of %s: %q", status, id, snippet)
}

// build writes the ebXML message of an item for the receiver to.
func (w *Worker) build(it store.OutboxItem, to directory.Entry) (string, []byte, error) {
	rel := to.Reliability
	cpa := to.CPAId()
	if cpa == "" {
		cpa = w.cfg.DefaultCPAId
	}
	conv := it.Conversation
	if conv == "" {
		conv = it.ID
	}
	m := &ebxml.Message{
		Header: ebxml.MessageHeader{
			From:                 ebxml.Party{ID: w.cfg.PartyKey, Type: ebxml.PartyType},
			To:                   ebxml.Party{ID: to.PartyKey, Type: ebxml.PartyType},
			CPAId:                cpa,
			ConversationId:       conv,
			Service:              ebxml.ServiceMM,
			Action:               it.Interaction,
			MessageId:            it.ID,
			SentAt:               time.Now().UTC(),
			RefToMessageId:       it.RefToMessage,
			DuplicateElimination: rel.DuplicateElimination,
			AckRequested:         rel.AckRequested,
			AckActor:             ebxml.ActorToPartyMSH,
			// The acknowledgment comes back on the connection: that is
			// what marks the item done.
			SyncReply:      true,
			SyncReplyActor: ebxml.ActorNext,
		},
		Payload:            it.Body,
		PayloadContentType: "text/xml; charset=UTF-8",
	}
	return ebxml.Build(m)
}

// Requeue gives failed items (or, with no ids, every failed item) a fresh
// set of retries, due now. It returns how many it moved.
func Requeue(ctx context.Context, st store.Store, now time.Time, ids ...string) (int, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	n := 0
	err := st.Update(ctx, func(tx store.Tx) error {
		n = 0
		failed, err := tx.Outbox(ctx, store.OutboxFailed, time.Time{}, 0)
		if err != nil {
			return err
		}
		for _, it := range failed {
			if len(ids) > 0 && !want[it.ID] {
				continue
			}
			it.State, it.Attempts, it.NextAttemptAt = store.OutboxPending, 0, now
			if err := tx.UpdateOutbox(ctx, it); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
