package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/store"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "eps.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// The settings durability depends on are in force on the writer, and the
// readers cannot write.
func TestPragmas(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := db.writer.conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("writer PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	if _, err := db.readDB.ExecContext(ctx, "CREATE TABLE sneaky (x)"); err == nil {
		t.Errorf("a reader connection could write")
	}
}

// Bodies are stored compressed and come back whole.
func TestBodiesStoredCompressed(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	raw := bytes.Repeat([]byte(`<pertinentInformation2><pertinentLineItem><id root="A54219B8-F741-4C47-B662-E4F8DFA49AB6"/></pertinentLineItem></pertinentInformation2>`), 200)
	if err := db.Update(ctx, func(tx store.Tx) error {
		return tx.PutMessage(ctx, store.Message{ID: "M1", Raw: raw, Response: raw[:500]})
	}); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	if err := db.readDB.QueryRowContext(ctx, "SELECT raw FROM messages WHERE id = 'M1'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) > len(raw)/5 {
		t.Errorf("a %d-byte body takes %d bytes on disk; it is not compressed", len(raw), len(stored))
	}
}

// When the batch transaction itself breaks, every function in it is run
// again on its own, so the ones that did nothing wrong still commit.
func TestBrokenBatchFallsBackToSingleTransactions(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	hold, holding := make(chan struct{}), make(chan struct{})
	go func() {
		_ = db.Update(ctx, func(tx store.Tx) error { close(holding); <-hold; return nil })
	}()
	<-holding

	const n = 12
	errs := make([]error, n)
	calls := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Update(ctx, func(tx store.Tx) error {
				calls[i]++
				if err := tx.PutRecord(ctx, store.Record{Key: fmt.Sprintf("R%02d", i), SCN: 1}, 0); err != nil {
					return err
				}
				if i == 5 {
					// What an I/O error does to SQLite: the whole
					// transaction is gone, savepoints and all.
					if _, err := db.writer.conn.ExecContext(ctx, "ROLLBACK"); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
	for db.Stats().Queued < n {
		time.Sleep(time.Millisecond)
	}
	close(hold)
	wg.Wait()

	for i, err := range errs {
		_, rerr := recordOf(t, db, fmt.Sprintf("R%02d", i))
		if i == 5 {
			if err == nil {
				t.Errorf("the update that broke its transaction reported success")
			}
			continue
		}
		if err != nil || rerr != nil {
			t.Errorf("update %d (innocent) failed: %v; read back: %v", i, err, rerr)
		}
		if calls[i] > 2 {
			t.Errorf("update %d ran %d times", i, calls[i])
		}
	}
}

func recordOf(t *testing.T, db *DB, key string) (store.Record, error) {
	var r store.Record
	err := db.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		r, err = tx.Record(context.Background(), key)
		return err
	})
	return r, err
}
