// Package prescribe builds parent prescriptions (PORX_IN020101SM31) the way
// a GP prescribing system does: from plain values — prescriber, patient,
// one to four line items, an optional nominated pharmacy — to the HL7 V3
// document the Spine receives, with the XML-DSig skeleton in place for the
// signature (signing is package signature's job).
//
// The document is written from a template with the shape of the real
// messages in ../shared/fixtures/hl7v3 (PORX_IN020101UK31-*.xml), then read
// back with hl7v3.Decode, so whatever Build returns has passed the codec's
// structural checks.
package prescribe

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
)

// Prescriber is the person who signs, and the organisation they prescribe for.
type Prescriber struct {
	SDSUserID        string // agentPersonSDS id (…0.2.0.65)
	RoleProfileID    string // role profile (…0.2.0.67)
	JobRole          string // SDS job role code, e.g. R8000 (clinical practitioner)
	ProfessionalCode string // GMC / NMC / prescribing code (…0.2.1.54)
	Prefix           string
	Given            string
	Family           string
	Telephone        string // "01234567890"
	OrgODS           string // prescribing organisation (GP practice)
	OrgName          string
	OrgTelephone     string
	OrgAddress       []string
	OrgPostcode      string
	CommissionerODS  string // the CCG / ICB (healthCareProviderLicense)
	CommissionerName string
}

// Patient is who the prescription is for.
type Patient struct {
	NHSNumber string
	Prefix    string
	Given     []string
	Family    string
	Gender    string // 0 unknown, 1 male, 2 female, 9 indeterminate
	BirthDate string // YYYYMMDD
	Address   []string
	Postcode  string
	GPODS     string // registered practice
}

// Item is one line item.
type Item struct {
	ID                     string // upper-case UUID; generated if empty
	DMDCode                string // dm+d / SNOMED CT concept of the product
	Description            string // its dm+d name
	Quantity               string // in the unit below, e.g. "28"
	UnitCode               string // dm+d unit of measure, e.g. 428673006
	UnitDisplay            string // e.g. "tablet"
	Dosage                 string // dosage instructions, free text
	AdditionalInstructions string // e.g. a controlled drug quantity in words
}

// Prescription is everything Build needs. Zero IDs are generated.
type Prescription struct {
	MessageID        string    // wrapper id; generated if empty
	UUID             string    // pertinentPrescription id; generated if empty
	ShortID          string    // short-form ID; generated from Prescriber.OrgODS if empty
	Time             time.Time // prescribing and signing time
	SenderASID       string    // the prescribing system
	ReceiverASID     string    // the Spine
	TreatmentType    string    // 0001 acute (default), 0002 repeat prescribing, 0003 repeat dispensing
	PrescriptionType string    // 0101 primary care GP (default)
	NominatedODS     string    // one-off nomination; "" for none
	SitePreference   string    // P1 (default) when nominated, else P1 too: "other / any"
	DaysSupply       int       // 0: none written (the Spine's default 28 applies)
	RepeatHigh       int       // issues authorised, for 0002 / 0003
	ReviewDate       string    // YYYYMMDD, for repeats
	Prescriber       Prescriber
	Patient          Patient
	Items            []Item
}

// Limits from the Spine (hl7v3.md §6).
const (
	MaxItems   = 4
	MaxRepeats = 99
)

// Build writes the parent prescription and checks it decodes. It fills in
// any IDs left empty (in p, so the caller learns them).
func Build(p *Prescription) ([]byte, error) {
	if err := p.fill(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := parentTmpl.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("prescribe: %w", err)
	}
	out := buf.Bytes()
	if _, err := hl7v3.Decode(out); err != nil {
		return nil, fmt.Errorf("prescribe: the built prescription does not decode: %w", err)
	}
	return out, nil
}

