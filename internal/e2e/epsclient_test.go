package e2e

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/testutil"
)

// The handlers NHS England's EPS FHIR API tries on a Spine reply, in its
// order (translation/response/index.ts): each looks for its interaction
// by name anywhere in the body (spine-response-handler.ts).
var clientHandlers = []string{"MCCI_IN010000UK13", "PORX_IN050101UK31", "PORX_IN110101UK30", "PORX_IN070101UK31", "PORX_IN070103UK31"}

// clientExtract finds the answer the way that client does: the first
// element named for a handler's interaction, with or without the hl7:
// prefix, to its last end tag.
func clientExtract(body []byte) (interaction string, doc []byte) {
	for _, in := range clientHandlers {
		re := regexp.MustCompile(`(?s)<(?:hl7:)?` + in + `[\s>/].*</(?:hl7:)?` + in + `>`)
		if m := re.Find(body); m != nil {
			return in, m
		}
	}
	return "", nil
}

// clientTypeCode is acknowledgement/@typeCode, which the client switches on.
func clientTypeCode(doc []byte) string {
	m := regexp.MustCompile(`<(?:hl7:)?acknowledgement\b[^>]*\btypeCode="([A-Z]+)"`).FindSubmatch(doc)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// clientCodes are the error codes the client reads from an answer: the
// detected issues of an acknowledgement with errors, its acknowledgement
// details, the reason of a release rejection.
func clientCodes(doc []byte) []string {
	var out []string
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?s)<(?:hl7:)?(?:justifyingDetectedIssueEvent|acknowledgementDetail)\b.*?<(?:hl7:)?code\b[^>]*?\bcode="([^"]+)"`),
		regexp.MustCompile(`(?s)<(?:hl7:)?pertinentRejectionReason\b.*?<(?:hl7:)?value\b[^>]*?\bcode="([^"]+)"`),
	} {
		for _, m := range re.FindAllSubmatch(doc, -1) {
			out = append(out, string(m[1]))
		}
	}
	return out
}

