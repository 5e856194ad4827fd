package mhs_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/delivery"
	"github.com/openeps/openeps/internal/directory"
	"github.com/openeps/openeps/internal/mhs"
	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/sqlite"
	"github.com/openeps/openeps/internal/tlsconf"
	"github.com/openeps/openeps/internal/tlsconf/tlstest"
)

// pki is the test CA every end trusts, with one certificate per end.
type pki struct {
	ca *tlstest.CA
}

func newPKI(t testing.TB) *pki { return &pki{ca: tlstest.NewCA(t, "openeps-test")} }

func (p *pki) server(t testing.TB, name string) *tls.Config {
	t.Helper()
	c := p.ca.Issue(t, name)
	cfg, err := tlsconf.Server(tlsconf.Options{CertFile: c.CertFile, KeyFile: c.KeyFile, ClientCAFile: p.ca.File})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (p *pki) client(t testing.TB, name string) *http.Client {
	t.Helper()
	c := p.ca.Issue(t, name)
	cfg, err := tlsconf.Client(tlsconf.Options{CertFile: c.CertFile, KeyFile: c.KeyFile, RootCAFile: p.ca.File})
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, MaxIdleConnsPerHost: 32}}
}

// listen serves h on loopback, over TLS when cfg is set; it returns the base URL.
func listen(t testing.TB, h http.Handler, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
		scheme = "https"
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return scheme + "://" + ln.Addr().String()
}

func openStore(t testing.TB, name string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// spineEnv is a running Spine-side service over HTTPS with mutual TLS, its
// directory and its delivery worker.
type spineEnv struct {
	url    string
	store  store.Store
	dir    *directory.Directory
	svc    *spine.Service
	worker *delivery.Worker
}

type spineOptions struct {
	noDirectory bool
	noWorker    bool // a directory, but nothing delivering: the test calls worker.Pass
	now         func() time.Time
}

func newSpine(t testing.TB, p *pki, o spineOptions) *spineEnv {
	t.Helper()
	st := openStore(t, "spine.db")
	svc, err := spine.New(spine.Config{Store: st, Now: o.now})
	if err != nil {
		t.Fatal(err)
	}
	e := &spineEnv{store: st, svc: svc, dir: directory.New(st, time.Second)}
	opts := spine.HTTPOptions{}
	if !o.noDirectory {
		w, err := delivery.New(delivery.Config{Store: st, Directory: e.dir, PartyKey: svc.PartyKey(),
			Client: p.client(t, "spine-out"), PollInterval: 100 * time.Millisecond, SendTimeout: 5 * time.Second,
			Retries: -1, ServiceClock: o.now})
		if err != nil {
			t.Fatal(err)
		}
		e.worker = w
		opts = spine.HTTPOptions{Directory: e.dir, Notify: w.Kick}
		if !o.noWorker {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = w.Run(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })
		}
	}
	e.url = listen(t, svc.HTTPHandler(opts), p.server(t, "spine"))
	return e
}

// mhsEnv is a running adaptor: its client API over plain HTTP (the client
// system's side), its inbound endpoint over HTTPS with mutual TLS.
type mhsEnv struct {
	a       *mhs.Adaptor
	client  string // base URL of the client API
	inbound string
	store   store.Store
	party   string
}

func newMHS(t testing.TB, p *pki, sp *spineEnv, party string, mod func(*mhs.Config)) *mhsEnv {
	t.Helper()
	st := openStore(t, "mhs-"+party+".db")
	cfg := mhs.Config{Store: st, PartyKey: party, ASID: "200000001285", SpineURL: sp.url, Client: p.client(t, party),
		Retries: 2, RetryInterval: 200 * time.Millisecond, SendTimeout: 5 * time.Second, WaitTimeout: 20 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	a, err := mhs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &mhsEnv{a: a, store: st, party: party}
	e.client = listen(t, a.ClientHandler(), nil)
	e.inbound = listen(t, a.InboundHandler(), p.server(t, party))
	if sp != nil && sp.dir != nil {
		rel := directory.DefaultReliability()
		rel.Retries, rel.RetryInterval = 20, 100*time.Millisecond
		if err := sp.dir.Put(context.Background(), directory.Entry{PartyKey: party, ASID: cfg.ASID,
			Endpoint: e.inbound + "/reliablemessaging/reliablerequest", Reliability: rel}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.RunCallback(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return e
}

// post sends a client request to the adaptor as a client system does.
func (e *mhsEnv) post(t testing.TB, interaction string, wait bool, hdr map[string]string, body any) (*http.Response, []byte) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, e.client+"/", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if interaction != "" {
		req.Header.Set("Interaction-Id", interaction)
	}
	if wait {
		req.Header.Set("wait-for-response", "true")
	} else {
		req.Header.Set("wait-for-response", "false")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// inbox reads the messages waiting, holding up to wait for one.
func (e *mhsEnv) inbox(t testing.TB, wait time.Duration) []mhs.Message {
	t.Helper()
	resp, err := http.Get(e.client + "/inbox?wait=" + wait.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page mhs.InboxPage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	return page.Messages
}

func (e *mhsEnv) ack(t testing.TB, seq int64) {
	t.Helper()
	resp, err := http.Post(e.client+"/inbox/"+itoa(seq)+"/ack", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("ack %d: HTTP %d", seq, resp.StatusCode)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func counts(t testing.TB, st store.Store) store.Counts {
	t.Helper()
	var c store.Counts
	if err := st.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		c, err = tx.Counts(context.Background())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls cond until it holds or the time is up.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
