package dispense

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/rxmsg"
	"github.com/openeps/openeps/internal/testutil"
)

// day0 is when the test prescriptions are written; later steps add hours.
var day0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func hours(n int) time.Time { return day0.Add(time.Duration(n) * time.Hour) }

// decode reads a built message back, failing the test if it does not decode.
func decode(t testing.TB, b []byte) *hl7v3.Message {
	t.Helper()
	m, err := hl7v3.Decode(b)
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	return m
}

// input maps a built message to its lifecycle input, as the Spine side does.
func input(t testing.TB, b []byte, received time.Time) any {
	t.Helper()
	in, err := rxmsg.Input(decode(t, b), received)
	if err != nil {
		t.Fatalf("rxmsg: %v", err)
	}
	return in
}

// xmllint validates messages against the MIM schemas (after naming the root
// as the schemas do: the UK form of the interaction), one run per
// interaction.
func xmllint(t *testing.T, docs map[string][]byte) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("xmllint not found: install libxml2-utils")
	}
	dir := t.TempDir()
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	byInteraction := map[string][]string{}
	for i, n := range names {
		m := decode(t, docs[n])
		doc := docs[n]
		if m.Root != m.Interaction {
			doc = bytes.ReplaceAll(doc, []byte("<"+m.Root+" "), []byte("<"+m.Interaction+" "))
			doc = bytes.ReplaceAll(doc, []byte("</"+m.Root+">"), []byte("</"+m.Interaction+">"))
		}
		f := filepath.Join(dir, fmt.Sprintf("%02d-%s.xml", i, m.Interaction))
		if err := os.WriteFile(f, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		byInteraction[m.Interaction] = append(byInteraction[m.Interaction], f)
	}
	for in, files := range byInteraction {
		schema := testutil.Fixtures(t, "hl7v3", "mim", "Schemas", in+".xsd")
		out, err := exec.Command("xmllint", append([]string{"--noout", "--schema", schema}, files...)...).CombinedOutput()
		if err != nil {
			t.Errorf("%s does not validate against the MIM schema: %v\n%s", in, err, out)
		}
	}
}

// spine plays the Spine's part of a journey with the pure lifecycle: it
// keeps the record and the prescription as received, and answers release
// requests with the response the Spine would send (hl7v3.NewReleaseResponse,
// as internal/spine builds it).
type spine struct {
	t    *testing.T
	cfg  rx.Config
	rec  *rx.Record
	pp   *hl7v3.PORX_MT132004UK31_ParentPrescription
	last rx.Outcome
}

func newSpine(t *testing.T, p *prescribe.Prescription, at time.Time) *spine {
	t.Helper()
	b, err := prescribe.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	s := &spine{t: t, cfg: rx.DefaultConfig(), pp: m.Payload().(*hl7v3.PORX_MT132004UK31_ParentPrescription)}
	s.apply(b, at)
	return s
}

// apply runs one message through rx and keeps the new record.
func (s *spine) apply(b []byte, at time.Time) rx.Outcome {
	s.t.Helper()
	in := input(s.t, b, at)
	out, err := rx.Apply(s.cfg, s.rec, in, at)
	if err != nil {
		s.t.Fatalf("rx refused %T: %v", in, err)
	}
	if out.Record != nil {
		s.rec = out.Record
	}
	s.last = out
	return out
}

// release answers a release request (nominated or patient) and returns the
// response bytes a dispenser would receive.
func (s *spine) release(req []byte, at time.Time) []byte {
	s.t.Helper()
	m := decode(s.t, req)
	in := input(s.t, req, at)
	var ans rx.Answer
	interaction, batch := hl7v3.PatientReleaseResponse, hl7v3.BatchInfo{}
	switch v := in.(type) {
	case rx.NominatedReleaseRequest:
		out, err := rx.ReleaseNominated(s.cfg, []*rx.Record{s.rec}, v, at)
		if err != nil {
			s.t.Fatalf("nominated release: %v", err)
		}
		if len(out.Records) == 1 {
			s.rec = out.Records[0]
		}
		ans = out.Answer
		interaction, batch = hl7v3.NominatedReleaseResponse, hl7v3.BatchInfo{InResponse: len(ans.Released), BatchSize: 25}
	default:
		out := s.apply(req, at)
		ans = out.Answer
	}
	w := hl7v3.Wrapper{MessageID: ids.NewUUID(), Created: at, SenderASID: SpineASID, ReceiverASID: m.Header().SenderASID}
	if ans.Kind == rx.AnswerReleaseRejection {
		return hl7v3.NewReleaseRejection(w, m.Header().MessageID, ans.RequestRef, ans.Code(), "").Encode()
	}
	var items []hl7v3.ReleasedPrescription
	for _, r := range ans.Released {
		rp := hl7v3.ReleasedPrescription{Prescription: s.pp, Status: hl7v3.PrescriptionStatusOf(r.Status),
			ItemStatus: map[string]hl7v3.Status{}, LowerAgeLimit: r.LowerAgeLimit, HigherAgeLimit: r.HigherAgeLimit,
			PreviousIssueDate: r.PriorPreviousIssueDate}
		if r.Repeat {
			rp.CurrentInstance, rp.MaxRepeats = r.Issue, r.MaxRepeats
		}
		for _, it := range r.Items {
			rp.ItemStatus[it.ID] = hl7v3.ItemStatusOf(it.Status)
		}
		items = append(items, rp)
	}
	resp, err := hl7v3.NewReleaseResponse(w, interaction, m.Header().MessageID, ans.RequestRef, items, batch)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.Encode()
}

// expect checks the answer to the last message and the statuses after it:
// the current issue's status and its line items' in prescription order.
func (s *spine) expect(step, ack, issueStatus string, itemStatuses ...string) {
	s.t.Helper()
	if got := s.last.Answer.AckType; got != ack {
		s.t.Fatalf("%s: answer %s %v (%s), want %s", step, got, s.last.Answer.Codes, s.last.Answer.Text, ack)
	}
	s.statuses(step, issueStatus, itemStatuses...)
}

func (s *spine) statuses(step, issueStatus string, itemStatuses ...string) {
	s.t.Helper()
	is := s.rec.Current()
	if is.Status != issueStatus {
		s.t.Errorf("%s: issue %d is %s, want %s", step, is.Number, is.Status, issueStatus)
	}
	var got []string
	for _, li := range is.LineItems {
		got = append(got, li.Status)
	}
	if fmt.Sprint(got) != fmt.Sprint(itemStatuses) {
		s.t.Errorf("%s: line items %v, want %v", step, got, itemStatuses)
	}
}
