package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/prescribe"
)

// signedPrescription builds a prescription and signs it with `eps signature sign`.
func signedPrescription(t *testing.T, dir, key, cert string) (id string, path string) {
	t.Helper()
	p := prescribe.Example(time.Now().UTC().Add(-time.Minute), "FA565")
	raw, err := prescribe.Build(&p)
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, p.ShortID+".xml")
	out := filepath.Join(dir, p.ShortID+".signed.xml")
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	mustEPS(t, "signature", "sign", "--key", key, "--cert", cert, "--alg", "sha256", in, out)
	return p.ShortID, out
}

// sendFile posts an HL7 file to a running eps serve as ebXML.
func sendFile(t *testing.T, base, path string) []byte {
	t.Helper()
	payload, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	id := ids.NewUUID()
	ctype, body, err := ebxml.Build(&ebxml.Message{
		Header: ebxml.MessageHeader{From: ebxml.Party{ID: "T141D-822234", Type: ebxml.PartyType},
			To: ebxml.Party{ID: "YES-0000806", Type: ebxml.PartyType}, CPAId: "S1001A1630", ConversationId: id,
			Service: ebxml.ServiceMM, Action: "PORX_IN020101SM31", MessageId: id, SentAt: time.Now().UTC(),
			DuplicateElimination: true, AckRequested: true, AckActor: ebxml.ActorToPartyMSH,
			SyncReply: true, SyncReplyActor: ebxml.ActorNext},
		Payload: payload, PayloadContentType: "text/xml; charset=UTF-8",
	})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/reliablemessaging/reliablerequest", bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("SOAPAction", ebxml.ServiceMM+"/PORX_IN020101SM31")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return buf.Bytes()
}

// signatureVerdict is the signatureChecked entry of a record's history.
func signatureVerdict(t *testing.T, base, id string) string {
	t.Helper()
	var v struct {
		Dispensing []struct {
			Kind   string `json:"kind"`
			Detail string `json:"detail"`
		} `json:"dispensing"`
	}
	if code := getJSON(t, base+"/api/prescriptions/"+id, &v); code != http.StatusOK {
		t.Fatalf("GET %s: %d", id, code)
	}
	for _, h := range v.Dispensing {
		if h.Kind == "signatureChecked" {
			return h.Detail
		}
	}
	t.Fatalf("%s: no signature verdict in the history", id)
	return ""
}

// TestServeChecksSignaturesAndReloadsTrust: eps ca makes a CA and a
// prescriber's smartcard; eps serve --trust-dir verifies a prescription
// signed with it (valid); the certificate is then revoked with eps ca
// revoke, and without a restart the next prescription signed with it is
// recorded as signed by a revoked certificate.
func TestServeChecksSignaturesAndReloadsTrust(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	mustEPS(t, "ca", "init", "--dir", ca, "--now", time.Now().UTC().Add(-time.Hour).Format(time.RFC3339))
	issued := mustEPS(t, "ca", "issue", "--dir", ca, "--name", "Dr Anna Smith", "--role", "prescriber",
		"--now", time.Now().UTC().Add(-time.Hour).Format(time.RFC3339))
	serial := regexp.MustCompile(`(?m)^serial\s+([0-9A-F]+)`).FindStringSubmatch(issued)
	if serial == nil {
		t.Fatalf("no serial in:\n%s", issued)
	}
	key := filepath.Join(ca, "issued", serial[1]+".key")
	cert := filepath.Join(ca, "issued", serial[1]+".pem")

	s := startServe(t, "--db", "sqlite:"+filepath.Join(dir, "eps.db"), "--trust-dir", ca, "--trust-reload", "100ms")
	first, path := signedPrescription(t, dir, key, cert)
	if v := mustEPS(t, "signature", "verify", "--trust-dir", ca, path); !strings.HasPrefix(v, "valid") {
		t.Fatalf("eps signature verify: %s", v)
	}
	if reply := sendFile(t, s.base, path); !bytes.Contains(reply, []byte(`typeCode="AA"`)) {
		t.Fatalf("signed prescription not accepted:\n%s", reply)
	}
	if v := signatureVerdict(t, s.base, first); v != "valid" {
		t.Fatalf("verdict %q, want valid", v)
	}

	mustEPS(t, "ca", "revoke", "--dir", ca, "--serial", serial[1], "--reason", "keyCompromise")
	time.Sleep(400 * time.Millisecond) // a few reload intervals
	second, path := signedPrescription(t, dir, key, cert)
	_ = sendFile(t, s.base, path)
	if v := signatureVerdict(t, s.base, second); !strings.Contains(v, "certificate-revoked") {
		t.Fatalf("after revocation, verdict %q; want certificate-revoked", v)
	}
	if !strings.Contains(s.stderr.String(), "trust directory reloaded") {
		t.Errorf("the reload was not logged:\n%s", s.stderr)
	}
	s.stop(t)
}
