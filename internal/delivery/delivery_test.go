package delivery_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/delivery"
	"github.com/openeps/openeps/internal/directory"
	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/mhs"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/postgres"
	"github.com/openeps/openeps/internal/store/sqlite"
	"github.com/openeps/openeps/internal/testutil/pgtest"
	"github.com/openeps/openeps/internal/tlsconf"
	"github.com/openeps/openeps/internal/tlsconf/tlstest"
)

const receiverKey = "FA565-0000001"

// env is a sender's store and directory, and a real receiver: an eps mhs
// inbound endpoint over mutual TLS, behind a switch the test uses to make
// it misbehave.
type env struct {
	t        testing.TB
	store    store.Store
	dir      *directory.Directory
	ca       *tlstest.CA
	client   *http.Client
	mhsStore store.Store
	adaptor  *mhs.Adaptor
	addr     string // host:port of the receiver
	fault    atomic.Value
	srv      *http.Server
	requests atomic.Int64
}

// fault decides what the receiver does with one request: "" passes it on.
type fault func(w http.ResponseWriter, r *http.Request, next http.Handler) bool

func openStore(t testing.TB, name string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newEnv(t testing.TB, rel directory.Reliability) *env {
	t.Helper()
	return newEnvWith(t, rel, openStore(t, "spine.db"))
}

// newEnvWith is newEnv with the sender's store given.
func newEnvWith(t testing.TB, rel directory.Reliability, sender store.Store) *env {
	t.Helper()
	e := &env{t: t, store: sender, mhsStore: openStore(t, "mhs.db"), ca: tlstest.NewCA(t, "test")}
	e.dir = directory.New(e.store, time.Second)
	out := e.ca.Issue(t, "spine")
	ccfg, err := tlsconf.Client(tlsconf.Options{CertFile: out.CertFile, KeyFile: out.KeyFile, RootCAFile: e.ca.File})
	if err != nil {
		t.Fatal(err)
	}
	e.client = &http.Client{Transport: &http.Transport{TLSClientConfig: ccfg}}
	a, err := mhs.New(mhs.Config{Store: e.mhsStore, PartyKey: receiverKey, SpineURL: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	e.adaptor = a
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	ln.Close()
	e.start()
	if err := e.dir.Put(context.Background(), directory.Entry{PartyKey: receiverKey, ASID: "230811201324", ODS: "FA565",
		Endpoint: "https://" + e.addr + "/reliablemessaging/reliablerequest", Reliability: rel}); err != nil {
		t.Fatal(err)
	}
	return e
}

// start (re)starts the receiver on its address.
func (e *env) start() {
	e.t.Helper()
	in := e.ca.Issue(e.t, "pharmacy")
	scfg, err := tlsconf.Server(tlsconf.Options{CertFile: in.CertFile, KeyFile: in.KeyFile, ClientCAFile: e.ca.File})
	if err != nil {
		e.t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ {
		if ln, err = net.Listen("tcp", e.addr); err == nil || i > 50 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	inner := e.adaptor.InboundHandler()
	e.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.requests.Add(1)
			if f, _ := e.fault.Load().(fault); f != nil && f(w, r, inner) {
				return
			}
			inner.ServeHTTP(w, r)
		})}
	go func() { _ = e.srv.Serve(tls.NewListener(ln, scfg)) }()
	srv := e.srv
	e.t.Cleanup(func() { srv.Close() })
}

// stop takes the receiver down: connections are refused.
func (e *env) stop() { e.srv.Close() }

func (e *env) setFault(f fault) { e.fault.Store(f) }

func (e *env) worker(mod func(*delivery.Config)) *delivery.Worker {
	e.t.Helper()
	cfg := delivery.Config{Store: e.store, Directory: e.dir, PartyKey: "YES-0000806", Client: e.client,
		PollInterval: 50 * time.Millisecond, SendTimeout: 2 * time.Second, Retries: -1}
	if mod != nil {
		mod(&cfg)
	}
	w, err := delivery.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// run runs a worker until the test ends.
func (e *env) run(w *delivery.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// enqueue puts n answers for the receiver in the outbox, as the Spine's
// core does in its transactions.
func (e *env) enqueue(n int) []string {
	e.t.Helper()
	var idList []string
	err := e.store.Update(context.Background(), func(tx store.Tx) error {
		idList = idList[:0]
		for i := range n {
			id := ids.NewUUID()
			idList = append(idList, id)
			body := fmt.Sprintf(`<MCCI_IN010000UK13 xmlns="urn:hl7-org:v3"><id root="%s"/><!-- %d é --></MCCI_IN010000UK13>`, id, i)
			if err := tx.Enqueue(context.Background(), store.OutboxItem{ID: id, CreatedAt: time.Now(), Destination: receiverKey,
				Interaction: "MCCI_IN010000UK13", RefToMessage: ids.NewUUID(), Conversation: ids.NewUUID(), Body: []byte(body),
				State: store.OutboxPending, NextAttemptAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return idList
}

func (e *env) outbox(state store.OutboxState) []store.OutboxItem {
	e.t.Helper()
	var items []store.OutboxItem
	if err := e.store.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		items, err = tx.Outbox(context.Background(), state, time.Time{}, 0)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return items
}

// received is every message the receiver kept, by eb:MessageId.
func (e *env) received() map[string]int {
	e.t.Helper()
	var items []store.InboxItem
	if err := e.mhsStore.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		items, err = tx.Inbox(context.Background(), 0, "", 0)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, it := range items {
		out[it.MessageID]++
	}
	return out
}

func (e *env) waitDone(n int, within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for len(e.outbox(store.OutboxDone)) < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("%d of %d delivered within %v; pending %+v", len(e.outbox(store.OutboxDone)), n, within,
				e.outbox(store.OutboxPending))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exactlyOnce checks every item is done and the receiver kept each once.
func (e *env) exactlyOnce(idList []string) {
	e.t.Helper()
	got := e.received()
	if len(got) != len(idList) {
		e.t.Errorf("the receiver kept %d messages, want %d", len(got), len(idList))
	}
	for _, id := range idList {
		if got[id] != 1 {
			e.t.Errorf("message %s kept %d times", id, got[id])
		}
	}
	if n := len(e.outbox(store.OutboxDone)); n != len(idList) {
		e.t.Errorf("%d outbox items done, want %d", n, len(idList))
	}
}

func quick() directory.Reliability {
	r := directory.DefaultReliability()
	r.Retries, r.RetryInterval = 30, 50*time.Millisecond
	return r
}

func TestDelivers(t *testing.T) {
	e := newEnv(t, quick())
	w := e.worker(nil)
	e.run(w)
	idList := e.enqueue(25)
	w.Kick()
	e.waitDone(25, 20*time.Second)
	e.exactlyOnce(idList)
	for _, it := range e.outbox(store.OutboxDone) {
		if it.Attempts != 1 || it.LastError != "" {
			t.Errorf("%s: %d attempts, error %q", it.ID, it.Attempts, it.LastError)
		}
	}
}

// TestReceiverDownForAWhile: nothing listens at the receiver's address;
// the worker keeps trying with backoff; once the receiver is back every
// message arrives, once.
func TestReceiverDownForAWhile(t *testing.T) {
	e := newEnv(t, quick())
	e.stop()
	w := e.worker(nil)
	e.run(w)
	idList := e.enqueue(10)
	time.Sleep(700 * time.Millisecond)
	if n := len(e.outbox(store.OutboxDone)); n != 0 {
		t.Fatalf("%d delivered while the receiver was down", n)
	}
	for _, it := range e.outbox(store.OutboxPending) {
		if it.Attempts < 2 || it.LastError == "" {
			t.Errorf("%s: %d attempts, %q: the worker did not keep trying", it.ID, it.Attempts, it.LastError)
		}
	}
	e.start()
	e.waitDone(10, 20*time.Second)
	e.exactlyOnce(idList)
}

// slowFirst answers the first n requests only after the sender has given
// up on them: the receiver has stored the message, the acknowledgment is
// lost in the delay.
func slowFirst(n int64, delay time.Duration) fault {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if seen.Add(1) > n {
			return false
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		time.Sleep(delay)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return true
	}
}

// TestReceiverAcksSlowly: acknowledgments that come after the send
// timeout are lost; the worker sends again; the receiver recognises the
// duplicates, and each message is kept once.
func TestReceiverAcksSlowly(t *testing.T) {
	e := newEnv(t, quick())
	e.setFault(slowFirst(6, 800*time.Millisecond))
	w := e.worker(func(c *delivery.Config) { c.SendTimeout = 300 * time.Millisecond; c.Concurrency = 2 })
	e.run(w)
	idList := e.enqueue(8)
	e.waitDone(8, 30*time.Second)
	e.exactlyOnce(idList)
	retried := 0
	for _, it := range e.outbox(store.OutboxDone) {
		if it.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Error("no message needed a second attempt: the fault did not bite")
	}
	if n := e.requests.Load(); n <= 8 {
		t.Errorf("%d requests for 8 messages: no resend happened", n)
	}
}

// TestRefusedIsNotRetried: an ebXML ErrorList means the receiver read the
// message and will not take it: failed after one attempt.
func TestRefusedIsNotRetried(t *testing.T) {
	e := newEnv(t, quick())
	e.setFault(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		b, _ := io.ReadAll(r.Body)
		m, _ := ebxml.Parse(r.Header.Get("Content-Type"), b, ebxml.Limits{})
		ct, out := ebxml.ErrorList(&m.Header, ids.NewUUID(), time.Now(),
			&ebxml.Error{Code: ebxml.ValueNotRecognized, SpineCode: ebxml.SpineUnknownCPAId, Text: "Unknown eb:CPAId"})
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(500)
		_, _ = w.Write(out)
		return true
	})
	w := e.worker(nil)
	e.enqueue(3)
	if _, err := w.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	failed := e.outbox(store.OutboxFailed)
	if len(failed) != 3 {
		t.Fatalf("%d failed", len(failed))
	}
	for _, it := range failed {
		if it.Attempts != 1 || !strings.Contains(it.LastError, "501319:Unknown eb:CPAId") {
			t.Errorf("%s: %d attempts, %q", it.ID, it.Attempts, it.LastError)
		}
	}
	if n := e.requests.Load(); n != 3 {
		t.Errorf("%d requests", n)
	}
}

// TestRetriableFaultThenOutOfRetries: SOAP faults with retriable codes are
// tried again until the receiver's retries are spent; Requeue gives a
// failed message a new chance, and it is delivered once the receiver works.
func TestRetriableFaultThenOutOfRetries(t *testing.T) {
	rel := quick()
	rel.Retries = 2
	e := newEnv(t, rel)
	var faults atomic.Int64
	e.setFault(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		faults.Add(1)
		ct, out := ebxml.SOAPFault("Server", "System failure to process message", ebxml.FaultError{Code: "206", Description: "routing"})
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(500)
		_, _ = w.Write(out)
		return true
	})
	w := e.worker(nil)
	e.run(w)
	idList := e.enqueue(2)
	deadline := time.Now().Add(20 * time.Second)
	for len(e.outbox(store.OutboxFailed)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not failed: %+v", e.outbox(""))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, it := range e.outbox(store.OutboxFailed) {
		if it.Attempts != 3 || !strings.Contains(it.LastError, "206") {
			t.Errorf("%s: %d attempts (want 1 + 2 retries), %q", it.ID, it.Attempts, it.LastError)
		}
	}
	if n := faults.Load(); n != 6 {
		t.Errorf("%d sends, want 6", n)
	}
	e.setFault(nil)
	n, err := delivery.Requeue(context.Background(), e.store, time.Now())
	if err != nil || n != 2 {
		t.Fatalf("requeue: %d %v", n, err)
	}
	w.Kick()
	e.waitDone(2, 10*time.Second)
	e.exactlyOnce(idList)
}

// TestResumesAfterCrash: items a worker claimed and never finished (the
// process died mid-send) are sent again by the next worker once their
// lease runs out, and arrive once.
func TestResumesAfterCrash(t *testing.T) {
	e := newEnv(t, quick())
	idList := e.enqueue(5)
	// What a killed worker leaves: an attempt counted, the next attempt a
	// lease away. Two of the five had reached the receiver already.
	var items []store.OutboxItem
	if err := e.store.Update(context.Background(), func(tx store.Tx) error {
		var err error
		if items, err = tx.Outbox(context.Background(), store.OutboxPending, time.Time{}, 0); err != nil {
			return err
		}
		for _, it := range items {
			it.Attempts, it.NextAttemptAt = 1, time.Now().Add(400*time.Millisecond)
			if err := tx.UpdateOutbox(context.Background(), it); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, it := range items[:2] {
		ct, body, err := buildLikeWorker(it)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "https://"+e.addr+"/reliablemessaging/reliablerequest", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if res, err := e.worker(nil).Pass(context.Background()); err != nil || res.Claimed != 0 {
		t.Fatalf("claimed items taken before their lease ran out: %+v %v", res, err)
	}
	w := e.worker(nil)
	e.run(w)
	e.waitDone(5, 10*time.Second)
	e.exactlyOnce(idList)
}

// buildLikeWorker writes the ebXML message a worker sends for an item.
func buildLikeWorker(it store.OutboxItem) (string, []byte, error) {
	return ebxml.Build(&ebxml.Message{Header: ebxml.MessageHeader{
		From: ebxml.Party{ID: "YES-0000806"}, To: ebxml.Party{ID: receiverKey}, CPAId: "S1001A1630",
		ConversationId: it.Conversation, Service: ebxml.ServiceMM, Action: it.Interaction, MessageId: it.ID,
		RefToMessageId: it.RefToMessage, SentAt: time.Now(), DuplicateElimination: true, AckRequested: true,
		AckActor: ebxml.ActorToPartyMSH, SyncReply: true, SyncReplyActor: ebxml.ActorNext,
	}, Payload: it.Body})
}

// TestStopReleasesInFlight: a worker stopped while its sends hang gives
// the items back (attempt not counted, due at once) and Run returns.
func TestStopReleasesInFlight(t *testing.T) {
	e := newEnv(t, quick())
	release := make(chan struct{})
	e.setFault(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	})
	defer close(release)
	w := e.worker(func(c *delivery.Config) { c.SendTimeout = 30 * time.Second; c.StopGrace = 200 * time.Millisecond })
	e.enqueue(3)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for e.requests.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the sends did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	for _, it := range e.outbox(store.OutboxPending) {
		if it.Attempts != 0 || it.NextAttemptAt.After(time.Now()) || !strings.HasPrefix(it.LastError, "interrupted") {
			t.Errorf("%s not released: %d attempts, next %v, %q", it.ID, it.Attempts, it.NextAttemptAt, it.LastError)
		}
	}
	if n := len(e.outbox(store.OutboxPending)); n != 3 {
		t.Errorf("%d pending after the stop, want 3", n)
	}
}

// TestUnknownDestination: a destination not (yet) in the directory is
// tried again, and delivered once the entry appears.
func TestUnknownDestination(t *testing.T) {
	e := newEnv(t, quick())
	if err := e.dir.Remove(context.Background(), receiverKey); err != nil {
		t.Fatal(err)
	}
	fallback := quick()
	w := e.worker(func(c *delivery.Config) { c.Fallback = &fallback })
	e.run(w)
	idList := e.enqueue(2)
	time.Sleep(300 * time.Millisecond)
	pending := e.outbox(store.OutboxPending)
	if len(pending) != 2 || !strings.Contains(pending[0].LastError, "not in the directory") {
		t.Fatalf("pending %+v", pending)
	}
	if err := e.dir.Put(context.Background(), directory.Entry{PartyKey: receiverKey,
		Endpoint: "https://" + e.addr + "/reliablemessaging/reliablerequest", Reliability: quick()}); err != nil {
		t.Fatal(err)
	}
	e.waitDone(2, 20*time.Second)
	e.exactlyOnce(idList)
}

// TestServiceClockAhead: items stamped by a clock fixed in the future
// (`eps serve --now`) are still due at once.
func TestServiceClockAhead(t *testing.T) {
	e := newEnv(t, quick())
	future := time.Now().Add(240 * time.Hour)
	if err := e.store.Update(context.Background(), func(tx store.Tx) error {
		return tx.Enqueue(context.Background(), store.OutboxItem{ID: ids.NewUUID(), CreatedAt: future, Destination: receiverKey,
			Interaction: "MCCI_IN010000UK13", Body: []byte(`<MCCI_IN010000UK13 xmlns="urn:hl7-org:v3"/>`),
			State: store.OutboxPending, NextAttemptAt: future})
	}); err != nil {
		t.Fatal(err)
	}
	w := e.worker(func(c *delivery.Config) { c.ServiceClock = func() time.Time { return future } })
	res, err := w.Pass(context.Background())
	if err != nil || res.Done != 1 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	if _, err := delivery.New(delivery.Config{}); err == nil {
		t.Fatal("accepted")
	}
}

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestTwoWorkersOnPostgres: two workers (two eps serve processes) on one
// PostgreSQL store deliver the same outbox: every message arrives once,
// whichever worker sends it.
func TestTwoWorkersOnPostgres(t *testing.T) {
	st, err := postgres.Open(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnvWith(t, quick(), st)
	idList := e.enqueue(40)
	e.run(e.worker(nil))
	e.run(e.worker(nil))
	e.waitDone(40, 30*time.Second)
	e.exactlyOnce(idList)
	// Claims lock what they read and skip what the other worker holds
	// (FOR UPDATE SKIP LOCKED), so no message is even sent twice.
	if n := e.requests.Load(); n != 40 {
		t.Errorf("%d requests for 40 messages: the workers claimed the same items", n)
	}
}
