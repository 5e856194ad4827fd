package spine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/openeps/openeps/internal/rx"
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
	// The record's own creation time orders nominated releases (oldest first).
	if t, err := time.Parse("20060102150405", rec.CreatedAt); err == nil {
		idx.CreatedAt = t
	} else {
		idx.CreatedAt = now
	}
	return tx.PutRecord(ctx, store.Record{Key: rec.Key(), SCN: sum.SCN, Data: body, Index: idx}, prevSCN)
}
