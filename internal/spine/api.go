package spine

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/store"
)

// PrescriptionView is the JSON shape of GET /api/prescriptions/{id}.
type PrescriptionView struct {
	ID            string         `json:"id"` // short form, with check character
	Status        string         `json:"status"`
	StatusLabel   string         `json:"statusLabel"`
	NHSNumber     string         `json:"nhsNumber"`
	TreatmentType string         `json:"treatmentType"`
	PrescriberODS string         `json:"prescriberOds,omitempty"`
	NominatedODS  string         `json:"nominatedOds,omitempty"`
	DispenserODS  string         `json:"dispenserOds,omitempty"`
	CurrentIssue  int            `json:"currentIssue"`
	MaxRepeats    int            `json:"maxRepeats"`
	SCN           int64          `json:"scn"`
	Patient       PatientView    `json:"patient"`
	Prescriber    PrescriberView `json:"prescriber"`
	LineItems     []LineItemView `json:"lineItems"`
	Issues        []IssueView    `json:"issues"`
	// PendingCancellations are cancellations waiting for the dispenser to
	// return or dispense the prescription; UnsuccessfulCancellations those
	// that failed (the dispenser dispensed) and duplicates.
	PendingCancellations      []rx.Cancellation `json:"pendingCancellations,omitempty"`
	UnsuccessfulCancellations []rx.Cancellation `json:"unsuccessfulCancellations,omitempty"`
	// NextActivity is what the sweep does to the record next, and when
	// (YYYYMMDD): expire, ready, createNoClaim, delete.
	NextActivity *NextActivityView `json:"nextActivity,omitempty"`
	// History is every message received for the prescription, oldest first.
	History []HistoryView `json:"history"`
	// Dispensing is the lifecycle's own account: released, dispensed, claimed…
	Dispensing []rx.HistoryEntry `json:"dispensing,omitempty"`
}

// PatientView is who the prescription is for.
type PatientView struct {
	NHSNumber string `json:"nhsNumber"`
	Prefix    string `json:"prefix,omitempty"`
	Given     string `json:"given,omitempty"`
	Family    string `json:"family,omitempty"`
	BirthDate string `json:"birthDate,omitempty"` // YYYYMMDD
	Gender    string `json:"gender,omitempty"`
	Postcode  string `json:"postcode,omitempty"`
	GPODS     string `json:"gpOds,omitempty"`
}

// PrescriberView is who signed the prescription and where.
type PrescriberView struct {
	Name string `json:"name,omitempty"`
	Code string `json:"code,omitempty"` // professional / prescribing code
	ODS  string `json:"ods"`            // prescribing organisation
}

// LineItemView is one line item, with its status in the current issue.
type LineItemView struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	StatusLabel string `json:"statusLabel"`
	DMDCode     string `json:"dmdCode"`
	Description string `json:"description"`
	Quantity    string `json:"quantity"`
	Unit        string `json:"unit,omitempty"`
	Dosage      string `json:"dosage,omitempty"`
}

// NextActivityView is the sweep's next action on a record.
type NextActivityView struct {
	Activity string `json:"activity"`
	Date     string `json:"date"` // YYYYMMDD
}

// IssueView is one issue of a (repeat) prescription. Dates are YYYYMMDD.
type IssueView struct {
	Number                int               `json:"number"`
	Status                string            `json:"status"`
	StatusLabel           string            `json:"statusLabel"`
	DispenserODS          string            `json:"dispenserOds,omitempty"`
	ReleaseDate           string            `json:"releaseDate,omitempty"`
	LastDispenseDate      string            `json:"lastDispenseDate,omitempty"`
	CompletionDate        string            `json:"completionDate,omitempty"`
	ExpiryDate            string            `json:"expiryDate,omitempty"`
	NominatedDownloadDate string            `json:"nominatedDownloadDate,omitempty"`
	LineItems             []ItemStatuses    `json:"lineItems"`
	Claim                 *rx.Claim         `json:"claim,omitempty"`
	Cancellations         []rx.Cancellation `json:"cancellations,omitempty"`
}

// ItemStatuses is a line item's state within one issue.
type ItemStatuses struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	StatusLabel string `json:"statusLabel"`
	// Supplied is the quantity supplied so far in this issue, in the
	// prescribed unit ("" if nothing yet).
	Supplied string `json:"supplied,omitempty"`
}

// HistoryView is one message received for a prescription.
type HistoryView struct {
	MessageID   string    `json:"messageId"`
	Interaction string    `json:"interaction"`
	ReceivedAt  time.Time `json:"receivedAt"`
	Outcome     string    `json:"outcome"`
}

