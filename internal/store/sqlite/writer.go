package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/openeps/openeps/internal/store"
)

// request is one Update call waiting for, or inside, a batch. The function
// runs on the caller's goroutine, not the writer's: the writer hands the
// caller its turn (after opening a savepoint) and waits for the outcome. So a
// panic, or runtime.Goexit from t.Fatal in a test, unwinds the caller as it
// would without a store, and the writer carries on with the batch.
type request struct {
	ctx  context.Context
	turn chan struct{} // writer to caller: the savepoint is open, run fn
	ran  chan outcome  // caller to writer: fn has finished
	gone bool          // the caller left (panic or Goexit); never hand it a turn again
	err  error         // final result, set before done is closed
	done chan struct{}
}

// outcome is what the caller reports after running fn once.
type outcome struct {
	err     error
	aborted bool // fn panicked or called runtime.Goexit
}

// writer is the one connection all writes go through, with its prepared
// statements. Only the writer goroutine (and the functions it runs) use it.
type writer struct {
	conn  *sql.Conn
	mu    sync.Mutex // a function may, unwisely, use its tx from several goroutines
	stmts map[string]*sql.Stmt
}

func (w *writer) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.stmts[query]; ok {
		return s, nil
	}
	s, err := w.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	// Queries built from a RecordQuery vary; cache only a bounded number so
	// odd combinations cannot grow the map without end.
	if len(w.stmts) < 200 {
		w.stmts[query] = s
	}
	return s, nil
}

func (w *writer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (w *writer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (w *writer) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.stmts {
		s.Close()
	}
	w.stmts = nil
	return w.conn.Close()
}

// exec runs a transaction-control statement, unprepared.
func (w *writer) exec(query string) error {
	_, err := w.conn.ExecContext(context.Background(), query)
	return err
}

// Update runs fn in the next batch the writer commits. It returns only after
// that batch has committed (or failed), so a nil error means fn's writes are
// on disk.
//
// fn must not call Update on the same store (it would wait for itself), and
// while it runs it holds up the whole batch.
func (d *DB) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &request{ctx: ctx, turn: make(chan struct{}, 1), ran: make(chan outcome, 1), done: make(chan struct{})}
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return fmt.Errorf("sqlite store %s: %w", d.path, store.ErrClosed)
	}
	select {
	case d.reqs <- req:
		d.mu.RUnlock()
	case <-ctx.Done():
		d.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the writer checks
	// ctx before each turn, and after a turn the only honest answer is
	// whether the commit happened.
	for {
		select {
		case <-req.turn:
			d.runFn(req, fn)
		case <-req.done:
			return req.err
		}
	}
}

// runFn runs fn once for the writer and reports how it went. The deferred
// report also fires while a panic or Goexit unwinds the caller.
func (d *DB) runFn(req *request, fn func(store.Tx) error) {
	tx := &writeTx{readTx: readTx{q: d.writer, detach: true}}
	returned := false
	defer func() {
		tx.finish()
		if !returned {
			req.ran <- outcome{aborted: true}
		}
	}()
	err := fn(tx)
	returned = true
	tx.finish()
	req.ran <- outcome{err: err}
}

func (d *DB) writeLoop() {
	defer close(d.loopDone)
	batch := make([]*request, 0, d.cfg.maxBatch)
	for first := range d.reqs {
		batch = append(batch[:0], first)
	fill:
		// No waiting for more: whatever queued while the last batch was
		// syncing goes in this one, so a lone writer pays no added latency.
		for len(batch) < d.cfg.maxBatch {
			select {
			case r, ok := <-d.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		d.commit(batch)
		clear(batch)
	}
}

// commit runs a batch and reports to every request in it. If the batch
// transaction itself fails (the commit, or SQLite abandoning the transaction
// after an I/O error), no request in it can be trusted to have committed, so
// each is run again in a transaction of its own and gets its own outcome.
func (d *DB) commit(batch []*request) {
	d.batches.Add(1)
	d.updates.Add(int64(len(batch)))
	if err := d.runBatch(batch); err != nil {
		if len(batch) == 1 {
			batch[0].err = fmt.Errorf("sqlite store %s: %w", d.path, err)
		} else {
			for _, r := range batch {
				if r.gone {
					continue
				}
				r.err = nil
				if err := d.runBatch([]*request{r}); err != nil {
					r.err = fmt.Errorf("sqlite store %s: %w", d.path, err)
				}
			}
		}
	}
	for _, r := range batch {
		close(r.done)
	}
}

// runBatch runs every request of batch in one transaction, each in its own
// savepoint, and commits. It returns an error only when the transaction as a
// whole failed; each request's own outcome is left in the request.
func (d *DB) runBatch(batch []*request) error {
	w := d.writer
	// IMMEDIATE takes the write lock now, so that no statement inside can
	// meet SQLITE_BUSY from another process half way through the batch.
	if err := w.exec("BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	abort := func(err error) error {
		_ = w.exec("ROLLBACK") // may fail if SQLite already rolled back; the error returned says why
		return err
	}
	for _, r := range batch {
		if r.gone {
			continue
		}
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		for attempt := 1; ; attempt++ {
			if err := w.exec("SAVEPOINT upd"); err != nil {
				return abort(fmt.Errorf("savepoint: %w", err))
			}
			r.turn <- struct{}{}
			out := <-r.ran
			if out.err == nil && !out.aborted {
				if err := w.exec("RELEASE upd"); err != nil {
					return abort(fmt.Errorf("release savepoint: %w", err))
				}
				r.err = nil
				break
			}
			// ROLLBACK TO undoes fn's writes but keeps the savepoint open;
			// RELEASE then drops it, leaving the batch as it was before fn.
			if err := w.exec("ROLLBACK TO upd"); err != nil {
				return abort(fmt.Errorf("roll back to savepoint after %v: %w", out.err, err))
			}
			if err := w.exec("RELEASE upd"); err != nil {
				return abort(fmt.Errorf("release savepoint: %w", err))
			}
			if out.aborted {
				r.gone = true
				break
			}
			// With one writer a retry sees everything committed and
			// everything earlier in this batch, so a conflict can only
			// repeat if fn works from data it read outside tx.
			if errors.Is(out.err, store.ErrConflict) && attempt < d.cfg.maxAttempts && r.ctx.Err() == nil {
				continue
			}
			r.err = out.err
			if errors.Is(out.err, store.ErrConflict) {
				r.err = fmt.Errorf("sqlite store: gave up after %d attempts: %w", attempt, out.err)
			}
			break
		}
	}
	if err := w.exec("COMMIT"); err != nil {
		return abort(fmt.Errorf("commit: %w", err))
	}
	return nil
}
