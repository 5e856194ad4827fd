package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/testutil"
)

// eps runs the command in-process, as main does.
func eps(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runMain(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func mustEPS(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := eps(t, args...)
	if code != 0 {
		t.Fatalf("eps %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

var issuedPaths = regexp.MustCompile(`(?m)^serial\s+(\S+)$[\s\S]*^certificate\s+(\S+)$\s*^key\s+(\S+)$`)

// The whole flow a user follows: make a CA, issue a prescriber's card, sign
// a prescription, verify it, revoke the card, verify again.
func TestCASignVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	out := mustEPS(t, "ca", "init", "--dir", dir, "--now", "2020-01-01T00:00:00Z", "--years", "20", "--crl-days", "36500")
	if !strings.Contains(out, "issuing CA") {
		t.Errorf("init said %q", out)
	}
	out = mustEPS(t, "ca", "issue", "--dir", dir, "--name", "Dr A Smith", "--role", "prescriber", "--now", "2020-01-01T00:00:00Z", "--days", "3650")
	m := issuedPaths.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("issue said %q", out)
	}
	serial, cert, key := m[1], m[2], m[3]

	in := testutil.Fixtures(t, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
	work := t.TempDir()
	for _, alg := range []string{"sha1", "sha256"} {
		signed := filepath.Join(work, "signed-"+alg+".xml")
		mustEPS(t, "signature", "sign", "--key", key, "--cert", cert, "--alg", alg, in, signed)
		code, out, _ := eps(t, "signature", "verify", signed, "--trust-dir", dir) // flags after the file, as documented
		if code != 0 || out != "valid\n" {
			t.Errorf("%s: exit %d, %q", alg, code, out)
		}
	}
	signed := filepath.Join(work, "signed-sha1.xml")

	// Without a trust dir it says what it did not check.
	code, out, _ := eps(t, "signature", "verify", signed)
	if code != 0 || !strings.HasPrefix(out, "valid (") || !strings.Contains(out, "not checked") {
		t.Errorf("no trust dir: exit %d, %q", code, out)
	}

	// Tampered: invalid with the reason and its code, exit 1.
	b, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(work, "tampered.xml")
	if err := os.WriteFile(tampered, bytes.Replace(b, []byte("<family>BOIN</family>"), []byte("<family>BOYNE</family>"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = eps(t, "signature", "verify", "--trust-dir", dir, tampered)
	if code != 1 || out != "invalid: Signature doesn't match prescription [digest-mismatch 0106]: DigestValue is not the digest of the prescription's signed fragments\n" {
		t.Errorf("tampered: exit %d, %q", code, out)
	}

	// Revoked: the CRL is republished and the next verification sees it.
	out = mustEPS(t, "ca", "revoke", "--dir", dir, "--serial", serial, "--reason", "keyCompromise", "--at", "2021-01-01T00:00:00Z", "--now", "2021-01-01T00:00:00Z")
	if !strings.Contains(out, "revoked "+serial) {
		t.Errorf("revoke said %q", out)
	}
	code, out, _ = eps(t, "signature", "verify", "--trust-dir", dir, signed)
	if code != 1 || !strings.HasPrefix(out, "invalid: Certificate is revoked [certificate-revoked 0107]") {
		t.Errorf("revoked: exit %d, %q", code, out)
	}
	out = mustEPS(t, "ca", "list", "--dir", dir)
	if !strings.Contains(out, serial) || !strings.Contains(out, "revoked 2021-01-01") {
		t.Errorf("list: %q", out)
	}
	if out := mustEPS(t, "ca", "crl", "--dir", dir); !strings.Contains(out, "published") {
		t.Errorf("crl: %q", out)
	}

	// -v shows the chain and the wire code.
	_, out, _ = eps(t, "signature", "verify", "-v", "--trust-dir", dir, signed)
	for _, want := range []string{"signer", "issuer", "on the wire 2.16.840.1.113883.2.1.3.2.4.16.34/5000"} {
		if !strings.Contains(out, want) {
			t.Errorf("-v output lacks %q:\n%s", want, out)
		}
	}
}

// The real NHS vectors through the command.
func TestSignatureVerifyFixtures(t *testing.T) {
	dir := testutil.Fixtures(t, "hl7v3")
	code, out, _ := eps(t, "signature", "verify", filepath.Join(dir, "PORX_IN020101UK31-signed-valid-rsa-sha1.xml"))
	if code != 0 || !strings.HasPrefix(out, "valid") {
		t.Errorf("valid vector: exit %d, %q", code, out)
	}
	code, out, _ = eps(t, "signature", "verify", filepath.Join(dir, "PORX_IN020101UK31-signed-invalid-signature-value.xml"))
	if code != 1 || !strings.HasPrefix(out, "invalid: Signature is invalid [signature-invalid 0105]") {
		t.Errorf("invalid vector: exit %d, %q", code, out)
	}
	// A release response: one line per prescription.
	code, out, _ = eps(t, "signature", "verify", filepath.Join(dir, "eps-api", "packages", "coordinator", "tests", "services", "translation", "response", "release", "full_successful_release.xml"))
	if lines := strings.Count(out, "\n"); lines != 20 {
		t.Errorf("release response: %d lines, want 20 (exit %d)\n%s", lines, code, out)
	}
	// Not a prescription.
	code, out, _ = eps(t, "signature", "verify", filepath.Join(dir, "PORX_IN030101UK32-cancel-request.xml"))
	if code != 1 || !strings.Contains(out, "no ParentPrescription") {
		t.Errorf("cancel request: exit %d, %q", code, out)
	}
}

func TestSignatureAndCAUsage(t *testing.T) {
	for _, args := range [][]string{
		{"ca"}, {"ca", "frobnicate"}, {"ca", "init"}, {"ca", "issue", "--dir", t.TempDir()},
		{"signature"}, {"signature", "verify"}, {"signature", "sign", "a", "b"},
	} {
		if code, _, _ := eps(t, args...); code != 2 {
			t.Errorf("eps %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
	if code, _, errOut := eps(t, "ca", "issue", "--dir", t.TempDir(), "--name", "X"); code != 1 || !strings.Contains(errOut, "eps ca init") {
		t.Errorf("issue without a CA: exit %d, %q", code, errOut)
	}
	if code, _, errOut := eps(t, "signature", "verify", "--trust-dir", t.TempDir(), "x.xml"); code != 1 || !strings.Contains(errOut, "roots") {
		t.Errorf("empty trust dir: exit %d, %q", code, errOut)
	}
}
