package spine

import (
	"context"
	"fmt"
	"time"

	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/store"
)

// SweepResult counts what one sweep did.
type SweepResult struct {
	Due     int // records whose next activity was due
	Changed int // records changed (made ready, expired, no-claimed)
	Deleted int // records removed
}

func (r SweepResult) String() string {
	return fmt.Sprintf("%d due, %d changed, %d deleted", r.Due, r.Changed, r.Deleted)
}

// sweepPage bounds the records one sweep transaction looks at.
const sweepPage = 200

// Sweep applies the time-based rules (lifecycle.md §3.11: ready, expire,
// createNoClaim, delete) to every record whose next activity is due at the
// service's clock. Each record is its own transaction, so a sweep never
// holds the writer for long and a crash mid-way loses nothing. It is
// idempotent: a second sweep at the same time changes nothing.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	now := s.now()
	today := now.UTC().Format("20060102")
	var res SweepResult
	// Swept records move their next activity on (or go), so each page holds
	// new work; a record a sweep leaves as it was (nothing applicable yet)
	// stays due, so pages grow by what has been seen, and the loop ends when
	// a page brings nothing new.
	seen := map[string]bool{}
	for {
		limit := sweepPage + len(seen)
		var due []store.Record
		err := s.store.View(ctx, func(tx store.ReadTx) error {
			var err error
			due, err = tx.FindRecords(ctx, store.RecordQuery{DueBy: today, Limit: limit})
			return err
		})
		if err != nil {
			return res, fmt.Errorf("sweep: %w", err)
		}
		fresh := 0
		for _, r := range due {
			if seen[r.Key] {
				continue
			}
			seen[r.Key] = true
			fresh++
			res.Due++
			changed, deleted, err := s.sweepOne(ctx, r.Key, now)
			if err != nil {
				return res, fmt.Errorf("sweep %s: %w", r.Key, err)
			}
			if changed {
				res.Changed++
			}
			if deleted {
				res.Deleted++
			}
		}
		if fresh == 0 || len(due) < limit {
			break
		}
	}
	if res.Due > 0 {
		s.log.Info("sweep", "at", now.Format(time.RFC3339), "result", res.String())
	}
	return res, nil
}

// sweepOne applies the due activities of one record.
func (s *Service) sweepOne(ctx context.Context, key string, now time.Time) (changed, deleted bool, err error) {
	err = s.store.Update(ctx, func(tx store.Tx) error {
		changed, deleted = false, false
		rec, prevSCN, err := loadRecord(ctx, tx, key)
		if err != nil || rec == nil {
			return err
		}
		out, err := rx.Sweep(s.rx, rec, now)
		if err != nil {
			return err
		}
		// Further messages first: a no-claim notification reads the record.
		if err := s.enqueueEvents(ctx, tx, out.Events, now); err != nil {
			return err
		}
		if out.Delete {
			deleted = true
			return tx.DeleteRecord(ctx, key)
		}
		if out.Record != nil {
			changed = true
			return putRecord(ctx, tx, out.Record, prevSCN, now)
		}
		return nil
	})
	return changed, deleted, err
}

// RunSweeper sweeps every interval until ctx ends (the scheduler inside
// `eps serve`). Failures are logged and tried again next time.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