// fill checks p and generates what was left empty.
func (p *Prescription) fill() error {
	if len(p.Items) == 0 || len(p.Items) > MaxItems {
		return fmt.Errorf("prescribe: %d line items; a prescription has 1 to %d", len(p.Items), MaxItems)
	}
	if err := ids.CheckNHSNumber(p.Patient.NHSNumber); err != nil {
		return fmt.Errorf("prescribe: patient: %w", err)
	}
	if p.Prescriber.OrgODS == "" {
		return errors.New("prescribe: the prescriber's organisation (ODS code) is required")
	}
	if p.Time.IsZero() {
		return errors.New("prescribe: the prescribing time is required")
	}
	if p.TreatmentType == "" {
		p.TreatmentType = "0001"
	}
	switch p.TreatmentType {
	case "0001":
	case "0002", "0003":
		if p.RepeatHigh < 1 || p.RepeatHigh > MaxRepeats {
			return fmt.Errorf("prescribe: %d repeats; a repeat prescription authorises 1 to %d", p.RepeatHigh, MaxRepeats)
		}
	default:
		return fmt.Errorf("prescribe: treatment type %q: want 0001, 0002 or 0003", p.TreatmentType)
	}
	if p.PrescriptionType == "" {
		p.PrescriptionType = "0101"
	}
	if p.SitePreference == "" {
		p.SitePreference = "P1"
	}
	if p.MessageID == "" {
		p.MessageID = ids.NewUUID()
	}
	if p.UUID == "" {
		p.UUID = ids.NewUUID()
	}
	if p.ShortID == "" {
		id, err := ids.NewShortID(p.Prescriber.OrgODS)
		if err != nil {
			return fmt.Errorf("prescribe: %w", err)
		}
		p.ShortID = id
	} else if err := ids.CheckShortID(p.ShortID); err != nil {
		return fmt.Errorf("prescribe: %w", err)
	}
	for i := range p.Items {
		it := &p.Items[i]
		if it.ID == "" {
			it.ID = ids.NewUUID()
		}
		if it.DMDCode == "" || it.Quantity == "" {
			return fmt.Errorf("prescribe: line item %d needs a dm+d code and a quantity", i+1)
		}
		if _, err := strconv.ParseFloat(it.Quantity, 64); err != nil {
			return fmt.Errorf("prescribe: line item %d: quantity %q is not a number", i+1, it.Quantity)
		}
	}
	return nil
}

// Repeat reports whether the prescription is a repeat (0002 / 0003).
func (p *Prescription) Repeat() bool { return p.TreatmentType != "0001" }

// Stamp is the HL7 timestamp of the prescribing time.
func (p *Prescription) Stamp() string { return p.Time.UTC().Format(hl7v3.TimeFormat) }

// DispenseLow and DispenseHigh are the first issue's dispensing window for
// repeat dispensing: from the prescribing date for DaysSupply days (28 if unset).
func (p *Prescription) DispenseLow() string { return p.Time.UTC().Format("20060102") }

// DispenseHigh: see DispenseLow.
func (p *Prescription) DispenseHigh() string {
	days := p.DaysSupply
	if days == 0 {
		days = 28
	}
	return p.Time.UTC().AddDate(0, 0, days).Format("20060102")
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

//go:embed parent_prescription.xml.tmpl
var parentText string

var parentTmpl = template.Must(template.New("parent").Funcs(template.FuncMap{"x": esc}).Parse(parentText))

// Example returns a realistic acute prescription for the demo and tests:
// fictional people with valid test identifiers, three common medicines, and
// a one-off nomination of the pharmacy nominated.
func Example(at time.Time, nominated string) Prescription {
	return Prescription{
		Time:         at,
		SenderASID:   "200000001285",
		ReceiverASID: "567456789789",
		NominatedODS: nominated,
		DaysSupply:   28,
		Prescriber: Prescriber{
			SDSUserID: "555254239107", RoleProfileID: "555254240100", JobRole: "R8000", ProfessionalCode: "G6095103",
			Prefix: "DR", Given: "ANNA", Family: "SMITH", Telephone: "01234567890",
			OrgODS: "A83008", OrgName: "HALLGARTH SURGERY", OrgTelephone: "01159737320",
			OrgAddress: []string{"CHEAPSIDE", "SHILDON", "COUNTY DURHAM"}, OrgPostcode: "DL4 2HP",
			CommissionerODS: "84H", CommissionerName: "NHS COUNTY DURHAM CCG",
		},
		Patient: Patient{
			NHSNumber: "9449304106", Prefix: "MRS", Given: []string{"JANE"}, Family: "DOE", Gender: "2",
			BirthDate: "19620714", Address: []string{"1 TRINITY STREET", "DARLINGTON"}, Postcode: "DL3 7BN",
			GPODS: "A83008",
		},
		Items: []Item{
			{DMDCode: "39732311000001104", Description: "Amoxicillin 250mg capsules", Quantity: "21",
				UnitCode: "428641000", UnitDisplay: "capsule", Dosage: "One capsule three times a day for 7 days"},
			{DMDCode: "322237000", Description: "Paracetamol 500mg soluble tablets", Quantity: "32",
				UnitCode: "428673006", UnitDisplay: "tablet", Dosage: "Two tablets up to four times a day when required"},
			{DMDCode: "324252006", Description: "Azithromycin 250mg capsules", Quantity: "6",
				UnitCode: "428641000", UnitDisplay: "capsule", Dosage: "Two capsules once a day for 3 days"},
		},
	}
}
