package signature

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/pki"
	"github.com/openeps/openeps/internal/testutil"
)

// A prescription signed with `eps ca` credentials, then changed one way at a
// time: each change must give its own failure, and only that one.
func TestTamperSignedFields(t *testing.T) {
	ca := newTestCA(t)
	ts := ca.store(t)
	signed := ca.sign(t, unsignedPrescription(t), SHA1)
	if r := Verify(signed, ts, VerifyOptions{Now: caEpoch.AddDate(1, 0, 0)}); !r.Valid() {
		t.Fatalf("freshly signed: %s", r.String())
	}
	// Every signed part: the signing time and prescription UUID, the
	// prescriber (AgentPerson), the patient (recordTarget), each line item.
	cases := []struct{ name, old, new string }{
		{"signing time", `<time value="20221021134700"/>`, `<time value="20221021134701"/>`},
		{"prescription UUID", `<id root="20BA5FB5-CB58-462C-923E-22D180B09356"/>`, `<id root="20BA5FB5-CB58-462C-923E-22D180B09357"/>`},
		{"prescriber's name", `<family>BOIN</family>`, `<family>BOYNE</family>`},
		{"prescriber's role code", `<code code="R8000" codeSystem="1.2.826.0.1285.0.2.1.104"/>`, `<code code="R8001" codeSystem="1.2.826.0.1285.0.2.1.104"/>`},
		{"patient's NHS number", `<id extension="5839945242" root="2.16.840.1.113883.2.1.4.1"/>`, `<id extension="9449304106" root="2.16.840.1.113883.2.1.4.1"/>`},
		{"patient's postcode", `<postalCode>KT11 2QY</postalCode>`, `<postalCode>KT11 2QZ</postalCode>`},
		{"a quantity", `<quantity unit="1" value="20">`, `<quantity unit="1" value="200">`},
		{"a dosage", `<value>2 times a day for 10 days</value>`, `<value>20 times a day for 10 days</value>`},
		{"an attribute added to a signed element", `<family>BOIN</family>`, `<family nullFlavor="UNK">BOIN</family>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Verify(replaceFirst(t, signed, c.old, c.new), ts, VerifyOptions{})
			wantReasons(t, r, DigestMismatch)
		})
	}
}

// What the signature does not cover may change: layout, the short-form ID,
// the nominated pharmacy, and what the EPS leaves out of line items on
// purpose (the item status and repeatNumber/low).
func TestUnsignedPartsMayChange(t *testing.T) {
	ca := newTestCA(t)
	ts := ca.store(t)
	signed := ca.sign(t, unsignedPrescription(t), SHA256)
	cases := []struct{ name, old, new string }{
		{"short-form ID", `extension="24F5DA-A83008-7EFE6Z"`, `extension="24F5DA-A83008-7EFE6Y"`},
		{"nominated pharmacy", `<id extension="FA565" root="1.2.826.0.1285.0.1.10"/>`, `<id extension="FCG71" root="1.2.826.0.1285.0.1.10"/>`},
		{"re-indented signed element", "<family>BOIN</family>", "<family>BOIN</family>\n\n\t"},
		{"attribute order and quotes", `<family>BOIN</family>`, `<family >BOIN</family >`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Verify(replaceFirst(t, signed, c.old, c.new), ts, VerifyOptions{})
			wantReasons(t, r)
		})
	}

	// A repeat-dispensing prescription: the item status and the issue number
	// (repeatNumber/low) change as issues are released; the total (high) is signed.
	rd := ca.sign(t, testutil.ReadFixture(t, "hl7v3", "PORX_IN020101UK31-parent-prescription-repeat-dispensing.xml"), SHA1)
	lowRe := regexp.MustCompile(`(<repeatNumber>\s*<low value=")1(")`)
	if !lowRe.Match(rd) {
		t.Fatal("no repeatNumber/low in the repeat-dispensing fixture")
	}
	issue2 := lowRe.ReplaceAll(rd, []byte("${1}2${2}"))
	wantReasons(t, Verify(issue2, ts, VerifyOptions{}))
	highRe := regexp.MustCompile(`(<high value=")6(")`)
	more := highRe.ReplaceAll(rd, []byte("${1}7${2}"))
	wantReasons(t, Verify(more, ts, VerifyOptions{}), DigestMismatch)
	// Adding an item status to each line item, as a release response does.
	withStatus := strings.ReplaceAll(string(rd), "</pertinentLineItem>",
		`<pertinentInformation4 typeCode="PERT"><pertinentItemStatus classCode="OBS" moodCode="EVN"><code code="IS" codeSystem="2.16.840.1.113883.2.1.3.2.4.17.30"/><value code="0007" codeSystem="2.16.840.1.113883.2.1.3.2.4.17.23"/></pertinentItemStatus></pertinentInformation4></pertinentLineItem>`)
	wantReasons(t, Verify([]byte(withStatus), ts, VerifyOptions{}))
}

// The signature itself, tampered.
func TestTamperSignature(t *testing.T) {
	ca := newTestCA(t)
	ts := ca.store(t)
	signed := ca.sign(t, unsignedPrescription(t), SHA1)
	sigValue := regexp.MustCompile(`<SignatureValue>([^<]+)</SignatureValue>`)
	digest := regexp.MustCompile(`<DigestValue>([^<]+)</DigestValue>`)
	certRe := regexp.MustCompile(`<X509Certificate>([^<]+)</X509Certificate>`)

	t.Run("SignatureValue", func(t *testing.T) {
		b := sigValue.ReplaceAllFunc(signed, func(m []byte) []byte { return flipBase64(t, m, len("<SignatureValue>")+10) })
		wantReasons(t, Verify(b, ts, VerifyOptions{}), SignatureInvalid)
	})
	t.Run("SignatureValue not base64", func(t *testing.T) {
		b := sigValue.ReplaceAll(signed, []byte("<SignatureValue>invalid\n</SignatureValue>"))
		wantReasons(t, Verify(b, ts, VerifyOptions{}), SignatureInvalid)
	})
	t.Run("DigestValue", func(t *testing.T) {
		b := digest.ReplaceAllFunc(signed, func(m []byte) []byte { return flipBase64(t, m, len("<DigestValue>")+3) })
		// SignedInfo changed, so the signature over it fails too.
		wantReasons(t, Verify(b, ts, VerifyOptions{}), SignatureInvalid, DigestMismatch)
	})
	t.Run("SignatureMethod", func(t *testing.T) {
		b := replaceFirst(t, signed, AlgRSASHA1, AlgRSASHA256)
		wantReasons(t, Verify(b, ts, VerifyOptions{}), SignatureInvalid, DigestMismatch)
	})
	t.Run("another certificate of the same CA", func(t *testing.T) {
		other, err := ca.ca.Issue("Dr B Jones", pki.RolePrescriber, pki.IssueOptions{Now: caEpoch, Days: 3650})
		if err != nil {
			t.Fatal(err)
		}
		b := certRe.ReplaceAll(signed, []byte("<X509Certificate>"+base64.StdEncoding.EncodeToString(other.Cert.Raw)+"</X509Certificate>"))
		r := Verify(b, ts, VerifyOptions{})
		wantReasons(t, r, SignatureInvalid)
		if r.Certificate == nil || r.Certificate.Subject.CommonName == ca.signer.Cert.Subject.CommonName {
			t.Error("the result does not name the substituted certificate")
		}
	})
	t.Run("certificate bytes", func(t *testing.T) {
		b := certRe.ReplaceAllFunc(signed, func(m []byte) []byte { return flipBase64(t, m, len("<X509Certificate>")+40) })
		wantReasons(t, Verify(b, ts, VerifyOptions{}), InvalidCertificate)
	})
	t.Run("certificate signature", func(t *testing.T) {
		// Flip a bit in the CA's signature at the end of the certificate: it
		// still parses, the key still verifies SignatureValue, but no CA signed it.
		der := ca.signer.Cert.Raw
		bad := append([]byte(nil), der...)
		bad[len(bad)-5] ^= 0x01
		b := certRe.ReplaceAll(signed, []byte("<X509Certificate>"+base64.StdEncoding.EncodeToString(bad)+"</X509Certificate>"))
		wantReasons(t, Verify(b, ts, VerifyOptions{}), NotTrusted)
	})
	t.Run("two certificates", func(t *testing.T) {
		b := replaceFirst(t, signed, "</X509Data>", "<X509Certificate>"+base64.StdEncoding.EncodeToString(ca.ca.IntCert.Raw)+"</X509Certificate></X509Data>")
		wantReasons(t, Verify(b, ts, VerifyOptions{}), MultipleCertificates)
	})
	t.Run("PEM chain in one element", func(t *testing.T) {
		m := certRe.FindSubmatch(signed)
		pemText := "-----BEGIN CERTIFICATE-----\n" + string(m[1]) + "\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n" +
			base64.StdEncoding.EncodeToString(ca.ca.IntCert.Raw) + "\n-----END CERTIFICATE-----"
		b := certRe.ReplaceAll(signed, []byte("<X509Certificate>"+pemText+"</X509Certificate>"))
		wantReasons(t, Verify(b, ts, VerifyOptions{}), MultipleCertificates)
	})
	t.Run("no SignatureValue", func(t *testing.T) {
		b := sigValue.ReplaceAll(signed, []byte("<SignatureValue/>"))
		wantReasons(t, Verify(b, ts, VerifyOptions{}), InvalidFormat)
	})
	t.Run("no certificate", func(t *testing.T) {
		b := certRe.ReplaceAll(signed, []byte("<X509Certificate></X509Certificate>"))
		wantReasons(t, Verify(b, ts, VerifyOptions{}), InvalidFormat)
	})
	t.Run("unsupported canonicalisation", func(t *testing.T) {
		b := replaceFirst(t, signed, `<CanonicalizationMethod Algorithm="`+AlgExcC14N+`"/>`, `<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>`)
		wantReasons(t, Verify(b, ts, VerifyOptions{}), InvalidFormat)
	})
	t.Run("signature removed", func(t *testing.T) {
		b := regexp.MustCompile(`(?s)<signatureText>.*</signatureText>`).ReplaceAll(signed, []byte(`<signatureText nullFlavor="NA"/>`))
		r := Verify(b, ts, VerifyOptions{})
		wantReasons(t, r, NotFound)
		if got := r.Failures[0].Reason.WireCode().Value; got != "0003" {
			t.Errorf("wire code %s, want 17.22/0003", got)
		}
	})
	t.Run("signature in the wrong namespace", func(t *testing.T) {
		b := replaceFirst(t, signed, `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">`, `<Signature xmlns="http://www.w3.org/2000/09/xmldsig-wrong#">`)
		wantReasons(t, Verify(b, ts, VerifyOptions{}), NotFound)
	})
}