// TestEPSFHIRClientRequests replays the eight requests NHS England's EPS
// FHIR API sends, exactly as captured — POST /Prescription, its headers
// (SOAPAction, NHSD-Request-ID, the Content-Type with start= unbracketed
// and type= unquoted), CRLF MIME — against a real eps serve over HTTPS
// with mutual TLS, and reads each answer as that client does: HTTP 200, the
// HL7 answer found by its handlers' regular expressions, then its
// acknowledgement type. The journey is the captures' own: the
// prescription, its patient release, dispense and claim; then a nominated
// release with nothing left to release, and a return, a withdraw and a
// cancel of prescriptions the Spine does not hold.
func TestEPSFHIRClientRequests(t *testing.T) {
	w := newWorld(t)
	spine := w.startServe("127.0.0.1:0", w.path("spine.db"), "--now", "2026-11-25T01:00:00Z")
	client := w.client("eps-fhir-api")
	for _, c := range []struct {
		file   string
		answer string
		ack    string
		codes  []string // error codes the client must find ("" none)
	}{
		{"parent-prescription-PORX_IN020101SM31.http", "MCCI_IN010000UK13", "AA", nil},
		{"patient-release-request-PORX_IN132004SM30.http", "PORX_IN070103UK31", "AA", nil},
		{"dispense-notification-PORX_IN080101SM31.http", "MCCI_IN010000UK13", "AA", nil},
		{"dispense-claim-PORX_IN090101SM31.http", "MCCI_IN010000UK13", "AA", nil},
		// Nothing nominated to VNE51 is left: a rejection, 0006 "no more
		// prescriptions", which the client reports as information.
		{"nominated-release-request-PORX_IN060102SM30.http", "PORX_IN110101UK30", "", []string{"0006"}},
		// Prescriptions the Spine does not hold: refused with a code the
		// client maps to an OperationOutcome.
		{"dispense-proposal-return-PORX_IN100101SM31.http", "MCCI_IN010000UK13", "AE", []string{"0005"}},
		{"dispenser-withdraw-PORX_IN510101SM31.http", "MCCI_IN010000UK13", "AE", []string{"*"}},
		// The client's CancelResponseHandler turns an AE cancel response
		// into its 400 from the response itself.
		{"cancel-request-PORX_IN030101SM32.http", "PORX_IN050101UK31", "AE", nil},
	} {
		t.Run(c.file, func(t *testing.T) {
			raw := testutil.ReadFixture(t, "ebxml", "eps-fhir-api-client", c.file)
			method, path, hdr, body, err := ebxml.ParseRequestFile(raw)
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.NewRequest(method, spine.urls[0]+path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range hdr {
				if k != "Content-Length" {
					req.Header[k] = vs
				}
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d (the client takes 200 with a body, or 202 to poll)\n%s", resp.StatusCode, out)
			}
			in, doc := clientExtract(out)
			if doc == nil {
				t.Fatalf("no answer the client's handlers find (\"Unhandled Spine response\")\n%s", out)
			}
			if _, err := hl7v3.Decode(doc); err != nil {
				t.Errorf("the extracted %s does not decode: %v", in, err)
			}
			got := clientTypeCode(doc)
			codes := clientCodes(doc)
			t.Logf("%s → %s %s %v", c.file, in, got, codes)
			if c.answer != "" && in != c.answer {
				t.Errorf("answer %s, want %s", in, c.answer)
			}
			if c.ack != "" && got != c.ack {
				t.Errorf("acknowledgement %q, want %s (%v)", got, c.ack, clientCodes(doc))
			}
			for _, want := range c.codes {
				if len(codes) == 0 || (want != "*" && !slices.Contains(codes, want)) {
					t.Errorf("codes %v, want %s among them", codes, want)
				}
			}
			// The same request again (the client's axios-retry resends on
			// any failure): the same bytes.
			req2, _ := http.NewRequest(method, spine.urls[0]+path, bytes.NewReader(body))
			req2.Header = req.Header.Clone()
			resp2, err := client.Do(req2)
			if err != nil {
				t.Fatal(err)
			}
			out2, _ := io.ReadAll(resp2.Body)
			resp2.Body.Close()
			if resp2.StatusCode != 200 || !bytes.Equal(out, out2) {
				t.Errorf("resend: HTTP %d, same bytes %v", resp2.StatusCode, bytes.Equal(out, out2))
			}
		})
	}
}

// TestEPSFHIRClientPolling: a front-door request answered 202 with
// Content-Location is polled as the client polls (GET with nhsd-asid)
// until the answer is there; a poll for a message never sent is 404.
func TestEPSFHIRClientPolling(t *testing.T) {
	w := newWorld(t)
	spine := w.startServe("127.0.0.1:0", w.path("spine.db"), "--now", "2026-11-25T01:00:00Z")
	client := w.client("eps-fhir-api")
	raw := testutil.ReadFixture(t, "ebxml", "eps-fhir-api-client", "parent-prescription-PORX_IN020101SM31.http")
	method, path, hdr, body, err := ebxml.ParseRequestFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, spine.urls[0]+path, bytes.NewReader(body))
	for k, vs := range hdr {
		if k != "Content-Length" {
			req.Header[k] = vs
		}
	}
	req.Header.Set("Prefer", "respond-async")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Content-Location")
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(loc, "/") || resp.Header.Get("Retry-After") != "" {
		// No Retry-After: the client reads it as milliseconds.
		t.Fatalf("HTTP %d, Content-Location %q, Retry-After %q", resp.StatusCode, loc, resp.Header.Get("Retry-After"))
	}
	var out []byte
	for attempt := 0; ; attempt++ {
		if attempt > 6 {
			t.Fatal("no answer after 6 polls (the client's limit)")
		}
		preq, _ := http.NewRequest(http.MethodGet, spine.urls[0]+loc, nil)
		preq.Header.Set("nhsd-asid", "200000001285")
		presp, err := client.Do(preq)
		if err != nil {
			t.Fatal(err)
		}
		out, _ = io.ReadAll(presp.Body)
		presp.Body.Close()
		if presp.StatusCode == 200 && len(out) > 0 {
			break
		}
		if presp.StatusCode != http.StatusAccepted {
			t.Fatalf("poll: HTTP %d %s", presp.StatusCode, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	in, doc := clientExtract(out)
	if in != "MCCI_IN010000UK13" || clientTypeCode(doc) != "AA" {
		t.Fatalf("polled answer %s %q\n%s", in, clientTypeCode(doc), out)
	}
	nreq, _ := http.NewRequest(http.MethodGet, spine.urls[0]+"/_poll/00000000-0000-4000-8000-000000000000", nil)
	nresp, err := client.Do(nreq)
	if err != nil {
		t.Fatal(err)
	}
	nresp.Body.Close()
	if nresp.StatusCode != http.StatusNotFound {
		t.Errorf("poll of an unknown message: HTTP %d", nresp.StatusCode)
	}
}
