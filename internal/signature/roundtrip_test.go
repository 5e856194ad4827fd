package signature

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/testutil"
)

// Sign with `eps ca` credentials, then verify: every prescription in the
// fixtures, both algorithms.
func TestSignVerifyRoundTrip(t *testing.T) {
	ca := newTestCA(t)
	ts := ca.store(t)
	files := signedPrescriptionFiles(t)
	n := 0
	for _, f := range files {
		raw := testutil.ReadFixture(t, strings.TrimPrefix(f, testutil.Fixtures(t)+"/"))
		if pps := mustParse(t, raw).findAll("ParentPrescription"); len(pps) != 1 {
			continue // release responses with several: Sign wants one
		}
		for _, alg := range []Algorithm{SHA1, SHA256} {
			signed, err := Sign(raw, ca.signer.Key, ca.signer.Cert, alg)
			if err != nil {
				t.Fatalf("%s %v: %v", f, alg, err)
			}
			r := Verify(signed, ts, VerifyOptions{Now: caEpoch})
			if !r.Valid() {
				t.Errorf("%s %v: %s", f, alg, r.String())
			}
			if r.Algorithm != alg {
				t.Errorf("%s: algorithm %v, want %v", f, r.Algorithm, alg)
			}
			if len(r.Chain) != 3 {
				t.Errorf("%s: chain of %d, want smartcard, issuing CA, root", f, len(r.Chain))
			}
			n++
		}
	}
	if n < 100 {
		t.Errorf("only %d signings", n)
	}
}

// Signing changes only the signatureText element; the message still decodes
// with the HL7 codec, which sees the signature.
func TestSignKeepsTheRestOfTheMessage(t *testing.T) {
	ca := newTestCA(t)
	raw := unsignedPrescription(t)
	signed := ca.sign(t, raw, SHA1)
	start := bytes.Index(raw, []byte("<signatureText>"))
	end := bytes.Index(raw, []byte("</signatureText>")) + len("</signatureText>")
	sEnd := bytes.Index(signed, []byte("</signatureText>")) + len("</signatureText>")
	if !bytes.Equal(raw[:start], signed[:start]) || !bytes.Equal(raw[end:], signed[sEnd:]) {
		t.Error("Sign changed the message outside signatureText")
	}
	m, err := hl7v3.Decode(signed)
	if err != nil {
		t.Fatal(err)
	}
	pp, ok := m.Payload().(*hl7v3.PORX_MT132004UK31_ParentPrescription)
	if !ok {
		t.Fatalf("payload is %T", m.Payload())
	}
	if !pp.View().Signed {
		t.Error("the codec does not see the signature")
	}
	// Signing again replaces the signature rather than adding one.
	again := ca.sign(t, signed, SHA256)
	if n := bytes.Count(again, []byte("<Signature ")); n != 1 {
		t.Errorf("%d Signature elements after re-signing", n)
	}
	wantReasons(t, Verify(again, ca.store(t), VerifyOptions{}))
}

