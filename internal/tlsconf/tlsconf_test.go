package tlsconf_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/tlsconf"
	"github.com/openeps/openeps/internal/tlsconf/tlstest"
)

// serve starts a real HTTPS server on loopback with cfg.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := "anonymous"
		if c := tlsconf.PeerCertificate(r); c != nil {
			who = c.Subject.CommonName
		}
		_, _ = io.WriteString(w, who)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String()
}

func get(t *testing.T, cfg *tls.Config, url string) (string, error) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestMutualTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "openeps")
	other := tlstest.NewCA(t, "elsewhere")
	server := ca.Issue(t, "spine")
	client := ca.Issue(t, "gp-mhs")
	stranger := other.Issue(t, "stranger")

	scfg, err := tlsconf.Server(tlsconf.Options{CertFile: server.CertFile, KeyFile: server.KeyFile, ClientCAFile: ca.File})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, scfg)

	good, err := tlsconf.Client(tlsconf.Options{CertFile: client.CertFile, KeyFile: client.KeyFile, ClientCAFile: ca.File})
	if err != nil {
		t.Fatal(err)
	}
	if who, err := get(t, good, url); err != nil || who != "gp-mhs" {
		t.Fatalf("client with a certificate from the CA: %q, %v", who, err)
	}

	noCert, err := tlsconf.Client(tlsconf.Options{RootCAFile: ca.File})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, noCert, url); err == nil {
		t.Error("a client without a certificate was let in")
	}
	wrongCA, err := tlsconf.Client(tlsconf.Options{CertFile: stranger.CertFile, KeyFile: stranger.KeyFile, RootCAFile: ca.File})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, wrongCA, url); err == nil {
		t.Error("a client with a certificate from another CA was let in")
	}
	// And the client checks the server: a client that trusts only the
	// other CA refuses our server.
	distrust, err := tlsconf.Client(tlsconf.Options{CertFile: client.CertFile, KeyFile: client.KeyFile, RootCAFile: other.File})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, distrust, url); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a server with a certificate the client does not trust was accepted: %v", err)
	}
}

func TestServerWithoutClientCA(t *testing.T) {
	ca := tlstest.NewCA(t, "openeps")
	server := ca.Issue(t, "spine")
	scfg, err := tlsconf.Server(tlsconf.Options{CertFile: server.CertFile, KeyFile: server.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, scfg)
	c, err := tlsconf.Client(tlsconf.Options{RootCAFile: ca.File})
	if err != nil {
		t.Fatal(err)
	}
	if who, err := get(t, c, url); err != nil || who != "anonymous" {
		t.Fatalf("plain TLS: %q %v", who, err)
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := tlstest.NewCA(t, "openeps")
	p := ca.Issue(t, "x")
	for name, o := range map[string]tlsconf.Options{
		"no key":         {CertFile: p.CertFile},
		"missing file":   {CertFile: filepath.Join(dir, "none.pem"), KeyFile: p.KeyFile},
		"junk client CA": {CertFile: p.CertFile, KeyFile: p.KeyFile, ClientCAFile: junk},
	} {
		if _, err := tlsconf.Server(o); err == nil {
			t.Errorf("%s: Server accepted it", name)
		}
	}
	if _, err := tlsconf.Client(tlsconf.Options{RootCAFile: junk}); err == nil {
		t.Error("Client accepted a CA file with no certificate")
	}
	if _, err := tlsconf.Client(tlsconf.Options{KeyFile: p.KeyFile}); err == nil {
		t.Error("Client accepted a key without a certificate")
	}
}

// TestHandshakeRefusedBeforeHTTP: under mutual TLS a client without a
// certificate never reaches the handler (the refusal is in the handshake).
func TestHandshakeRefusedBeforeHTTP(t *testing.T) {
	ca := tlstest.NewCA(t, "openeps")
	server := ca.Issue(t, "spine")
	scfg, err := tlsconf.Server(tlsconf.Options{CertFile: server.CertFile, KeyFile: server.KeyFile, ClientCAFile: ca.File})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, scfg)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", strings.TrimPrefix(url, "https://"),
		&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test looks at the server's refusal
	if err == nil {
		// TLS 1.3 reports the refusal on the first read.
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		buf := make([]byte, 64)
		_, err = conn.Read(buf)
		conn.Close()
	}
	if err == nil {
		t.Fatal("the server answered a client without a certificate")
	}
}