// A key that is not RSA, or is too small, or a certificate not for signing.
func TestUnsuitableKeys(t *testing.T) {
	ca := newTestCA(t)
	signed := ca.sign(t, unsignedPrescription(t), SHA1)
	certRe := regexp.MustCompile(`<X509Certificate>([^<]+)</X509Certificate>`)
	swap := func(cert *x509.Certificate) []byte {
		return certRe.ReplaceAll(signed, []byte("<X509Certificate>"+base64.StdEncoding.EncodeToString(cert.Raw)+"</X509Certificate>"))
	}
	// A certificate for key encipherment only.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "enc only"},
		NotBefore: caEpoch, NotAfter: caEpoch.AddDate(10, 0, 0), KeyUsage: x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := x509.ParseCertificate(der)
	wantReasons(t, Verify(swap(enc), nil, VerifyOptions{}), UnsuitableKey)
	// The dispenser's authentication certificate (digitalSignature) is a usable key.
	disp, err := ca.ca.Issue("A Pharmacist", pki.RoleDispenser, pki.IssueOptions{Now: caEpoch, Days: 3650})
	if err != nil {
		t.Fatal(err)
	}
	dsigned, err := Sign(unsignedPrescription(t), disp.Key, disp.Cert, SHA256)
	if err != nil {
		t.Fatal(err)
	}
	wantReasons(t, Verify(dsigned, ca.store(t), VerifyOptions{}))
}

