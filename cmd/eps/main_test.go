package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/testutil"
	"github.com/openeps/openeps/internal/testutil/epsbin"
)

// epsBinary is the eps binary built once for these tests: they run the real
// program, as a user does.
var epsBinary string

func TestMain(m *testing.M) { epsbin.Main(m, &epsBinary) }

// server is a running `eps serve`.
type server struct {
	cmd    *exec.Cmd
	base   string
	stderr *bytes.Buffer
}

var listening = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// startServe runs `eps serve` on a free port and waits until it listens.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(epsBinary, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case base, ok := <-found:
		if !ok {
			t.Fatalf("eps serve exited before listening:\n%s", s.stderr)
		}
		s.base = base
	case <-time.After(20 * time.Second):
		t.Fatalf("eps serve did not start:\n%s", s.stderr)
	}
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("eps serve did not exit cleanly: %v\n%s", err, s.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("eps serve did not stop on SIGTERM")
	}
}

// postFixture sends an ebXML capture of the NHS EPS FHIR API (its .http file:
// request line, headers, body) to the server as it was captured.
func postCapture(t *testing.T, base, name string) (*http.Response, []byte) {
	t.Helper()
	raw := testutil.ReadFixture(t, "ebxml", "eps-fhir-api-client", name)
	_, path, hdr, body, err := ebxml.ParseRequestFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		if k != "Content-Length" {
			req.Header[k] = vs
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// TestServeStoresAndSurvivesRestart runs `eps serve` on a SQLite file with a
// fixed clock, sends the parent prescription exactly as NHS England's EPS
// FHIR API sends it (POST /Prescription), reads the record back, stops the
// server with SIGTERM, starts it again on the same file and finds the
// record still there.
func TestServeStoresAndSurvivesRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "eps.db")
	args := []string{"--db", "sqlite:" + db, "--now", "2026-11-25T01:00:00Z"}
	s := startServe(t, args...)

	resp, body := postCapture(t, s.base, "parent-prescription-PORX_IN020101SM31.http")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d\n%s\n%s", resp.StatusCode, body, s.stderr)
	}
	if !bytes.Contains(body, []byte("MCCI_IN010000UK13")) || !bytes.Contains(body, []byte(`typeCode="AA"`)) {
		t.Fatalf("the reply carries no HL7 AA acknowledgement:\n%s", body)
	}
	id := regexp.MustCompile(`[0-9A-F]{6}-[0-9A-Z]{6}-[0-9A-F]{5}[0-9A-Z+]`).FindString(
		string(testutil.ReadFixture(t, "ebxml", "eps-fhir-api-client", "parent-prescription-PORX_IN020101SM31.http")))
	var v struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		LineItems []struct {
			ID string `json:"id"`
		} `json:"lineItems"`
		History []struct {
			Outcome string `json:"outcome"`
		} `json:"history"`
	}
	if code := getJSON(t, s.base+"/api/prescriptions/"+id, &v); code != http.StatusOK {
		t.Fatalf("GET %s: %d", id, code)
	}
	if v.ID != id || v.Status != "0001" || len(v.LineItems) == 0 || len(v.History) != 1 || v.History[0].Outcome != "AA" {
		t.Fatalf("record: %+v", v)
	}
	if code := getJSON(t, s.base+"/healthz", nil); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
	s.stop(t)

	s2 := startServe(t, args...)
	var again struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if code := getJSON(t, s2.base+"/api/prescriptions/"+id, &again); code != http.StatusOK || again.Status != "0001" {
		t.Fatalf("after restart: HTTP %d %+v", code, again)
	}
	s2.stop(t)
}

func TestServeRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--now", "yesterday"},
		{"serve", "--db", "mysql://x"},
		{"serve", "extra"},
	} {
		out, err := exec.Command(epsBinary, args...).CombinedOutput()
		if err == nil {
			t.Errorf("eps %s: exit 0\n%s", strings.Join(args, " "), out)
		}
		if len(out) == 0 {
			t.Errorf("eps %s: no message", strings.Join(args, " "))
		}
	}
}

// TestDemo runs `eps demo` as the README says and checks it tells the
// story it promises.
func TestDemo(t *testing.T) {
	out, err := exec.Command(epsBinary, "demo").CombinedOutput()
	if err != nil {
		t.Fatalf("eps demo: %v\n%s", err, out)
	}
	for _, want := range []string{"MCCI_IN010000UK13 AA", "0001 To Be Dispensed", "same answer as the first time: true",
		"PORX_IN070101UK31 AA", "0002 With Dispenser", "0006 Dispensed", "0008 Claimed",
		"PORX_IN050101UK31 AA (0001 Prescription/item was cancelled)", "0005 Cancelled",
		"PORX_IN110101UK30 AE (0006 No more nominated prescriptions available)", "the pharmacy checks the signature: valid",
		"digest-mismatch 0106", "returns it: reason 0005 Invalid digital signature"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

// TestInspect runs `eps inspect` on good and bad files.
func TestInspect(t *testing.T) {
	good := testutil.Fixtures(t, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
	bad := filepath.Join(t.TempDir(), "bad.xml")
	if err := os.WriteFile(bad, []byte("<PORX_IN020101SM31"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(epsBinary, "inspect", good, bad).Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v (want status 1 when a file fails)", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON line per file:\n%s", out)
	}
	var r1, r2 map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &r1); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &r2); err != nil {
		t.Fatal(err)
	}
	if r1["prescriptionId"] != "24F5DA-A83008-7EFE6Z" || r1["nhsNumber"] != "5839945242" || r1["error"] != nil {
		t.Errorf("good file: %v", r1)
	}
	if items, _ := r1["lineItems"].([]any); len(items) != 4 {
		t.Errorf("good file: %d line items, want 4", len(items))
	}
	if r2["error"] == nil || r2["error"] == "" {
		t.Errorf("bad file: no error: %v", r2)
	}
}
