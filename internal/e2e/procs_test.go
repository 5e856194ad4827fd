package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/mhs"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/sqlite"
	"github.com/openeps/openeps/internal/testutil/epsbin"
	"github.com/openeps/openeps/internal/tlsconf"
	"github.com/openeps/openeps/internal/tlsconf/tlstest"
)

// epsBinary is the eps binary, built once for all the tests.
var epsBinary string

func TestMain(m *testing.M) { epsbin.Main(m, &epsBinary) }

// proc is a running eps process.
type proc struct {
	t      testing.TB
	name   string
	args   []string
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	urls   []string // the addresses the process printed
	exited chan error
}

var (
	serveLine = regexp.MustCompile(`eps serve: listening on (https?://[0-9.:]+)`)
	mhsLine   = regexp.MustCompile(`eps mhs: client API on (https?://[0-9.:]+), inbound ebXML on (https?://[0-9.:]+)`)
)

// start runs `eps args…` and waits for the line that says where it listens.
func start(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, args: args}
	p.run()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) run() {
	p.t.Helper()
	cmd := exec.Command(epsBinary, p.args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.stderr.Reset()
	p.mu.Unlock()
	cmd.Stderr = &lockedWriter{p: p}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = cmd
	p.exited = make(chan error, 1)
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if sent {
				continue
			}
			if m := serveLine.FindStringSubmatch(line); m != nil {
				found <- m[1:]
				sent = true
			} else if m := mhsLine.FindStringSubmatch(line); m != nil {
				found <- m[1:]
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	go func() { p.exited <- cmd.Wait() }()
	select {
	case urls, ok := <-found:
		if !ok {
			p.t.Fatalf("%s exited before listening:\n%s", p.name, p.log())
		}
		p.urls = urls
	case <-time.After(30 * time.Second):
		p.t.Fatalf("%s did not start:\n%s", p.name, p.log())
	}
}

type lockedWriter struct{ p *proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.stderr.Write(b)
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	if p.cmd == nil {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			p.t.Fatalf("%s did not exit cleanly: %v\n%s", p.name, err, p.log())
		}
	case <-time.After(30 * time.Second):
		p.t.Fatalf("%s did not stop on SIGTERM", p.name)
	}
	p.cmd = nil
}

// kill sends SIGKILL: the process dies wherever it is.
func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

// restart runs the process again with the same arguments.
func (p *proc) restart() { p.run() }

// freeAddr finds a loopback port nobody listens on, for a process that must
// come back on the same address after a restart.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// run runs an eps command to completion.
func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(epsBinary, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("eps %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// world is the TLS material of one test: a CA and certificates for loopback.
type world struct {
	t   testing.TB
	ca  *tlstest.CA
	dir string
}

func newWorld(t testing.TB) *world {
	return &world{t: t, ca: tlstest.NewCA(t, "openeps-e2e"), dir: t.TempDir()}
}

// tlsArgs are the flags giving a process its certificate and the CA for
// mutual TLS.
func (w *world) tlsArgs(name string) []string {
	c := w.ca.Issue(w.t, name)
	return []string{"--tls-cert", c.CertFile, "--tls-key", c.KeyFile, "--client-ca", w.ca.File}
}

// client is an HTTPS client with its own certificate from the CA.
func (w *world) client(name string) *http.Client {
	c := w.ca.Issue(w.t, name)
	cfg, err := tlsconf.Client(tlsconf.Options{CertFile: c.CertFile, KeyFile: c.KeyFile, RootCAFile: w.ca.File})
	if err != nil {
		w.t.Fatal(err)
	}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, MaxIdleConnsPerHost: 32}}
}

// anonymous is an HTTPS client that trusts the CA but has no certificate.
func (w *world) anonymous() *http.Client {
	cfg, err := tlsconf.Client(tlsconf.Options{RootCAFile: w.ca.File})
	if err != nil {
		w.t.Fatal(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, MaxIdleConnsPerHost: 32}}
}

func (w *world) path(name string) string { return filepath.Join(w.dir, name) }

// startServe runs eps serve over HTTPS with mutual TLS on addr.
func (w *world) startServe(addr, db string, extra ...string) *proc {
	args := append([]string{"serve", "--listen", addr, "--db", "sqlite:" + db, "--log-level", "warn",
		"--delivery-poll", "100ms", "--delivery-max-backoff", "1s", "--sweep-interval", "0"}, w.tlsArgs("spine")...)
	return start(w.t, "eps serve", append(args, extra...)...)
}

// startMHS runs eps mhs for party against the Spine at spine.
func (w *world) startMHS(name, party, asid, spine, db, inbound string, extra ...string) *proc {
	args := append([]string{"mhs", "--listen", "127.0.0.1:0", "--inbound-listen", inbound, "--db", "sqlite:" + db,
		"--spine", spine, "--party-key", party, "--asid", asid, "--retries", "3", "--retry-interval", "PT0.2S",
		"--send-timeout", "10s", "--wait-timeout", "30s", "--log-level", "warn"}, w.tlsArgs(name)...)
	return start(w.t, "eps mhs "+name, append(args, extra...)...)
}

// register adds a party to the Spine's directory with quick retries, as
// SDS would list it (while eps serve runs: it takes effect at once).
func register(t testing.TB, db, party, asid, ods, inboundURL string, extra ...string) {
	t.Helper()
	run(t, append([]string{"directory", "add", "--db", "sqlite:" + db, "--key", party, "--asid", asid, "--ods", ods,
		"--endpoint", inboundURL + "/reliablemessaging/reliablerequest", "--retries", "200", "--retry-interval", "PT0.2S",
		"--persist-duration", "PT1H"}, extra...)...)
}

// api is the client side of an eps mhs: what a prescribing or dispensing
// system calls.
type api struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func (p *proc) api() *api {
	return &api{t: p.t, base: p.urls[0], hc: &http.Client{Timeout: 90 * time.Second}}
}

// send posts one message; it returns the status, the body and an error
// only when the call itself failed (connection refused or cut).
func (a *api) send(interaction, msgID string, wait bool, payload []byte) (int, []byte, error) {
	b, _ := json.Marshal(map[string]string{"payload": string(payload)})
	req, err := http.NewRequest(http.MethodPost, a.base+"/", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Interaction-Id", interaction)
	req.Header.Set("wait-for-response", strconv.FormatBool(wait))
	if msgID != "" {
		req.Header.Set("Message-Id", msgID)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// mustSend is send that fails the test on anything but want.
func (a *api) mustSend(interaction, msgID string, wait bool, payload []byte, want int) []byte {
	a.t.Helper()
	status, out, err := a.send(interaction, msgID, wait, payload)
	if err != nil || status != want {
		a.t.Fatalf("%s: HTTP %d %v, want %d\n%s", interaction, status, err, want, out)
	}
	return out
}

// inbox reads up to 1000 messages not yet acknowledged, waiting up to wait
// for one.
func (a *api) inbox(wait time.Duration) []mhs.Message {
	a.t.Helper()
	resp, err := a.hc.Get(a.base + "/inbox?limit=1000&wait=" + wait.String())
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var page mhs.InboxPage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		a.t.Fatal(err)
	}
	return page.Messages
}

func (a *api) ack(seq int64) {
	a.t.Helper()
	resp, err := a.hc.Post(a.base+"/inbox/"+strconv.FormatInt(seq, 10)+"/ack", "", nil)
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		a.t.Fatalf("ack %d: HTTP %d", seq, resp.StatusCode)
	}
}

// waitInbox waits until the inbox holds n messages, and returns them.
func (a *api) waitInbox(n int, within time.Duration) []mhs.Message {
	a.t.Helper()
	deadline := time.Now().Add(within)
	for {
		msgs := a.inbox(500 * time.Millisecond)
		if len(msgs) >= n || time.Now().After(deadline) {
			return msgs
		}
	}
}

// storeCounts opens a stopped process's SQLite store and counts its rows.
func storeCounts(t testing.TB, db string) (store.Counts, []store.OutboxItem, []store.InboxItem) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var c store.Counts
	var out []store.OutboxItem
	var in []store.InboxItem
	err = st.View(ctx, func(tx store.ReadTx) error {
		var err error
		if c, err = tx.Counts(ctx); err != nil {
			return err
		}
		if out, err = tx.Outbox(ctx, "", time.Time{}, 0); err != nil {
			return err
		}
		in, err = tx.Inbox(ctx, 0, "", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, out, in
}
