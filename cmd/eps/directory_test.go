package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/testutil"
)

// TestDirectoryCommand runs `eps directory` as an operator does: add, list
// (text and JSON), import SDS lookups, remove.
func TestDirectoryCommand(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "eps.db")
	eps := func(args ...string) (string, error) {
		out, err := exec.Command(epsBinary, append([]string{"directory"}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := eps("add", "--db", db, "--key", "A83008-0000001", "--asid", "200000001285", "--ods", "A83008",
		"--endpoint", "https://gp.example/reliablemessaging/reliablerequest", "--cpa-id", "S1001A1630",
		"--retries", "5", "--retry-interval", "PT30S", "--role", "prescriber"); err != nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	routing := testutil.Fixtures(t, "ebxml", "mhs-adaptor", "mhs", "common", "mhs_common", "routing", "tests", "data", "routing.json")
	rel := testutil.Fixtures(t, "ebxml", "mhs-adaptor", "mhs", "common", "mhs_common", "routing", "tests", "data", "reliability.json")
	if out, err := eps("import", "--db", db, "--routing", routing, "--reliability", rel); err != nil ||
		!strings.Contains(out, "YES-0000806") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, err := eps("list", "--db", db, "--json")
	if err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want two entries:\n%s", out)
	}
	var e struct {
		PartyKey    string `json:"partyKey"`
		Endpoint    string `json:"endpoint"`
		Reliability struct {
			Retries       int    `json:"retries"`
			RetryInterval string `json:"retryInterval"`
		} `json:"reliability"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
		t.Fatal(err)
	}
	if e.PartyKey != "A83008-0000001" || e.Reliability.Retries != 5 || e.Reliability.RetryInterval != "PT30S" {
		t.Errorf("entry %+v", e)
	}
	if out, err := eps("list", "--db", db); err != nil || !strings.Contains(out, "S20001A000182") {
		t.Errorf("text list: %v\n%s", err, out)
	}
	if out, err := eps("remove", "--db", db, "--key", "A83008-0000001"); err != nil {
		t.Fatalf("remove: %v\n%s", err, out)
	}
	if out, err := eps("remove", "--db", db, "--key", "A83008-0000001"); err == nil || !strings.Contains(out, "not in the directory") {
		t.Errorf("removing twice: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{},
		{"frobnicate"},
		{"add", "--db", db},
		{"add", "--db", db, "--key", "X", "--endpoint", "ftp://x"},
		{"add", "--db", db, "--key", "X", "--retry-interval", "P1M"},
		{"add", "--db", db, "--key", "X", "--ack-requested", "sometimes"},
		{"import", "--db", db},
	} {
		if out, err := eps(bad...); err == nil || out == "" {
			t.Errorf("eps directory %s: accepted (%v)\n%s", strings.Join(bad, " "), err, out)
		}
	}
}

// TestTransportFlagsRefused: eps serve and eps mhs refuse incomplete TLS
// and missing identities with a message.
func TestTransportFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"serve", "--db", "sqlite:" + filepath.Join(dir, "a.db"), "--client-ca", "ca.pem"},
		{"serve", "--db", "sqlite:" + filepath.Join(dir, "a.db"), "--tls-cert", "missing.pem", "--tls-key", "missing-key.pem"},
		{"mhs", "--db", "sqlite:" + filepath.Join(dir, "b.db")},
		{"mhs", "--db", "sqlite:" + filepath.Join(dir, "b.db"), "--spine", "ftp://x", "--party-key", "P"},
		{"mhs", "--db", "sqlite:" + filepath.Join(dir, "b.db"), "--spine", "https://x", "--party-key", "P", "--retry-interval", "soon"},
	} {
		out, err := exec.Command(epsBinary, args...).CombinedOutput()
		if err == nil || len(out) == 0 {
			t.Errorf("eps %s: exit 0 or no message\n%s", strings.Join(args, " "), out)
		}
	}
}