// The shape matches the real signed prescriptions: the same elements, in the
// same order, the same namespace, base64 on one line.
func TestSignShapeMatchesRealSamples(t *testing.T) {
	ca := newTestCA(t)
	signed := ca.sign(t, unsignedPrescription(t), SHA1)
	real := testutil.ReadFixture(t, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-no-nomination.xml")
	if got, want := skeleton(t, signed), skeleton(t, real); got != want {
		t.Errorf("signature skeleton\n got %s\nwant %s", got, want)
	}
	if !bytes.Contains(signed, []byte("\n              <signatureText>\n                <Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\n                  <SignedInfo>")) {
		t.Error("the new signature is not indented like the document")
	}
}

// skeleton lists the element names and Algorithm attributes inside the signature.
func skeleton(t *testing.T, b []byte) string {
	tr := mustParse(t, b)
	p, err := locate(tr, tr.findAll("ParentPrescription")[0])
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(i int32)
	walk = func(i int32) {
		n := &tr.nodes[i]
		if n.kind != elemNode {
			return
		}
		s := n.name.Space + " " + n.name.Local
		if a, ok := tr.attr(i, "Algorithm"); ok {
			s += "=" + a
		}
		out = append(out, s)
		for c := n.first; c != none; c = tr.nodes[c].next {
			walk(c)
		}
	}
	walk(p.signatureText)
	return strings.Join(out, " | ")
}

// A compact document (no indentation) gets a compact signature, and a
// prescription without signatureText gets one after author/time.
func TestSignCompactAndMissingSignatureText(t *testing.T) {
	ca := newTestCA(t)
	raw := testutil.ReadFixture(t, "hl7v3", "PORX_IN070101UK31-nominated-release-response.xml")
	tr := mustParse(t, raw)
	p, err := locate(tr, tr.findAll("ParentPrescription")[0])
	if err != nil {
		t.Fatal(err)
	}
	st := &tr.nodes[p.signatureText]
	without := string(raw[:st.startTag]) + string(raw[st.endTagEnd:])
	signed := ca.sign(t, []byte(without), SHA256)
	wantReasons(t, Verify(signed, ca.store(t), VerifyOptions{}))
	if !strings.Contains(string(signed), `<time value="20221212101055"/>`) {
		t.Fatal("author/time lost")
	}

	compact := []byte(`<ParentPrescription xmlns="urn:hl7-org:v3"><recordTarget><Patient><id root="2.16.840.1.113883.2.1.4.1" extension="9449304106"/></Patient></recordTarget><pertinentInformation1><pertinentPrescription><id root="E3E6D9F2-2F9B-4C1B-9A2C-5D1F6A0B7C11"/><author><time value="20230101120000"/><signatureText nullFlavor="NA"/><AgentPerson><id root="1.2.826.0.1285.0.2.0.67" extension="100102238986"/></AgentPerson></author><pertinentInformation2><pertinentLineItem><id root="A54219B8-F741-4C47-B662-E4F8DFA49AB5"/></pertinentLineItem></pertinentInformation2></pertinentPrescription></pertinentInformation1></ParentPrescription>`)
	signed = ca.sign(t, compact, SHA1)
	if bytes.Contains(signed, []byte("\n")) {
		t.Error("a compact document got an indented signature")
	}
	if bytes.Contains(signed, []byte("nullFlavor")) {
		t.Error("the nullFlavor signatureText was kept")
	}
	wantReasons(t, Verify(signed, ca.store(t), VerifyOptions{}))
}

func TestSignRefuses(t *testing.T) {
	ca := newTestCA(t)
	other := newOtherTestCA(t)
	raw := unsignedPrescription(t)
	if _, err := Sign(raw, other.signer.Key, ca.signer.Cert, SHA1); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("mismatched key: %v", err)
	}
	if _, err := Sign(raw, ca.signer.Key, ca.signer.Cert, Algorithm(9)); err == nil {
		t.Error("unknown algorithm accepted")
	}
	noTime := replaceFirst(t, raw, `<time value="20221021134700"/>`, `<time/>`)
	if _, err := Sign(noTime, ca.signer.Key, ca.signer.Cert, SHA1); err == nil || !strings.Contains(err.Error(), "signing time") {
		t.Errorf("no signing time: %v", err)
	}
	release := testutil.ReadFixture(t, "hl7v3", "eps-api", "packages", "coordinator", "tests", "services", "translation", "response", "release", "full_successful_release.xml")
	if _, err := Sign(release, ca.signer.Key, ca.signer.Cert, SHA1); err == nil {
		t.Error("signed a document with 20 prescriptions")
	}
	if _, err := Sign([]byte("<!DOCTYPE x [<!ENTITY a 'b'>]><x/>"), ca.signer.Key, ca.signer.Cert, SHA1); err == nil {
		t.Error("signed a document with a DTD")
	}
}

func mustParse(t testing.TB, b []byte) *tree {
	t.Helper()
	tr, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestSetSigningTime(t *testing.T) {
	ca := newTestCA(t)
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("BST", 3600))
	b, err := SetSigningTime(unsignedPrescription(t), at)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`<time value="20240506060809"/>`)) {
		t.Fatal("author/time not set in UTC")
	}
	r := Verify(ca.sign(t, b, SHA256), ca.store(t), VerifyOptions{})
	wantReasons(t, r)
	if !r.SignedAt.Equal(at) {
		t.Errorf("signed at %v, want %v", r.SignedAt, at)
	}
}
