package prescribe

import (
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
)

// TestBuildExample checks that what Build writes decodes to the values given:
// the flat view a dispenser (or the Spine) reads back matches field by field.
func TestBuildExample(t *testing.T) {
	at := time.Date(2022, 2, 1, 9, 30, 0, 0, time.UTC)
	p := Example(at, "FA565")
	p.Items[0].AdditionalInstructions = "Take with food & water <important>"
	b, err := Build(&p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7v3.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Root != "PORX_IN020101SM31" || m.Interaction != hl7v3.ParentPrescriptionUrgent {
		t.Fatalf("root %s interaction %s", m.Root, m.Interaction)
	}
	if err := ids.CheckShortID(p.ShortID); err != nil {
		t.Fatalf("generated short ID: %v", err)
	}
	if !strings.Contains(p.ShortID, "-A83008-") {
		t.Errorf("short ID %s does not carry the prescriber's ODS code", p.ShortID)
	}
	v := m.Payload().(*hl7v3.PORX_MT132004UK31_ParentPrescription).View()
	if v.ShortID != p.ShortID || v.UUID != p.UUID || v.NHSNumber != p.Patient.NHSNumber {
		t.Errorf("ids: got %s %s %s", v.ShortID, v.UUID, v.NHSNumber)
	}
	if v.NominatedODS != "FA565" || v.TreatmentType != "0001" || v.AuthorTime != "20220201093000" {
		t.Errorf("nominated %q treatment %q time %q", v.NominatedODS, v.TreatmentType, v.AuthorTime)
	}
	if v.Author.OrgODS != "A83008" || v.Patient.Family != "DOE" || v.Patient.GPODS != "A83008" {
		t.Errorf("author org %q family %q gp %q", v.Author.OrgODS, v.Patient.Family, v.Patient.GPODS)
	}
	if len(v.LineItems) != len(p.Items) {
		t.Fatalf("%d line items, want %d", len(v.LineItems), len(p.Items))
	}
	for i, li := range v.LineItems {
		want := p.Items[i]
		if li.ID != want.ID || li.DMDCode != want.DMDCode || li.Description != want.Description ||
			li.Quantity != want.Quantity || li.UnitCode != want.UnitCode || li.Dosage != want.Dosage ||
			li.AdditionalInstructions != want.AdditionalInstructions {
			t.Errorf("line item %d: got %+v, want %+v", i+1, li, want)
		}
	}
}

func TestBuildRepeatDispensing(t *testing.T) {
	p := Example(time.Date(2022, 2, 19, 0, 0, 0, 0, time.UTC), "")
	p.TreatmentType, p.RepeatHigh, p.ReviewDate = "0003", 6, "20230219"
	b, err := Build(&p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7v3.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	v := m.Payload().(*hl7v3.PORX_MT132004UK31_ParentPrescription).View()
	if v.RepeatLow != "1" || v.RepeatHigh != "6" || v.DispenseLow != "20220219" || v.DispenseHigh != "20220319" ||
		v.ReviewDate != "20230219" || v.NominatedODS != "" {
		t.Errorf("repeat view: %+v", v)
	}
	for _, li := range v.LineItems {
		if li.RepeatHigh != "6" {
			t.Errorf("line item repeat high %q", li.RepeatHigh)
		}
	}
}

func TestBuildRefuses(t *testing.T) {
	at := time.Date(2022, 2, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]func(p *Prescription){
		"no items":          func(p *Prescription) { p.Items = nil },
		"five items":        func(p *Prescription) { p.Items = append(p.Items, p.Items[0], p.Items[0], p.Items[0]) },
		"bad NHS number":    func(p *Prescription) { p.Patient.NHSNumber = "9449304107" },
		"no organisation":   func(p *Prescription) { p.Prescriber.OrgODS = "" },
		"repeat, no count":  func(p *Prescription) { p.TreatmentType = "0002" },
		"bad treatment":     func(p *Prescription) { p.TreatmentType = "0004" },
		"bad short ID":      func(p *Prescription) { p.ShortID = "24F5DA-A83008-7EFE6A" },
		"quantity not a nr": func(p *Prescription) { p.Items[0].Quantity = "twenty" },
	}
	for name, mutate := range cases {
		p := Example(at, "")
		mutate(&p)
		if _, err := Build(&p); err == nil {
			t.Errorf("%s: built without error", name)
		}
	}
}
