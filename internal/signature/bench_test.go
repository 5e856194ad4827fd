package signature

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"github.com/openeps/openeps/internal/testutil"
	"github.com/openeps/openeps/internal/xmlt"
	"testing"
	"time"
)

// The cost of verifying one prescription, against the one operation it
// cannot avoid: an RSA-2048 PKCS#1 v1.5 verification. Target ≤ 3×: parsing
// and canonicalisation must not dominate.
//
//	go test -run '^$' -bench . -benchmem ./internal/signature/

type benchSetup struct {
	msg []byte
	ts  *TrustStore
	key *rsa.PrivateKey
	pub *rsa.PublicKey
}

func setupBench(b *testing.B, alg Algorithm) benchSetup {
	return setupBenchWith(b, alg, unsignedPrescription(b))
}

func setupBenchWith(b *testing.B, alg Algorithm, unsigned []byte) benchSetup {
	b.Helper()
	ca := newTestCA(b)
	msg := ca.sign(b, unsigned, alg)
	ts := ca.store(b)
	if r := Verify(msg, ts, VerifyOptions{Now: caEpoch}); !r.Valid() {
		b.Fatal(r.String())
	}
	return benchSetup{msg: msg, ts: ts, key: ca.signer.Key, pub: &ca.signer.Key.PublicKey}
}

// BenchmarkVerify: a signed 4-item prescription (23 KB), trust store with
// CRLs, the signer's certificate already seen (the service's steady state).
func BenchmarkVerify(b *testing.B) {
	s := setupBench(b, SHA1)
	now := caEpoch.Add(time.Hour)
	b.SetBytes(int64(len(s.msg)))
	b.ReportAllocs()
	for b.Loop() {
		if r := Verify(s.msg, s.ts, VerifyOptions{Now: now}); !r.Valid() {
			b.Fatal(r.String())
		}
	}
}

func BenchmarkVerifySHA256(b *testing.B) {
	s := setupBench(b, SHA256)
	b.SetBytes(int64(len(s.msg)))
	b.ReportAllocs()
	for b.Loop() {
		if r := Verify(s.msg, s.ts, VerifyOptions{}); !r.Valid() {
			b.Fatal(r.String())
		}
	}
}

// BenchmarkVerifyNewSigner: every prescription from a signer not seen
// before (the certificate parsed and its chain checked each time).
func BenchmarkVerifyNewSigner(b *testing.B) {
	s := setupBench(b, SHA1)
	b.ReportAllocs()
	for b.Loop() {
		s.ts.cache.mu.Lock()
		s.ts.cache.m = nil
		s.ts.cache.mu.Unlock()
		if r := Verify(s.msg, s.ts, VerifyOptions{}); !r.Valid() {
			b.Fatal(r.String())
		}
	}
}

func BenchmarkRSA2048Verify(b *testing.B) {
	s := setupBench(b, SHA1)
	h, sig := rsaSample(b, s)
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(s.pub, crypto.SHA1, h, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// rsaSample is a digest and a valid signature by the benchmark's signer.
func rsaSample(b *testing.B, s benchSetup) (digest, sig []byte) {
	h := sha1.Sum([]byte("x"))
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA1, h[:])
	if err != nil {
		b.Fatal(err)
	}
	return h[:], sig
}

// BenchmarkVerifyVsRSA reports Verify's cost as a multiple of one bare
// RSA-2048 verification with the same key, measured in the same run: each
// iteration times one of each, so machine load weighs on both alike (metric
// "x-rsa"; "verify-ns" and "rsa-ns" are the two means). "tokenize-ns" is
// the xmlt tokenizer alone over the same message, timed the same way, to
// show its share.
func BenchmarkVerifyVsRSA(b *testing.B) {
	b.Run("4-items-23KB", func(b *testing.B) { verifyVsRSA(b, setupBench(b, SHA1)) })
	b.Run("2-items-14KB", func(b *testing.B) {
		verifyVsRSA(b, setupBenchWith(b, SHA1, testutil.ReadFixture(b, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-no-nomination.xml")))
	})
}

func verifyVsRSA(b *testing.B, s benchSetup) {
	h, sig := rsaSample(b, s)
	var tv, tr, tt time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if r := Verify(s.msg, s.ts, VerifyOptions{}); !r.Valid() {
			b.Fatal(r.String())
		}
		t1 := time.Now()
		if err := rsa.VerifyPKCS1v15(s.pub, crypto.SHA1, h, sig); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		tokenize(b, s.msg)
		t3 := time.Now()
		tv += t1.Sub(t0)
		tr += t2.Sub(t1)
		tt += t3.Sub(t2)
		n++
	}
	b.ReportMetric(float64(tv.Nanoseconds())/float64(n), "verify-ns")
	b.ReportMetric(float64(tr.Nanoseconds())/float64(n), "rsa-ns")
	b.ReportMetric(float64(tt.Nanoseconds())/float64(n), "tokenize-ns")
	b.ReportMetric(float64(tv)/float64(tr), "x-rsa")
}

func tokenize(b *testing.B, msg []byte) {
	d := xmlt.NewDecoder(msg, parseLimits)
	for {
		k, err := d.Next()
		if err != nil {
			b.Fatal(err)
		}
		if k == xmlt.EOF {
			return
		}
	}
}

// BenchmarkFragments: parsing and canonicalising alone.
func BenchmarkFragments(b *testing.B) {
	msg := unsignedPrescription(b)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		t, err := parse(msg)
		if err != nil {
			b.Fatal(err)
		}
		p, err := locate(t, t.findAll("ParentPrescription")[0])
		if err != nil {
			b.Fatal(err)
		}
		_ = p.fragments(t, nil)
	}
}
