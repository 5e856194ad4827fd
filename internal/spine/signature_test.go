package spine_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/pki"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/signature"
	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store/sqlite"
)

// signedEnv is a service that verifies signatures on receipt against a test
// CA made with internal/pki, and a prescriber's smartcard-style key.
func signedEnv(t *testing.T, refuse bool) (*env, *pki.Issued) {
	t.Helper()
	at := time.Date(2022, 2, 1, 9, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "ca")
	if _, err := pki.Init(dir, pki.InitOptions{Now: at.AddDate(0, -1, 0), CRLDays: 90}); err != nil {
		t.Fatal(err)
	}
	card, err := pki.Issue(dir, "Dr Anna Smith", pki.RolePrescriber, pki.IssueOptions{Now: at.AddDate(0, -1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := signature.LoadTrustDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "eps.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, store: st, now: at.Add(time.Minute)}
	svc, err := spine.New(spine.Config{Store: st, Now: e.clock, VerifySignatures: true,
		Trust: func() *signature.TrustStore { return ts }, RefuseBadSignatures: refuse})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.srv = httptest.NewServer(svc.Handler())
	t.Cleanup(e.srv.Close)
	return e, card
}

func signedPrescription(t *testing.T, card *pki.Issued) ([]byte, prescribe.Prescription) {
	t.Helper()
	p := prescribe.Example(time.Date(2022, 2, 1, 9, 0, 0, 0, time.UTC), "FA565")
	raw, err := prescribe.Build(&p)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signature.Sign(raw, card.Key, card.Cert, signature.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return signed, p
}

func signatureNote(v spine.PrescriptionView) *rx.HistoryEntry {
	for i := range v.Dispensing {
		if v.Dispensing[i].Kind == rx.HistSignature {
			return &v.Dispensing[i]
		}
	}
	return nil
}

// TestSignatureCheckedOnReceipt: a prescription signed with the test CA's
// smartcard key is accepted and its history says the signature is valid; the
// same prescription with a quantity changed after signing is accepted too
// (the Spine stores it; the dispenser will return it) but its history names
// the failure.
func TestSignatureCheckedOnReceipt(t *testing.T) {
	e, card := signedEnv(t, false)
	signed, p := signedPrescription(t, card)
	if a := e.send(signed); a.ack.Type != "AA" {
		t.Fatalf("signed: %s %v", a.ack.Type, a.ack.Errors)
	}
	v, _ := e.view(p.ShortID)
	n := signatureNote(v)
	if n == nil || n.Code != nil || n.Detail != "valid" {
		t.Fatalf("history of a validly signed prescription: %+v", n)
	}

	tampered, q := signedPrescription(t, card)
	tampered = bytes.Replace(tampered, []byte(`value="21"`), []byte(`value="210"`), 2)
	if a := e.send(tampered); a.ack.Type != "AA" {
		t.Fatalf("tampered, policy off: %s %v", a.ack.Type, a.ack.Errors)
	}
	v, _ = e.view(q.ShortID)
	n = signatureNote(v)
	if n == nil || n.Code == nil || n.Code.Value != "0106" {
		t.Fatalf("history of a tampered prescription: %+v", n)
	}
}

// TestRefuseBadSignatures: with the policy on, the tampered prescription is
// refused with the failure's code and no record is made.
func TestRefuseBadSignatures(t *testing.T) {
	e, card := signedEnv(t, true)
	signed, p := signedPrescription(t, card)
	if a := e.send(signed); a.ack.Type != "AA" {
		t.Fatalf("signed: %s %v", a.ack.Type, a.ack.Errors)
	}
	tampered, q := signedPrescription(t, card)
	tampered = bytes.Replace(tampered, []byte(`value="21"`), []byte(`value="210"`), 2)
	a := e.send(tampered)
	if a.ack.Type != "AE" || len(a.ack.Errors) == 0 || a.ack.Errors[0].Value != "5000" {
		t.Fatalf("tampered, policy on: %s %v", a.ack.Type, a.ack.Errors)
	}
	if _, code := e.view(q.ShortID); code != 404 {
		t.Errorf("a refused prescription has a record (HTTP %d)", code)
	}
	if _, code := e.view(p.ShortID); code != 200 {
		t.Errorf("the good one is gone")
	}
}
