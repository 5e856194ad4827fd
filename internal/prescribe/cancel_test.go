package prescribe

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/rxmsg"
	"github.com/openeps/openeps/internal/testutil"
)

var cancelDay = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// built is prescribe.Example built (so its IDs are filled in) with the
// record rx creates from it.
func built(t *testing.T) (*Prescription, *rx.Record) {
	t.Helper()
	p := Example(cancelDay, "FA565")
	b, err := Build(&p)
	if err != nil {
		t.Fatal(err)
	}
	in, err := rxmsg.Input(mustDecode(t, b), cancelDay)
	if err != nil {
		t.Fatal(err)
	}
	out, err := rx.Create(rx.DefaultConfig(), nil, in.(rx.Prescription), cancelDay)
	if err != nil || out.Record == nil {
		t.Fatalf("rx.Create: %v %+v", err, out.Answer)
	}
	return &p, out.Record
}

func mustDecode(t *testing.T, b []byte) *hl7v3.Message {
	t.Helper()
	m, err := hl7v3.Decode(b)
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	return m
}

func TestCancelMapsToRx(t *testing.T) {
	p, _ := built(t)
	at := cancelDay.Add(time.Hour)
	c := CancelOf(p, strings.ToLower(p.Items[1].ID), "0005", at)
	c.MessageID = ids.NewUUID()
	c.ReasonText = "Patient asked & <insisted>"
	b, err := Cancel(c)
	if err != nil {
		t.Fatal(err)
	}
	m := mustDecode(t, b)
	if m.Root != "PORX_IN030101SM32" || m.Interaction != hl7v3.CancelRequest {
		t.Errorf("root %s interaction %s", m.Root, m.Interaction)
	}
	in, err := rxmsg.Input(m, at)
	if err != nil {
		t.Fatal(err)
	}
	want := rx.CancelRequest{
		Meta: rx.Meta{MessageID: c.MessageID, Interaction: hl7v3.CancelRequest, SenderASID: p.SenderASID,
			SenderODS: "A83008", Received: at},
		RequestID: c.MessageID, PrescriptionID: p.ShortID, PrescriptionUUID: p.UUID, LineItemID: p.Items[1].ID,
		NHSNumber: p.Patient.NHSNumber, ReasonCode: "0005", ReasonText: "0005: Patient asked & <insisted>",
		EffectiveTime: "20250303100000", AuthorRoleProfile: p.Prescriber.RoleProfileID,
		AuthorName: "DR ANNA SMITH", ResponsibleODS: "A83008",
		// agentPerson/id under the professional code root (…0.2.1.54) is the
		// prescriber's professional code, not an SDS user ID.
		AuthorCode: p.Prescriber.ProfessionalCode,
	}
	got := in.(rx.CancelRequest)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mapped (-want +got):\n%s", diff)
	}
	v := m.Payload().(*hl7v3.PORX_MT135001UK32_CancellationRequest).View()
	if v.NHSNumber != p.Patient.NHSNumber || v.Author.OrgODS != "A83008" ||
		v.Author.ProfessionalCode != p.Prescriber.ProfessionalCode || v.Responsible.RoleProfileID != p.Prescriber.RoleProfileID {
		t.Errorf("view %+v", v)
	}
	if h := m.Header(); h.ReceiverASID != p.ReceiverASID || h.SenderASID != p.SenderASID {
		t.Errorf("wrapper %+v", h)
	}

	// The whole prescription, default reason: no line item, 0001 with its display.
	whole, err := Cancel(CancelOf(p, "", "", at))
	if err != nil {
		t.Fatal(err)
	}
	in, err = rxmsg.Input(mustDecode(t, whole), at)
	if err != nil {
		t.Fatal(err)
	}
	cr := in.(rx.CancelRequest)
	if cr.LineItemID != "" || cr.ReasonCode != "0001" || cr.ReasonText != "0001: Prescribing Error" || !ids.IsUpperUUID(cr.RequestID) {
		t.Errorf("whole cancel mapped %+v", cr)
	}

	// A different responsible party is written as given.
	resp := p.Prescriber
	resp.OrgODS, resp.RoleProfileID = "B81001", "100102238986"
	c = CancelOf(p, "", "0002", at)
	c.Responsible = &resp
	b, err = Cancel(c)
	if err != nil {
		t.Fatal(err)
	}
	in, err = rxmsg.Input(mustDecode(t, b), at)
	if err != nil {
		t.Fatal(err)
	}
	if got := in.(rx.CancelRequest); got.ResponsibleODS != "B81001" || got.SenderODS != "A83008" {
		t.Errorf("responsible %s author %s", got.ResponsibleODS, got.SenderODS)
	}
	validate(t, map[string][]byte{"line item": b, "whole": whole})
}

