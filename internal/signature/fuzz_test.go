package signature

import (
	"bytes"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/testutil"
)

func seedFixtures(f *testing.F) {
	for _, name := range []string{
		"PORX_IN020101UK31-signed-valid-rsa-sha1.xml",
		"PORX_IN020101UK31-signed-rsa-sha256.xml",
		"PORX_IN020101UK31-parent-prescription-acute-nominated.xml",
		"PORX_IN020101UK31-parent-prescription-repeat-dispensing.xml",
		"PORX_IN070101UK31-nominated-release-response-invalid.xml",
		"FragmentsToBeHashed-sample.xml",
	} {
		f.Add(testutil.ReadFixture(f, "hl7v3", name))
	}
	f.Add([]byte(`<ParentPrescription><recordTarget/><pertinentInformation1><pertinentPrescription><id root="x"/><author><time value="20230101"/><signatureText/><AgentPerson/></author></pertinentPrescription></pertinentInformation1></ParentPrescription>`))
	f.Add([]byte(`<a xmlns:x="urn:x"><x:b x:c="1" d="&#9;"/>t<b/></a>`))
}

// Verify never panics, and gives the same verdict twice (trees are pooled:
// a second run must not see the first's state).
func FuzzVerify(f *testing.F) {
	seedFixtures(f)
	ts := fixtureTrustStore(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		a := Verify(msg, ts, VerifyOptions{Now: time.Unix(1700000000, 0)})
		b := Verify(msg, ts, VerifyOptions{Now: time.Unix(1700000000, 0)})
		if a.String() != b.String() {
			t.Fatalf("two verdicts:\n%s\n%s", a.String(), b.String())
		}
		if a.Valid() != (len(a.Failures) == 0) || (!a.Valid() && a.Err() == nil) {
			t.Fatal("Valid and Err disagree")
		}
		rs, err := VerifyAll(msg, nil, VerifyOptions{})
		if err == nil && len(rs) == 0 {
			t.Fatal("VerifyAll: no error and no results")
		}
	})
}

// Canonical output is well-formed XML, and canonicalising it again changes
// nothing, in both readings.
func FuzzCanonical(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, doc []byte) {
		tr, err := parse(doc)
		if err != nil {
			return
		}
		for _, eps := range []bool{false, true} {
			c := canonicaliser{t: tr, epsMode: eps}
			c.writeElement(0, 0)
			tr2, err := parse(c.buf)
			if err != nil {
				t.Fatalf("eps=%v: canonical output does not parse: %v\n%s", eps, err, c.buf)
			}
			c2 := canonicaliser{t: tr2, epsMode: eps}
			c2.writeElement(0, 0)
			if !bytes.Equal(c.buf, c2.buf) {
				t.Fatalf("eps=%v: not idempotent\n%s\n%s", eps, c.buf, c2.buf)
			}
		}
	})
}

// Whatever prescription Sign accepts, Verify accepts what it makes (at most
// the signing time may fall outside the certificate, as the input says).
func FuzzSignVerify(f *testing.F) {
	seedFixtures(f)
	ca := newTestCA(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		signed, err := Sign(msg, ca.signer.Key, ca.signer.Cert, SHA1)
		if err != nil {
			return
		}
		r := Verify(signed, nil, VerifyOptions{})
		for _, fl := range r.Failures {
			if fl.Reason != ExpiredWhenSigned {
				t.Fatalf("signed message fails: %s\n%s", r.String(), signed)
			}
		}
	})
}

func FuzzParseHL7Time(f *testing.F) {
	for _, s := range []string{"20210726120522", "20230421", "20230421120400.123+0100", "2023", "20231301", "20230229"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseHL7Time(s)
		if err == nil && (tm.Year() < 0 || tm.Year() > 10000) {
			t.Fatalf("%q gave %v", s, tm)
		}
	})
}
