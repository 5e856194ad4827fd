package pki

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var epoch = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

func newCA(t *testing.T) *CA {
	t.Helper()
	ca, err := Init(t.TempDir(), InitOptions{Org: "nhs", Now: epoch})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestInitLayout(t *testing.T) {
	ca := newCA(t)
	for _, f := range []string{RootCertFile, IntermediateCertFile, RootCRLFile, IntermediateCRLFile, RootKeyFile, IntermediateKeyFile, StateFile} {
		info, err := os.Stat(filepath.Join(ca.Dir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if strings.HasPrefix(f, "private/") && info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, info.Mode().Perm())
		}
	}
	// The root is self-signed, the issuing CA signed by it, both CAs.
	if err := ca.RootCert.CheckSignatureFrom(ca.RootCert); err != nil {
		t.Errorf("root: %v", err)
	}
	if err := ca.IntCert.CheckSignatureFrom(ca.RootCert); err != nil {
		t.Errorf("issuing CA: %v", err)
	}
	for _, c := range []*x509.Certificate{ca.RootCert, ca.IntCert} {
		if !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 || c.KeyUsage&x509.KeyUsageCRLSign == 0 {
			t.Errorf("%s is not a CA certificate", c.Subject)
		}
		if c.PublicKey.(interface{ Size() int }).Size() != 256 {
			t.Errorf("%s: key is not RSA-2048", c.Subject)
		}
	}
	if got := ca.IntCert.Subject.String(); got != "CN=nhs Signing Level 1,OU=CA,O=nhs" {
		t.Errorf("issuing CA subject %q", got)
	}
	if _, err := Init(ca.Dir, InitOptions{}); err == nil {
		t.Error("Init over an existing CA succeeded")
	}
	// Open reads back what Init wrote.
	again, err := Open(ca.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !again.IntCert.Equal(ca.IntCert) || !again.IntKey.Equal(ca.IntKey) {
		t.Error("Open does not give back the issuing CA")
	}
}

// The certificate follows the NHS smartcard profile of the fixtures.
func TestIssueProfile(t *testing.T) {
	ca := newCA(t)
	is, err := ca.Issue("Dr A Smith", RolePrescriber, IssueOptions{UserID: "555253521108", Now: epoch})
	if err != nil {
		t.Fatal(err)
	}
	c := is.Cert
	if got := c.Subject.String(); got != "CN=555253521108_Dr_A_Smith,OU=People,O=nhs" {
		t.Errorf("subject %q", got)
	}
	if err := c.CheckSignatureFrom(ca.IntCert); err != nil {
		t.Errorf("not signed by the issuing CA: %v", err)
	}
	if c.KeyUsage != x509.KeyUsageContentCommitment {
		t.Errorf("key usage %v, want nonRepudiation only", c.KeyUsage)
	}
	if c.IsCA || !c.BasicConstraintsValid {
		t.Error("basicConstraints is not CA:FALSE")
	}
	if c.PublicKey.(interface{ Size() int }).Size() != 256 {
		t.Error("key is not RSA-2048")
	}
	if len(c.CRLDistributionPoints) != 1 || !strings.HasSuffix(c.CRLDistributionPoints[0], "/intermediate.crl") {
		t.Errorf("CRL distribution points %v", c.CRLDistributionPoints)
	}
	if len(c.AuthorityKeyId) == 0 || string(c.AuthorityKeyId) != string(ca.IntCert.SubjectKeyId) {
		t.Error("authority key identifier is not the issuing CA's")
	}
	var policies, pkup bool
	for _, e := range c.Extensions {
		switch {
		case e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 32}):
			policies = e.Critical && len(c.PolicyIdentifiers) == 1 && c.PolicyIdentifiers[0].Equal(policyNHSSmartcard)
		case e.Id.Equal(oidPrivateKeyUsagePeriod):
			var p privateKeyUsagePeriod
			_, err := asn1.Unmarshal(e.Value, &p)
			pkup = err == nil && !p.NotBefore.Before(c.NotBefore) && p.NotAfter.Before(c.NotAfter)
		}
	}
	if !policies {
		t.Error("no critical NHS smartcard certificate policy")
	}
	if !pkup {
		t.Error("no private key usage period within the validity")
	}
	if got := c.NotAfter.Sub(c.NotBefore); got != 730*24*time.Hour {
		t.Errorf("validity %v, want two years", got)
	}
	// Written out, key 0600, and recorded.
	if info, err := os.Stat(is.KeyPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", info, err)
	}
	k, err := ReadKey(is.KeyPath)
	if err != nil || !k.Equal(is.Key) {
		t.Errorf("ReadKey: %v", err)
	}
	rec, ok := ca.Find(SerialHex(c.SerialNumber))
	if !ok || rec.Role != RolePrescriber || rec.Issuer != "intermediate" {
		t.Errorf("record %+v %v", rec, ok)
	}

	d, err := ca.Issue("A Pharmacist", RoleDispenser, IssueOptions{Now: epoch})
	if err != nil {
		t.Fatal(err)
	}
	if d.Cert.KeyUsage != x509.KeyUsageDigitalSignature || len(d.Cert.ExtKeyUsage) != 1 || d.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("dispenser usage %v %v", d.Cert.KeyUsage, d.Cert.ExtKeyUsage)
	}
	if !strings.HasPrefix(d.Cert.Subject.CommonName, "555") || len(strings.SplitN(d.Cert.Subject.CommonName, "_", 2)[0]) != 12 {
		t.Errorf("default user ID in %q", d.Cert.Subject.CommonName)
	}
	if d.Cert.SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Error("two certificates with one serial")
	}

	if _, err := ca.Issue("X", "admin", IssueOptions{}); err == nil {
		t.Error("unknown role accepted")
	}
	if _, err := ca.Issue("  ", RolePrescriber, IssueOptions{}); err == nil {
		t.Error("empty name accepted")
	}
}