// TestCancelThroughRx: what the lifecycle does with the cancellations built
// here — one line item, then the rest of the prescription.
func TestCancelThroughRx(t *testing.T) {
	p, rec := built(t)
	cfg := rx.DefaultConfig()
	apply := func(b []byte, at time.Time) rx.Outcome {
		t.Helper()
		in, err := rxmsg.Input(mustDecode(t, b), at)
		if err != nil {
			t.Fatal(err)
		}
		out, err := rx.Apply(cfg, rec, in, at)
		if err != nil {
			t.Fatalf("rx: %v", err)
		}
		if out.Record != nil {
			rec = out.Record
		}
		return out
	}
	at := cancelDay.Add(time.Hour)
	b, err := Cancel(CancelOf(p, p.Items[0].ID, "0001", at))
	if err != nil {
		t.Fatal(err)
	}
	out := apply(b, at)
	if out.Answer.AckType != rx.AckAccepted || out.Answer.LineItemID != p.Items[0].ID {
		t.Errorf("item cancel answered %+v", out.Answer)
	}
	is := rec.Current()
	if is.Status != "0001" || is.LineItems[0].Status != "0005" || is.LineItems[1].Status != "0007" {
		t.Errorf("after the item cancel: %s, items %+v", is.Status, is.LineItems)
	}
	b, err = Cancel(CancelOf(p, "", "0004", at.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	out = apply(b, at.Add(time.Hour))
	if out.Answer.AckType != rx.AckAccepted {
		t.Errorf("whole cancel answered %+v", out.Answer)
	}
	if is := rec.Current(); is.Status != "0005" {
		t.Errorf("after the whole cancel: %s", is.Status)
	}
	// The cancel of another patient's prescription ID is not this one's.
	other := CancelOf(p, "", "0001", at.Add(2*time.Hour))
	other.Patient.NHSNumber = "9449305552"
	b, err = Cancel(other)
	if err != nil {
		t.Fatal(err)
	}
	if out := apply(b, at.Add(2*time.Hour)); out.Answer.AckType == rx.AckAccepted {
		t.Errorf("cancel for another NHS number accepted: %+v", out.Answer)
	}
}

func TestCancelRefusesBadInput(t *testing.T) {
	p, _ := built(t)
	at := cancelDay.Add(time.Hour)
	for name, edit := range map[string]func(*CancelRequest){
		"bad prescription ID": func(c *CancelRequest) { c.PrescriptionID = "24F5DA-A83008-7EFE6A" },
		"bad NHS number":      func(c *CancelRequest) { c.Patient.NHSNumber = "9449304107" },
		"no organisation":     func(c *CancelRequest) { c.Prescriber.OrgODS = "" },
		"no time":             func(c *CancelRequest) { c.Time = time.Time{} },
		"unknown reason":      func(c *CancelRequest) { c.ReasonCode = "0010" },
		"line item not UUID":  func(c *CancelRequest) { c.LineItemID = "item-1" },
		"UUID not UUID":       func(c *CancelRequest) { c.PrescriptionUUID = "x" },
		"lower-case msg ID":   func(c *CancelRequest) { c.MessageID = strings.ToLower(ids.NewUUID()) },
		"no sender ASID":      func(c *CancelRequest) { c.SenderASID = "" },
	} {
		c := CancelOf(p, "", "", at)
		edit(&c)
		if b, err := Cancel(c); err == nil {
			t.Errorf("%s: built\n%.200s", name, b)
		}
	}
}

// validate checks messages against the MIM schema of the cancel request,
// the root named as the schema names it.
func validate(t *testing.T, docs map[string][]byte) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("xmllint not found: install libxml2-utils")
	}
	dir := t.TempDir()
	var files []string
	for name, b := range docs {
		b = bytes.ReplaceAll(b, []byte("PORX_IN030101SM32 "), []byte("PORX_IN030101UK32 "))
		b = bytes.ReplaceAll(b, []byte("</PORX_IN030101SM32>"), []byte("</PORX_IN030101UK32>"))
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".xml")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	schema := testutil.Fixtures(t, "hl7v3", "mim", "Schemas", "PORX_IN030101UK32.xsd")
	if out, err := exec.Command("xmllint", append([]string{"--noout", "--schema", schema}, files...)...).CombinedOutput(); err != nil {
		t.Errorf("cancel request does not validate: %v\n%s", err, out)
	}
}
