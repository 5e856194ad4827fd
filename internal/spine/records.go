package spine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/rxmsg"
	"github.com/openeps/openeps/internal/store"
)

// decodeRecord reads a stored record body.
func decodeRecord(r store.Record) (*rx.Record, error) {
	var rec rx.Record
	if err := json.Unmarshal(r.Data, &rec); err != nil {
		return nil, fmt.Errorf("record %s: stored body does not decode: %w", r.Key, err)
	}
	return &rec, nil
}

// putRecord writes rec over the version with SCN prevSCN (0: a new record).
func putRecord(ctx context.Context, tx store.Tx, rec *rx.Record, prevSCN int64, now time.Time) error {
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("record %s: encode: %w", rec.Key(), err)
	}
	sum := rec.Summary()
	idx := store.Index{
		PrescriptionID: sum.PrescriptionID,
		NHSNumber:      sum.NHSNumber,
		Status:         sum.Status,
		TreatmentType:  sum.TreatmentType,
		NominatedODS:   sum.NominatedODS,
		DispenserODS:   sum.DispenserODS,
		PrescriberODS:  sum.PrescriberODS,
		NextActivity:   sum.NextActivity,
		NextActivityAt: sum.NextActivityDate,
		UpdatedAt:      now,
	}
	if prevSCN == 0 {
		idx.CreatedAt = now
	} else if old, err := tx.Record(ctx, rec.Key()); err == nil {
		idx.CreatedAt = old.Index.CreatedAt
	}
	return tx.PutRecord(ctx, store.Record{Key: rec.Key(), SCN: sum.SCN, Data: body, Index: idx}, prevSCN)
}

// enqueue puts the lifecycle's further messages in the outbox. Until the
// delivery worker exists they wait there, durable, beside the state change
// that produced them.
func (s *Service) enqueue(ctx context.Context, tx store.Tx, events []rx.Event, now time.Time) error {
	for _, ev := range events {
		body, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("outbox: encode event: %w", err)
		}
		if err := tx.Enqueue(ctx, store.OutboxItem{
			CreatedAt:     now,
			Interaction:   "event",
			Body:          body,
			State:         store.OutboxPending,
			NextAttemptAt: now,
		}); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	return nil
}

// rxPrescription maps a decoded parent prescription to the lifecycle's input.
func rxPrescription(m *hl7v3.Message, received time.Time) (rx.Prescription, error) {
	return rxmsg.PrescriptionInput(m, received)
}