func TestRevokeAndPublish(t *testing.T) {
	ca := newCA(t)
	is, err := Issue(ca.Dir, "Dr A Smith", RolePrescriber, IssueOptions{Now: epoch})
	if err != nil {
		t.Fatal(err)
	}
	serial := SerialHex(is.Cert.SerialNumber)
	at := epoch.Add(48 * time.Hour)
	if err := Revoke(ca.Dir, strings.ToLower(serial), ReasonCodes["keyCompromise"], at); err != nil {
		t.Fatal(err)
	}
	if err := Revoke(ca.Dir, serial, 0, at); err == nil || !strings.Contains(err.Error(), "already revoked") {
		t.Errorf("second revocation: %v", err)
	}
	if err := Revoke(ca.Dir, "ABCDEF", 0, at); err == nil {
		t.Error("revoked a serial this CA never issued")
	}
	if err := Revoke(ca.Dir, SerialHex(ca.IntCert.SerialNumber), ReasonCodes["cACompromise"], at); err != nil {
		t.Fatal(err)
	}
	now := epoch.Add(72 * time.Hour)
	if err := PublishCRL(ca.Dir, now); err != nil {
		t.Fatal(err)
	}
	arl := readCRL(t, filepath.Join(ca.Dir, RootCRLFile))
	crl := readCRL(t, filepath.Join(ca.Dir, IntermediateCRLFile))
	if err := arl.CheckSignatureFrom(ca.RootCert); err != nil {
		t.Errorf("ARL: %v", err)
	}
	if err := crl.CheckSignatureFrom(ca.IntCert); err != nil {
		t.Errorf("CRL: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(is.Cert.SerialNumber) != 0 ||
		crl.RevokedCertificateEntries[0].ReasonCode != 1 || !crl.RevokedCertificateEntries[0].RevocationTime.Equal(at) {
		t.Errorf("CRL entries %+v", crl.RevokedCertificateEntries)
	}
	if len(arl.RevokedCertificateEntries) != 1 || arl.RevokedCertificateEntries[0].SerialNumber.Cmp(ca.IntCert.SerialNumber) != 0 ||
		arl.RevokedCertificateEntries[0].ReasonCode != 2 {
		t.Errorf("ARL entries %+v", arl.RevokedCertificateEntries)
	}
	if !crl.ThisUpdate.Equal(now) || !crl.NextUpdate.Equal(now.AddDate(0, 0, 30)) {
		t.Errorf("CRL dates %v %v", crl.ThisUpdate, crl.NextUpdate)
	}
	// Each publication takes the next CRL number.
	first := crl.Number.Int64()
	if err := PublishCRL(ca.Dir, now); err != nil {
		t.Fatal(err)
	}
	if got := readCRL(t, filepath.Join(ca.Dir, IntermediateCRLFile)).Number.Int64(); got != first+1 {
		t.Errorf("CRL number %d after %d", got, first)
	}
}

func TestParseReason(t *testing.T) {
	for in, want := range map[string]int{"keyCompromise": 1, "KEYCOMPROMISE": 1, "superseded": 4, "5": 5, "aACompromise": 10} {
		if got, err := ParseReason(in); err != nil || got != want {
			t.Errorf("%q: %d %v", in, got, err)
		}
	}
	for _, in := range []string{"", "7", "11", "stolen"} {
		if _, err := ParseReason(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "eps ca init") {
		t.Errorf("empty dir: %v", err)
	}
	ca := newCA(t)
	if err := os.WriteFile(filepath.Join(ca.Dir, StateFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ca.Dir); err == nil {
		t.Error("broken ca.json opened")
	}
}

func readCRL(t *testing.T, path string) *x509.RevocationList {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "X509 CRL" {
		t.Fatalf("%s is not a PEM CRL", path)
	}
	l, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
