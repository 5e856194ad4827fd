package signature

import (
	"context"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/pki"
)

func TestLoadTrustDirErrors(t *testing.T) {
	if _, err := LoadTrustDir(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("a missing directory loaded")
	}
	empty := t.TempDir()
	if _, err := LoadTrustDir(empty); err == nil || !strings.Contains(err.Error(), "roots") {
		t.Errorf("no roots/: %v", err)
	}

	ca, other := newTestCA(t), newOtherTestCA(t)
	// A CRL nobody in the store signed.
	dir := t.TempDir()
	copyFile(t, filepath.Join(ca.dir, pki.RootCertFile), filepath.Join(dir, "roots", "root.pem"))
	copyFile(t, filepath.Join(other.dir, pki.RootCRLFile), filepath.Join(dir, "crls", "other.crl"))
	if _, err := LoadTrustDir(dir); err == nil || !strings.Contains(err.Error(), "not signed by any certificate") {
		t.Errorf("foreign CRL: %v", err)
	}
	// A file that is not a certificate.
	dir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "roots"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "roots", "bad.pem"), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTrustDir(dir); err == nil || !strings.Contains(err.Error(), "bad.pem") {
		t.Errorf("bad certificate: %v", err)
	}
}

// DER or PEM, any of the usual extensions; other and hidden files ignored.
func TestLoadTrustDirFormats(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	der := ca.ca.RootCert.Raw
	write := func(name string, b []byte) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("roots/root.cer", der)
	write("roots/README.md", []byte("not a certificate"))
	write("roots/.hidden.pem", []byte("junk"))
	write("intermediates/issuing.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.ca.IntCert.Raw}))
	crl, err := os.ReadFile(filepath.Join(ca.dir, pki.IntermediateCRLFile))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(crl)
	write("crls/issuing.der", blk.Bytes)
	ts, err := LoadTrustDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.Anchors()) != 1 || len(ts.Intermediates()) != 1 || len(ts.CRLs()) != 1 {
		t.Errorf("loaded %s", ts)
	}
	wantReasons(t, Verify(ca.sign(t, unsignedPrescription(t), SHA1), ts, VerifyOptions{}))
}

// Like the EPS, which trusts the sub-CA certificates it is configured with,
// an anchor need not be a root; and a chain that stops short of an anchor is
// not trusted, but CA revocation is still checked on what was found.
func TestAnchorsAndPartialChains(t *testing.T) {
	ca := newTestCA(t)
	signed := ca.sign(t, unsignedPrescription(t), SHA1)

	subOnly := t.TempDir()
	copyFile(t, filepath.Join(ca.dir, pki.IntermediateCertFile), filepath.Join(subOnly, "roots", "issuing.pem"))
	ts, err := LoadTrustDir(subOnly)
	if err != nil {
		t.Fatal(err)
	}
	r := Verify(signed, ts, VerifyOptions{})
	wantReasons(t, r)
	if len(r.Chain) != 2 {
		t.Errorf("chain %v", subjects(r.Chain))
	}

	other := newOtherTestCA(t)
	partial := t.TempDir()
	copyFile(t, filepath.Join(other.dir, pki.RootCertFile), filepath.Join(partial, "roots", "unrelated.pem"))
	copyFile(t, filepath.Join(ca.dir, pki.IntermediateCertFile), filepath.Join(partial, "intermediates", "issuing.pem"))
	copyFile(t, filepath.Join(ca.dir, pki.IntermediateCRLFile), filepath.Join(partial, "crls", "issuing.crl"))
	ts, err = LoadTrustDir(partial)
	if err != nil {
		t.Fatal(err)
	}
	r = Verify(signed, ts, VerifyOptions{})
	wantReasons(t, r, NotTrusted)
	if len(r.Chain) != 2 {
		t.Errorf("partial chain %v", subjects(r.Chain))
	}
}

// A TrustDir picks up a new CRL on Reload, and keeps its store when a reload fails.
func TestTrustDirReload(t *testing.T) {
	ca := newTestCA(t)
	signed := ca.sign(t, unsignedPrescription(t), SHA1)
	td, err := OpenTrustDir(ca.dir)
	if err != nil {
		t.Fatal(err)
	}
	wantReasons(t, Verify(signed, td.Store(), VerifyOptions{}))
	if changed, err := td.Reload(); changed || err != nil {
		t.Fatalf("reload of an unchanged dir: %v %v", changed, err)
	}

	revoke(t, ca, pki.SerialHex(ca.signer.Cert.SerialNumber), "keyCompromise", caEpoch)
	before := td.Store()
	wantReasons(t, Verify(signed, before, VerifyOptions{})) // the old store does not change
	changed, err := td.Reload()
	if err != nil || !changed {
		t.Fatalf("reload after revocation: %v %v", changed, err)
	}
	wantReasons(t, Verify(signed, td.Store(), VerifyOptions{}), CertificateRevoked)

	if err := os.WriteFile(filepath.Join(ca.dir, "crls", "broken.crl"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := td.Store()
	if _, err := td.Reload(); err == nil {
		t.Error("a broken CRL reloaded")
	}
	if td.Store() != good {
		t.Error("a failed reload replaced the store")
	}
}

func TestWatchTrustDir(t *testing.T) {
	ca := newTestCA(t)
	signed := ca.sign(t, unsignedPrescription(t), SHA1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reloaded := make(chan error, 10)
	td, err := WatchTrustDir(ctx, ca.dir, 5*time.Millisecond, func(_ *TrustStore, err error) { reloaded <- err })
	if err != nil {
		t.Fatal(err)
	}
	revoke(t, ca, pki.SerialHex(ca.signer.Cert.SerialNumber), "keyCompromise", caEpoch)
	// PublishCRL writes two files; a poll may fall between them, so wait
	// for the reload that shows the revocation.
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-reloaded:
			if err != nil {
				t.Fatal(err)
			}
			if Verify(signed, td.Store(), VerifyOptions{}).Has(CertificateRevoked) {
				return
			}
		case <-deadline:
			t.Fatal("no reload showed the revocation")
		}
	}
}
