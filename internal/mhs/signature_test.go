package mhs_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/dispense"
	"github.com/openeps/openeps/internal/mhs"
	capki "github.com/openeps/openeps/internal/pki"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/signature"
)

// TestReleasedSignaturesChecked: a pharmacy's adaptor with trust material
// verifies each prescription a nominated release hands it. Of two signed
// with a prescriber's smartcard, the one changed after signing is marked
// invalid, with the reason to return it (0005); the other is valid.
func TestReleasedSignaturesChecked(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca")
	start := time.Now().UTC().Add(-time.Hour)
	if _, err := capki.Init(ca, capki.InitOptions{Now: start}); err != nil {
		t.Fatal(err)
	}
	card, err := capki.Issue(ca, "Dr Anna Smith", capki.RolePrescriber, capki.IssueOptions{Now: start})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := signature.LoadTrustDir(ca)
	if err != nil {
		t.Fatal(err)
	}
	p := newPKI(t)
	sp := newSpine(t, p, spineOptions{})
	gp := newMHS(t, p, sp, "A83008-0000001", nil)
	pharmacy := newMHS(t, p, sp, "FA565-0000001", func(c *mhs.Config) {
		c.Trust = func() *signature.TrustStore { return ts }
	})
	d := dispense.Example()
	sign := func(alter bool) prescribe.Prescription {
		rxp, raw := prescription(t, d.ODS)
		signed, err := signature.Sign(raw, card.Key, card.Cert, signature.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if alter {
			signed = bytes.Replace(signed, []byte(`value="21"`), []byte(`value="210"`), 2)
		}
		if resp, out := gp.post(t, "PORX_IN020101SM31", true, nil, body(signed)); resp.StatusCode != 200 || ackOf(t, out).Type != "AA" {
			t.Fatalf("prescription: HTTP %d %s", resp.StatusCode, out)
		}
		return rxp
	}
	good, bad := sign(false), sign(true)

	req, err := dispense.NominatedRelease(d, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	if resp, out := pharmacy.post(t, "PORX_IN060102SM30", false, nil, body(req)); resp.StatusCode != 202 {
		t.Fatalf("release request: HTTP %d %s", resp.StatusCode, out)
	}
	msgs := pharmacy.inbox(t, 10*time.Second)
	if len(msgs) != 1 || len(msgs[0].Signatures) != 2 {
		t.Fatalf("inbox: %+v", msgs)
	}
	verdicts := map[string]mhs.SignatureCheck{}
	for _, s := range msgs[0].Signatures {
		verdicts[s.PrescriptionID] = s
	}
	if v := verdicts[good.ShortID]; !v.Valid || v.Result != "valid" || v.ReturnReason != "" {
		t.Errorf("the signed prescription: %+v", v)
	}
	if v := verdicts[bad.ShortID]; v.Valid || !strings.Contains(v.Result, "digest-mismatch") ||
		!strings.HasPrefix(v.ReturnReason, "0005") {
		t.Errorf("the altered prescription: %+v", v)
	}
}
