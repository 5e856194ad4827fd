package signature

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/testutil"
)

// The EPS-API signature test vectors. Each was made to show one failure (its
// name); what NHS's own verifier asserts is in EPS-API
// tests/services/verification/*.spec.ts. Several fail more checks than the
// one they were made for, because they were made by editing another vector
// or with test certificates whose dates do not cover the signing time: every
// failure is listed, in the EPS's order, with why.
func TestSignatureVectors(t *testing.T) {
	ts := fixtureTrustStore(t)
	opts := VerifyOptions{Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	cases := []struct {
		file string
		want []Reason
		why  string
	}{
		{"ValidSignature.xml", []Reason{NotTrusted},
			"signature and digest verify (signature-verification.spec.ts); its issuer, NHS INT Level 2D, is not among the published trust material"},
		{"SignatureIsInvalid.xml", []Reason{SignatureInvalid},
			"SignatureValue is wrong (verifyPrescriptionSignatureValid is false); the digest matches and the chain to NHS INT Level 1D holds"},
		{"SignatureDoesNotMatchPrescription.xml", []Reason{SignatureInvalid, DigestMismatch, NotTrusted},
			"the EPS spec expects both 'Signature is invalid' and 'doesn't match'; Level 2D is not trusted"},
		{"SignatureAlgorithmSha256.xml", []Reason{DigestMismatch, NotTrusted},
			"SignatureValue verifies with RSA-SHA256 (hash.spec.ts); the file was re-wrapped after signing, which changed the text of an instruction (see TestSHA256VectorUnwrapped); NHS INT Signing G2 is not in the trust material"},
		{"SignatureCertCaNotOnArl.xml", []Reason{SignatureInvalid, ExpiredWhenSigned, NotTrusted},
			"its CA is not on the ARL (no ca-revoked); the vector is ValidSignature with the certificate swapped, so the signature is not the new key's, and the 2021 signing time predates the 2023 mock certificates"},
		{"SignatureCertCaOnArl.xml", []Reason{SignatureInvalid, DigestMismatch, CARevoked},
			"its CA (revokedCa.pem) is on the ARL, revoked (superseded) before the 2023-09-11 signing time; the certificate and author/time were swapped into another vector"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			r := Verify(vector(t, c.file), ts, opts)
			wantReasons(t, r, c.want...)
			if !r.TrustChecked {
				t.Error("TrustChecked = false with a trust store")
			}
			if r.Certificate == nil {
				t.Error("no certificate in the result")
			}
			if t.Failed() {
				t.Logf("expected because: %s", c.why)
			}
		})
	}
}

// The flat copies of the vectors give the same verdicts.
func TestFlatVectorCopies(t *testing.T) {
	ts := fixtureTrustStore(t)
	pairs := map[string]string{
		"PORX_IN020101UK31-signed-valid-rsa-sha1.xml":          "ValidSignature.xml",
		"PORX_IN020101UK31-signed-rsa-sha256.xml":              "SignatureAlgorithmSha256.xml",
		"PORX_IN020101UK31-signed-invalid-signature-value.xml": "SignatureIsInvalid.xml",
		"PORX_IN020101UK31-signed-digest-mismatch.xml":         "SignatureDoesNotMatchPrescription.xml",
	}
	for flat, orig := range pairs {
		a := Verify(testutil.ReadFixture(t, "hl7v3", flat), ts, VerifyOptions{})
		b := Verify(vector(t, orig), ts, VerifyOptions{})
		if a.String() != b.String() {
			t.Errorf("%s: %s\n%s: %s", flat, a.String(), orig, b.String())
		}
	}
}

// The SHA-256 vector was re-indented with its long text wrapped after it was
// signed. Joining the wrapped lines back gives the signed prescription, and
// then the digest matches too: a check of the SHA-256 digest path and of the
// canonicalisation against a document laid out differently (three-space
// indent, attributes on several lines).
func TestSHA256VectorUnwrapped(t *testing.T) {
	b := vector(t, "SignatureAlgorithmSha256.xml")
	b = replaceOnce(t, b, "sugar\n                        free", "sugar free")
	b = replaceOnce(t, b, "the\n                        practice.", "the practice.")
	r := Verify(b, nil, VerifyOptions{})
	wantReasons(t, r)
	if r.Algorithm != SHA256 {
		t.Errorf("algorithm = %v, want RSA-SHA256", r.Algorithm)
	}
	if r.TrustChecked {
		t.Error("TrustChecked with no trust store")
	}
}

func TestVectorsWithoutTrustStore(t *testing.T) {
	cases := map[string][]Reason{
		"ValidSignature.xml":                    nil,
		"SignatureIsInvalid.xml":                {SignatureInvalid},
		"SignatureDoesNotMatchPrescription.xml": {SignatureInvalid, DigestMismatch},
		"SignatureCertCaNotOnArl.xml":           {SignatureInvalid, ExpiredWhenSigned},
	}
	for file, want := range cases {
		r := Verify(vector(t, file), nil, VerifyOptions{})
		wantReasons(t, r, want...)
		if !strings.Contains(strings.Join(r.Notes, " "), "not checked") {
			t.Errorf("%s: notes %q do not say the chain was not checked", file, r.Notes)
		}
	}
}

