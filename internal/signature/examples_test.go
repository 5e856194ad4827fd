package signature

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/openeps/openeps/internal/testutil"
)

// The EPS-API example prescriptions (examples/**/N-Convert-Response-Send-200_OK.xml)
// were signed once and later regenerated with new IDs, so their signatures
// still verify over SignedInfo but the digest no longer matches what they
// say: exactly the tampering the verifier is for. This test tabulates them
// (go test -v -run TestExamplePrescriptions) and checks each digest verdict
// against the reference canonicaliser.
func TestExamplePrescriptions(t *testing.T) {
	ts := fixtureTrustStore(t)
	root := testutil.Fixtures(t, "hl7v3", "eps-api", "examples")
	var files []string
	if err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, "-Send-200_OK.xml") {
			files = append(files, p)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("only %d example prescriptions", len(files))
	}
	tally := map[string]int{}
	var table []string
	for _, f := range files {
		rel := strings.TrimPrefix(f, root+"/")
		raw := testutil.ReadFixture(t, "hl7v3", "eps-api", "examples", rel)
		r := Verify(raw, ts, VerifyOptions{})
		kind := classifyResult(r)
		tally[kind]++
		issuer := ""
		if r.Certificate != nil {
			issuer = r.Certificate.Issuer.CommonName
		}
		table = append(table, fmt.Sprintf("%-24s %-40s %-17s %s", kind, strings.Join(names(r.Reasons()), ","), issuer, rel))

		if kind != "signed" {
			continue
		}
		if r.Has(SignatureInvalid) {
			t.Errorf("%s: SignatureValue does not verify: %s", rel, r.String())
		}
		if refMatch := referenceDigestMatches(t, raw); refMatch == r.Has(DigestMismatch) {
			t.Errorf("%s: digest mismatch = %v, the reference canonicaliser says match = %v", rel, r.Has(DigestMismatch), refMatch)
		}
	}
	sort.Strings(table)
	t.Logf("%d example prescriptions: %v\n%s", len(files), tally, strings.Join(table, "\n"))
	if tally["signed"] == 0 {
		t.Error("no signed examples")
	}
}

func classifyResult(r Result) string {
	switch {
	case r.Has(NotFound):
		return "no signature"
	case r.Has(InvalidFormat):
		return "unsigned skeleton"
	default:
		return "signed"
	}
}

func names(rs []Reason) []string {
	out := make([]string, len(rs))
	for k, r := range rs {
		out[k] = r.Name()
	}
	return out
}

// referenceDigestMatches computes the digest with etree and goxmldsig and
// compares it with the DigestValue.
func referenceDigestMatches(t *testing.T, raw []byte) bool {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	pp := doc.FindElement("//ParentPrescription")
	dv := pp.FindElement(".//signatureText/Signature/SignedInfo/Reference/DigestValue")
	dm := pp.FindElement(".//signatureText/Signature/SignedInfo/Reference/DigestMethod")
	frag := referenceFragments(t, pp)
	var sum []byte
	if dm.SelectAttrValue("Algorithm", "") == AlgSHA256 {
		s := sha256.Sum256(frag)
		sum = s[:]
	} else {
		s := sha1.Sum(frag)
		sum = s[:]
	}
	return strings.TrimSpace(dv.Text()) == base64.StdEncoding.EncodeToString(sum)
}