// Revocation, expiry and unknown CAs each give their own code.
func TestCertificateChecks(t *testing.T) {
	signedAt := time.Date(2022, 10, 21, 13, 47, 0, 0, time.UTC) // the fixture's author/time

	t.Run("revoked keyCompromise after signing still taints it", func(t *testing.T) {
		ca := newTestCA(t)
		signed := ca.sign(t, unsignedPrescription(t), SHA1)
		revoke(t, ca, pki.SerialHex(ca.signer.Cert.SerialNumber), "keyCompromise", signedAt.AddDate(0, 1, 0))
		r := Verify(signed, ca.store(t), VerifyOptions{})
		wantReasons(t, r, CertificateRevoked)
		if c := r.Failures[0].Reason.Code(); c.System != SystemSignatureCheck || c.Value != "0107" {
			t.Errorf("code %v", c)
		}
	})
	t.Run("revoked superseded after signing: still valid, noted", func(t *testing.T) {
		ca := newTestCA(t)
		signed := ca.sign(t, unsignedPrescription(t), SHA1)
		revoke(t, ca, pki.SerialHex(ca.signer.Cert.SerialNumber), "superseded", signedAt.AddDate(0, 1, 0))
		r := Verify(signed, ca.store(t), VerifyOptions{})
		wantReasons(t, r)
		if !strings.Contains(strings.Join(r.Notes, " "), "signed before its revocation") {
			t.Errorf("notes %q", r.Notes)
		}
	})
	t.Run("revoked superseded before signing", func(t *testing.T) {
		ca := newTestCA(t)
		signed := ca.sign(t, unsignedPrescription(t), SHA1)
		revoke(t, ca, pki.SerialHex(ca.signer.Cert.SerialNumber), "superseded", signedAt.Add(-time.Hour))
		wantReasons(t, Verify(signed, ca.store(t), VerifyOptions{}), CertificateRevoked)
	})
	t.Run("issuing CA revoked", func(t *testing.T) {
		ca := newTestCA(t)
		signed := ca.sign(t, unsignedPrescription(t), SHA1)
		revoke(t, ca, pki.SerialHex(ca.ca.IntCert.SerialNumber), "cACompromise", signedAt.AddDate(1, 0, 0))
		r := Verify(signed, ca.store(t), VerifyOptions{})
		wantReasons(t, r, CARevoked)
		if c := r.Failures[0].Reason.Code(); c.Value != "0108" {
			t.Errorf("code %v", c)
		}
	})
	t.Run("expired when signed", func(t *testing.T) {
		ca := newTestCA(t)
		// Valid for 30 days from 2020; the prescription says it was signed in 2022.
		short, err := ca.ca.Issue("Dr C Brief", pki.RolePrescriber, pki.IssueOptions{Now: caEpoch, Days: 30})
		if err != nil {
			t.Fatal(err)
		}
		signed, err := Sign(unsignedPrescription(t), short.Key, short.Cert, SHA1)
		if err != nil {
			t.Fatal(err)
		}
		r := Verify(signed, ca.store(t), VerifyOptions{})
		wantReasons(t, r, ExpiredWhenSigned)
		if c := r.Failures[0].Reason.Code(); c.Value != "0109" {
			t.Errorf("code %v", c)
		}
	})
	t.Run("unknown CA", func(t *testing.T) {
		ca, other := newTestCA(t), newOtherTestCA(t)
		signed := ca.sign(t, unsignedPrescription(t), SHA1)
		r := Verify(signed, other.store(t), VerifyOptions{})
		wantReasons(t, r, NotTrusted)
		if c := r.Failures[0].Reason.Code(); c.Value != "0110" {
			t.Errorf("code %v", c)
		}
		if !strings.Contains(r.Failures[0].Detail, "not in the trust store") && !strings.Contains(r.Failures[0].Detail, "signed") {
			t.Errorf("detail %q", r.Failures[0].Detail)
		}
	})
	t.Run("stale CRL", func(t *testing.T) {
		ca := newTestCA(t) // CRLs valid ten years from 2020
		signed := ca.sign(t, unsignedPrescription(t), SHA1)
		ts := ca.store(t)
		wantReasons(t, Verify(signed, ts, VerifyOptions{Now: caEpoch.AddDate(9, 0, 0)}))
		wantReasons(t, Verify(signed, ts, VerifyOptions{Now: caEpoch.AddDate(11, 0, 0)}), RevocationUnknown)
	})
	t.Run("all at once, in the EPS's order", func(t *testing.T) {
		ca := newTestCA(t)
		signed := ca.sign(t, unsignedPrescription(t), SHA1)
		revoke(t, ca, pki.SerialHex(ca.signer.Cert.SerialNumber), "keyCompromise", signedAt)
		revoke(t, ca, pki.SerialHex(ca.ca.IntCert.SerialNumber), "keyCompromise", signedAt)
		b := replaceFirst(t, signed, `<time value="20221021134700"/>`, `<time value="20401021134700"/>`)
		b = regexp.MustCompile(`<SignatureValue>[^<]+`).ReplaceAll(b, []byte("<SignatureValue>AAAA"))
		r := Verify(b, ca.store(t), VerifyOptions{Now: caEpoch.AddDate(30, 0, 0)})
		wantReasons(t, r, SignatureInvalid, DigestMismatch, CertificateRevoked, CARevoked, ExpiredWhenSigned, NotTrusted, RevocationUnknown)
	})
}

