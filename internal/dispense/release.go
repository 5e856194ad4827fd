package dispense

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/hl7v3"
)

// Released is one prescription as a release response gives it to the
// dispenser: what the dispenser's later messages about it refer to.
type Released struct {
	// ResponseID is the release response's payload id: what a dispense
	// notification's sequelTo and a return's reversalOf name.
	ResponseID string
	// RequestID is the payload id of the release request it answers.
	RequestID string
	// MessageID is the parent prescription's id (ParentPrescription/id).
	MessageID      string
	PrescriptionID string // short-form ID
	UUID           string // the prescription's UUID (inFulfillmentOf/priorOriginalPrescriptionRef)
	NHSNumber      string
	PrescriberODS  string // the prescribing organisation
	TreatmentType  string // 0001 acute, 0002 repeat prescribing, 0003 repeat dispensing
	Status         string // prescription status shown (16.35)
	// Issue and MaxRepeats are repeatNumber low and high: for repeat
	// dispensing, the issue released and the number authorised; 0 when the
	// prescription has none.
	Issue, MaxRepeats int
	Items             []ReleasedItem
}

// ReleasedItem is one line item of a released prescription.
type ReleasedItem struct {
	ID          string // the line item UUID
	DMDCode     string // the product prescribed
	Description string
	Quantity    string // in the unit below
	UnitCode    string // dm+d unit of measure
	UnitDisplay string
	Dosage      string
	Status      string // item status shown (17.23)
	// Issue and MaxRepeats are the item's repeatNumber low and high, 0 when absent.
	Issue, MaxRepeats int
}

// RepeatDispensing reports whether the prescription is repeat dispensing,
// whose messages name the issue they are about.
func (r Released) RepeatDispensing() bool { return r.TreatmentType == "0003" }

// Item returns the released line item with that ID.
func (r Released) Item(id string) (ReleasedItem, bool) {
	for _, it := range r.Items {
		if strings.EqualFold(it.ID, id) {
			return it, true
		}
	}
	return ReleasedItem{}, false
}

// Rejection is a release the Spine refused (PORX_IN110101): Reason is the
// 16.34 code, e.g. 0004 "Prescription is with another dispenser" (naming the
// dispenser that holds it) or 0006 "No more nominated prescriptions
// available", the normal end of a nominated download. epserr.CodeOf(err)
// gives Reason.
type Rejection struct {
	Reason       epserr.Code
	Text         string // the explanation the Spine adds, if any
	DispenserODS string // reason 0004: who holds the prescription
	RequestID    string // the release request's payload id
}

func (r *Rejection) Error() string {
	msg := "release rejected: " + r.Reason.Value + " " + r.Reason.Display
	if r.Text != "" && r.Text != r.Reason.Display {
		msg += ": " + r.Text
	}
	if r.DispenserODS != "" {
		msg += " (" + r.DispenserODS + ")"
	}
	return msg
}

// Unwrap lets epserr.As and epserr.CodeOf see the reason.
func (r *Rejection) Unwrap() error { return epserr.New(r.Reason, r.Text) }

// NoMore reports whether the rejection is 0006, the end of the nominated
// prescriptions: nothing is wrong, there is nothing left to download.
func (r *Rejection) NoMore() bool { return r.Reason.Value == epserr.RejectNoMoreNominated.Value }

// ReadRelease reads what the Spine answered a release request with: a
// release response (PORX_IN070101 nominated, PORX_IN070103 patient) gives the
// prescriptions released; a release rejection (PORX_IN110101) gives a
// *Rejection; an acknowledgement with errors (MCCI_IN010000UK13, the answer
// to a request the Spine could not read) gives an *epserr.Error with its
// first code. b is the HL7 document, as hl7v3.Decode reads it.
func ReadRelease(b []byte) ([]Released, error) {
	m, err := hl7v3.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("release response: %w", err)
	}
	switch p := m.Payload().(type) {
	case *hl7v3.PORX_MT122002UK31_PrescriptionReleaseResponse:
		return released(p)
	case *hl7v3.PORX_MT121201UK30_PrescriptionReleaseReject:
		v := p.View()
		rej := &Rejection{Reason: epserr.Code{System: v.Reason.System, Value: v.Reason.Code, Display: v.Reason.Display},
			Text: v.Reason.Text, DispenserODS: v.Dispenser.OrgODS, RequestID: strings.ToUpper(v.RequestPayloadID)}
		if rej.Reason.System == "" {
			rej.Reason.System = epserr.SystemDispense
		}
		return nil, rej
	}
	if a, ok := hl7v3.ReadAck(m); ok {
		if len(a.Errors) == 0 {
			return nil, fmt.Errorf("release response: an acknowledgement (%s) with no prescriptions", a.Type)
		}
		e := epserr.New(a.Errors[0], fmt.Sprintf("release refused with acknowledgement %s", a.Type))
		return nil, e
	}
	return nil, fmt.Errorf("release response: %s is not an answer to a release request", m.Root)
}

func released(p *hl7v3.PORX_MT122002UK31_PrescriptionReleaseResponse) ([]Released, error) {
	v := p.View()
	if len(v.Prescriptions) == 0 {
		return nil, errors.New("release response: no prescription in it")
	}
	out := make([]Released, 0, len(v.Prescriptions))
	for i, pv := range v.Prescriptions {
		r := Released{
			ResponseID: strings.ToUpper(v.ID), RequestID: strings.ToUpper(v.RequestPayloadID),
			MessageID:      strings.ToUpper(p.Component[i].ParentPrescription.ID.Root),
			PrescriptionID: strings.ToUpper(pv.ShortID), UUID: strings.ToUpper(pv.UUID),
			NHSNumber: pv.NHSNumber, PrescriberODS: pv.Author.OrgODS,
			TreatmentType: pv.TreatmentType, Status: pv.Status,
		}
		var err error
		if r.Issue, err = count("repeatNumber/low", pv.RepeatLow); err != nil {
			return nil, fmt.Errorf("release response: prescription %d: %w", i+1, err)
		}
		if r.MaxRepeats, err = count("repeatNumber/high", pv.RepeatHigh); err != nil {
			return nil, fmt.Errorf("release response: prescription %d: %w", i+1, err)
		}
		for j, li := range pv.LineItems {
			it := ReleasedItem{ID: strings.ToUpper(li.ID), DMDCode: li.DMDCode, Description: li.Description,
				Quantity: li.Quantity, UnitCode: li.UnitCode, UnitDisplay: li.UnitDisplay, Dosage: li.Dosage,
				Status: li.Status}
			if it.Issue, err = count("repeatNumber/low", li.RepeatLow); err == nil {
				it.MaxRepeats, err = count("repeatNumber/high", li.RepeatHigh)
			}
			if err != nil {
				return nil, fmt.Errorf("release response: prescription %d line item %d: %w", i+1, j+1, err)
			}
			r.Items = append(r.Items, it)
		}
		out = append(out, r)
	}
	return out, nil
}

// count reads a repeat number: "" is 0 (absent).
func count(name, s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 999 {
		return 0, fmt.Errorf("%s %q is not a repeat number", name, s)
	}
	return n, nil
}