// The EPS checks validity at the signing time (signature-verification.spec.ts
// verifyCertificateValidWhenSigned): moving author/time out of the
// certificate's validity fails it, and also breaks the digest, since the
// time is signed.
func TestValiditySignedTime(t *testing.T) {
	b := vector(t, "ValidSignature.xml")
	for _, c := range []struct {
		time    string
		expired bool
	}{
		{"20210707120522", true},  // before notBefore 2021-07-08
		{"20210824120522", false}, // inside
		{"20230712052200", true},  // after notAfter 2022-07-08
	} {
		r := Verify(replaceOnce(t, b, `<time value="20210726120522"/>`, `<time value="`+c.time+`"/>`), nil, VerifyOptions{})
		if r.Has(ExpiredWhenSigned) != c.expired {
			t.Errorf("signed %s: expired = %v, want %v (%s)", c.time, r.Has(ExpiredWhenSigned), c.expired, r.String())
		}
		if !r.Has(DigestMismatch) {
			t.Errorf("signed %s: changing the signed time must break the digest", c.time)
		}
	}
}

// A release response whose prescription carries SignatureValue "invalid":
// the dispenser must find it (release-response.spec.ts: logged "Signature is
// invalid", listed as failed).
func TestReleaseResponseInvalid(t *testing.T) {
	rs, err := VerifyAll(testutil.ReadFixture(t, "hl7v3", "PORX_IN070101UK31-nominated-release-response-invalid.xml"), nil, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d results, want 1", len(rs))
	}
	if !rs[0].Has(SignatureInvalid) {
		t.Errorf("got %s, want Signature is invalid", rs[0].String())
	}
	if rs[0].PrescriptionID == "" {
		t.Error("no prescription ID in the result")
	}
}

// Every prescription in the full release response (20 of them) is checked.
func TestReleaseResponseMany(t *testing.T) {
	b := testutil.ReadFixture(t, "hl7v3", "eps-api", "packages", "coordinator", "tests", "services", "translation", "response", "release", "full_successful_release.xml")
	rs, err := VerifyAll(b, nil, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 20 {
		t.Fatalf("%d results, want 20", len(rs))
	}
	ids := map[string]bool{}
	for _, r := range rs {
		if r.Has(InvalidFormat) {
			t.Errorf("%s: %s", r.PrescriptionID, r.String())
		}
		ids[r.PrescriptionID] = true
	}
	if len(ids) != 20 {
		t.Errorf("%d distinct prescription IDs, want 20", len(ids))
	}
	if r := Verify(b, nil, VerifyOptions{}); !r.Has(InvalidFormat) || !strings.Contains(r.String(), "VerifyAll") {
		t.Errorf("Verify on 20 prescriptions: %s, want a pointer to VerifyAll", r.String())
	}
}

// The fixture trust material loads, and the chain of the RANDOM_USERQ
// smartcard reaches NHS INT Level 1D.
func TestFixtureChain(t *testing.T) {
	ts := fixtureTrustStore(t)
	if got := len(ts.Anchors()); got != 3 {
		t.Errorf("%d anchors, want 3", got)
	}
	if got := len(ts.CRLs()); got != 1 {
		t.Errorf("%d CRLs, want 1", got)
	}
	r := Verify(vector(t, "SignatureIsInvalid.xml"), ts, VerifyOptions{})
	if len(r.Chain) != 2 || r.Chain[1].Subject.CommonName != "NHS INT Level 1D" {
		t.Errorf("chain %v, want the smartcard then NHS INT Level 1D", subjects(r.Chain))
	}
}

func subjects(cs []*x509.Certificate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Subject.String())
	}
	return out
}

func TestVerifyAllBounds(t *testing.T) {
	pp := `<ParentPrescription xmlns="urn:hl7-org:v3"/>`
	if _, err := VerifyAll([]byte("<x>"+strings.Repeat(pp, 101)+"</x>"), nil, VerifyOptions{}); err == nil {
		t.Error("101 prescriptions accepted")
	}
	rs, err := VerifyAll([]byte("<x>"+strings.Repeat(pp, 3)+"</x>"), nil, VerifyOptions{})
	if err != nil || len(rs) != 3 || !rs[0].Has(InvalidFormat) {
		t.Errorf("3 empty prescriptions: %v %v", err, rs)
	}
	if _, err := VerifyAll([]byte("not xml"), nil, VerifyOptions{}); err == nil {
		t.Error("not XML accepted")
	}
	if r := Verify([]byte(`<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>`), nil, VerifyOptions{}); !r.Has(InvalidFormat) {
		t.Errorf("a DTD: %s", r.String())
	}
}