func revoke(t *testing.T, ca *testCA, serial, reason string, at time.Time) {
	t.Helper()
	code, err := pki.ParseReason(reason)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.Revoke(ca.dir, serial, code, at); err != nil {
		t.Fatal(err)
	}
	if err := pki.PublishCRL(ca.dir, caEpoch.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
}

func replaceFirst(t testing.TB, b []byte, old, new string) []byte {
	t.Helper()
	if !strings.Contains(string(b), old) {
		t.Fatalf("%q not found", old)
	}
	return []byte(strings.Replace(string(b), old, new, 1))
}

// flipBase64 changes the base64 character at i of m to another valid one.
func flipBase64(t *testing.T, m []byte, i int) []byte {
	t.Helper()
	out := append([]byte(nil), m...)
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

// A signer that follows XML-DSig to the letter signs SignedInfo with its
// white space; that is accepted too, and noted.
func TestStrictSignedInfoAccepted(t *testing.T) {
	ca := newTestCA(t)
	signed := ca.sign(t, unsignedPrescription(t), SHA256)
	tr := mustParse(t, signed)
	p, err := locate(tr, tr.findAll("ParentPrescription")[0])
	if err != nil {
		t.Fatal(err)
	}
	d, f := parseDSig(tr, p.signatureText)
	if f != nil {
		t.Fatal(f)
	}
	strict := d.canonicalSignedInfo(tr, false, nil)
	h := sha256.Sum256(strict)
	sig, err := rsa.SignPKCS1v15(nil, ca.signer.Key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	b := regexp.MustCompile(`<SignatureValue>[^<]+`).ReplaceAll(signed, []byte("<SignatureValue>"+base64.StdEncoding.EncodeToString(sig)))
	r := Verify(b, ca.store(t), VerifyOptions{})
	wantReasons(t, r)
	if !strings.Contains(strings.Join(r.Notes, " "), "strict XML-DSig") {
		t.Errorf("notes %q", r.Notes)
	}
}

// Verify is safe for concurrent use (pooled trees, the certificate cache).
func TestVerifyConcurrent(t *testing.T) {
	ca := newTestCA(t)
	ts := ca.store(t)
	good := ca.sign(t, unsignedPrescription(t), SHA1)
	bad := replaceFirst(t, good, "<family>BOIN</family>", "<family>BOYNE</family>")
	done := make(chan error)
	for g := range 8 {
		go func() {
			for k := range 50 {
				msg, want := good, true
				if (g+k)%2 == 1 {
					msg, want = bad, false
				}
				if r := Verify(msg, ts, VerifyOptions{}); r.Valid() != want {
					done <- fmt.Errorf("goroutine %d: %s", g, r.String())
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
