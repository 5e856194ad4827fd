package signature

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/pki"
	"github.com/openeps/openeps/internal/testutil"
)

// certsDir is the EPS-API test trust material (see its static/README.md).
func certsDir(t testing.TB) string {
	return testutil.Fixtures(t, "hl7v3", "eps-api", "packages", "coordinator", "tests", "resources", "certificates")
}

func vector(t testing.TB, name string) []byte {
	t.Helper()
	return testutil.ReadFixture(t, "hl7v3", "eps-api", "packages", "coordinator", "tests", "resources", "signed-prescriptions", name)
}

// fixtureTrustDir builds a trust directory from the EPS-API test material,
// configured as its tests configure SUBCACC_CERT: the INT Level 1D sub-CA
// (issuer of the RANDOM_USERQ smartcard), the mock CA and the mock revoked
// CA as anchors, and the mock ARL that lists the revoked CA.
func fixtureTrustDir(t testing.TB) string {
	t.Helper()
	src := certsDir(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(src, "NHS_INT_Level1D_Base64_pem.cer"), filepath.Join(dir, "roots", "nhs-int-level-1d.pem"))
	copyFile(t, filepath.Join(src, "static", "ca.pem"), filepath.Join(dir, "roots", "eps-mock-ca.pem"))
	copyFile(t, filepath.Join(src, "static", "revokedCa.pem"), filepath.Join(dir, "roots", "eps-mock-revoked-ca.pem"))
	copyFile(t, filepath.Join(src, "static", "ca.crl"), filepath.Join(dir, "crls", "eps-mock-arl.crl"))
	return dir
}

func fixtureTrustStore(t testing.TB) *TrustStore {
	t.Helper()
	ts, err := LoadTrustDir(fixtureTrustDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// caEpoch is when the test CAs start: before every signing time in the
// fixtures (the earliest is 2020), so that re-signed fixtures are in date.
var caEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// testCA is a CA directory from pki with one prescriber.
type testCA struct {
	dir    string
	ca     *pki.CA
	signer *pki.Issued
}

// newTestCA returns a fresh copy of a CA made once per test run (RSA key
// generation is slow; every test gets its own directory to revoke in).
func newTestCA(t testing.TB) *testCA { return copyTemplateCA(t, 0) }

// newOtherTestCA is a second, unrelated CA.
func newOtherTestCA(t testing.TB) *testCA { return copyTemplateCA(t, 1) }

var (
	templateOnce [2]sync.Once
	templateDir  [2]string
	templateErr  [2]error
)

func copyTemplateCA(t testing.TB, k int) *testCA {
	t.Helper()
	templateOnce[k].Do(func() {
		dir, err := os.MkdirTemp("", "openeps-test-ca-")
		if err != nil {
			templateErr[k] = err
			return
		}
		templateDir[k] = dir
		ca, err := pki.Init(dir, pki.InitOptions{Now: caEpoch, Years: 20, CRLDays: 3650})
		if err != nil {
			templateErr[k] = err
			return
		}
		_, templateErr[k] = ca.Issue("Dr A Smith", pki.RolePrescriber, pki.IssueOptions{Now: caEpoch, Days: 3650})
	})
	if templateErr[k] != nil {
		t.Fatal(templateErr[k])
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(templateDir[k])); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rec pki.Record
	for _, r := range ca.State.Issued {
		if r.Role == pki.RolePrescriber {
			rec = r
		}
	}
	cert, err := pki.ReadCert(filepath.Join(dir, pki.IssuedDir, rec.Serial+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.ReadKey(filepath.Join(dir, pki.IssuedDir, rec.Serial+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{dir: dir, ca: ca, signer: &pki.Issued{Cert: cert, Key: key}}
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range templateDir {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}

func (c *testCA) store(t testing.TB) *TrustStore {
	t.Helper()
	ts, err := LoadTrustDir(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// sign signs fixture bytes with the CA's prescriber.
func (c *testCA) sign(t testing.TB, msg []byte, alg Algorithm) []byte {
	t.Helper()
	out, err := Sign(msg, c.signer.Key, c.signer.Cert, alg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unsignedPrescription is a real EPS prescription (signing time 2022-10-21).
func unsignedPrescription(t testing.TB) []byte {
	return testutil.ReadFixture(t, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml")
}

// wantReasons fails unless r's failures are exactly want, in order.
func wantReasons(t *testing.T, r Result, want ...Reason) {
	t.Helper()
	if got := r.Reasons(); !slices.Equal(got, want) {
		t.Errorf("failures = %v, want %v\n%s\nnotes: %s", got, want, r.String(), strings.Join(r.Notes, "; "))
	}
}

// replaceOnce replaces old by new in b, failing unless old occurs exactly once.
func replaceOnce(t testing.TB, b []byte, old, new string) []byte {
	t.Helper()
	if n := strings.Count(string(b), old); n != 1 {
		t.Fatalf("%q occurs %d times, want once", old, n)
	}
	return []byte(strings.Replace(string(b), old, new, 1))
}