// ErrNoPrescription is returned by Prescription for an unknown ID.
var ErrNoPrescription = errors.New("no such prescription")

// Prescription returns the view of the prescription with that ID (short
// form with or without its check character, any case).
func (s *Service) Prescription(ctx context.Context, id string) (PrescriptionView, error) {
	key := rx.KeyOf(id)
	var (
		rec  *rx.Record
		msgs []store.Message
	)
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		r, err := tx.Record(ctx, key)
		if err != nil {
			return err
		}
		if rec, err = decodeRecord(r); err != nil {
			return err
		}
		msgs, err = tx.MessagesFor(ctx, key, false)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return PrescriptionView{}, ErrNoPrescription
	}
	if err != nil {
		return PrescriptionView{}, err
	}
	return viewOf(rec, msgs), nil
}

func viewOf(rec *rx.Record, msgs []store.Message) PrescriptionView {
	sum := rec.Summary()
	v := PrescriptionView{
		ID: rec.PrescriptionID, Status: sum.Status, StatusLabel: rx.StatusLabel(sum.Status),
		NHSNumber: sum.NHSNumber, TreatmentType: rec.TreatmentType, PrescriberODS: sum.PrescriberODS,
		NominatedODS: sum.NominatedODS, DispenserODS: sum.DispenserODS, CurrentIssue: rec.CurrentIssue,
		MaxRepeats: rec.MaxRepeats, SCN: rec.SCN, PendingCancellations: rec.PendingCancellations,
		UnsuccessfulCancellations: rec.UnsuccessfulCancellations,
		Dispensing:                rec.History, LineItems: []LineItemView{}, Issues: []IssueView{}, History: []HistoryView{},
		Patient: PatientView{NHSNumber: rec.Patient.NHSNumber, Prefix: rec.Patient.Prefix, Given: rec.Patient.Given,
			Family: rec.Patient.Family, BirthDate: rec.Patient.BirthDate, Gender: rec.Patient.Gender,
			Postcode: rec.Patient.Postcode, GPODS: rec.Patient.GPODS},
		Prescriber: PrescriberView{Name: rec.Prescriber.Name, Code: rec.Prescriber.Code, ODS: rec.Prescriber.ODS},
	}
	cur := rec.Current()
	for _, it := range rec.Items {
		li := LineItemView{ID: it.ID, DMDCode: it.DMDCode, Description: it.Description, Quantity: it.Quantity,
			Unit: it.UnitDisplay, Dosage: it.Dosage}
		if cur != nil {
			for _, st := range cur.LineItems {
				if st.ID == it.ID {
					li.Status, li.StatusLabel = st.Status, rx.ItemStatusLabel(st.Status)
				}
			}
		}
		v.LineItems = append(v.LineItems, li)
	}
	if rec.NextActivity != "" {
		v.NextActivity = &NextActivityView{Activity: rec.NextActivity, Date: rec.NextActivityDate}
	}
	for _, is := range rec.Issues {
		iv := IssueView{Number: is.Number, Status: is.Status, StatusLabel: rx.StatusLabel(is.Status),
			DispenserODS: is.Dispense.DispenserODS, ReleaseDate: is.ReleaseDate,
			LastDispenseDate: is.Dispense.LastDispenseDate, CompletionDate: is.CompletionDate,
			ExpiryDate: is.ExpiryDate, NominatedDownloadDate: is.NominatedDownloadDate,
			LineItems: []ItemStatuses{}, Cancellations: is.Cancellations}
		if is.Claim.ReceivedDate != "" || is.Claim.ClaimID != "" {
			c := is.Claim
			iv.Claim = &c
		}
		for _, st := range is.LineItems {
			iv.LineItems = append(iv.LineItems, ItemStatuses{ID: st.ID, Status: st.Status,
				StatusLabel: rx.ItemStatusLabel(st.Status), Supplied: st.Supplied})
		}
		v.Issues = append(v.Issues, iv)
	}
	for _, m := range msgs {
		v.History = append(v.History, HistoryView{MessageID: m.ID, Interaction: m.Interaction,
			ReceivedAt: m.ReceivedAt.UTC(), Outcome: m.Outcome})
	}
	return v
}

func (s *Service) handlePrescription(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if len(id) > 64 {
		httpError(w, http.StatusBadRequest, "prescription ID too long")
		return
	}
	v, err := s.Prescription(r.Context(), id)
	switch {
	case errors.Is(err, ErrNoPrescription):
		httpError(w, http.StatusNotFound, "no prescription with ID "+id)
		return
	case err != nil:
		s.log.Error("prescription view", "id", id, "err", err)
		httpError(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
