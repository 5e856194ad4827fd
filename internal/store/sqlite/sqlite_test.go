package sqlite_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/sqlite"
	"github.com/openeps/openeps/internal/store/storetest"
)

func openTemp(t *testing.T, opts ...sqlite.Option) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "eps.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// Group commit off: every Update its own transaction. The contract holds
// either way.
func TestContractWithoutGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t, sqlite.WithMaxBatch(1)) })
}

func TestRestartKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eps.db")
	storetest.Durability(t, func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestOpenRefusesWhatItCannotUse(t *testing.T) {
	ctx := context.Background()
	for _, path := range []string{"", ":memory:", "file::memory:?cache=shared", filepath.Join(t.TempDir(), "no", "such", "dir", "eps.db")} {
		if db, err := sqlite.Open(ctx, path); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
	// A file that is not a database.
	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, []byte("this is not an SQLite database, just some text that is long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := sqlite.Open(ctx, junk); err == nil {
		db.Close()
		t.Errorf("Open of a text file succeeded")
	}
}

// Patient data: a new database and its WAL are readable by the owner only.
func TestNewFileIsPrivate(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	if err := db.Update(ctx, func(tx store.Tx) error {
		return tx.PutRecord(ctx, store.Record{Key: "K", SCN: 1}, 0)
	}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{db.Path(), db.Path() + "-wal"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v; others can read it", filepath.Base(f), fi.Mode().Perm())
		}
	}
}

// Paths with characters that mean something in a URI are still just paths.
func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd&chars=%20")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "eps.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at the path given: %v", err)
	}
}

// TestGroupCommitBatches: Updates that queue while the writer is busy are
// committed together, and each still gets its own outcome.
func TestGroupCommitBatches(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	hold, holding := make(chan struct{}), make(chan struct{})
	go func() {
		_ = db.Update(ctx, func(tx store.Tx) error { close(holding); <-hold; return nil })
	}()
	<-holding
	before := db.Stats()

	const n = 40
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Update(ctx, func(tx store.Tx) error {
				r := store.Record{Key: fmt.Sprintf("K%02d", i), SCN: 1, Data: []byte("{}")}
				if err := tx.PutRecord(ctx, r, 0); err != nil {
					return err
				}
				if i%5 == 0 {
					return fmt.Errorf("update %d refused", i)
				}
				return nil
			})
		})
	}
	// Let them all queue behind the held Update, then release it.
	deadline := time.Now().Add(10 * time.Second)
	for db.Stats().Queued < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(hold)
	wg.Wait()

	after := db.Stats()
	batches := after.Batches - before.Batches
	if after.Updates-before.Updates < n || batches > 3 {
		t.Errorf("%d queued Updates took %d batches; want them committed together", n, batches)
	}
	for i, err := range errs {
		if (i%5 == 0) != (err != nil) {
			t.Errorf("update %d: %v", i, err)
		}
	}
	var c store.Counts
	if err := db.View(ctx, func(tx store.ReadTx) error { var err error; c, err = tx.Counts(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	if c.Records != n-n/5 {
		t.Errorf("%d records committed, want %d", c.Records, n-n/5)
	}
}

// A test's t.Fatal inside an Update function ends that test's goroutine, not
// the store's writer.
func TestGoexitInFnLeavesStoreWorking(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = db.Update(ctx, func(tx store.Tx) error {
			_ = tx.PutRecord(ctx, store.Record{Key: "GONE", SCN: 1}, 0)
			runtime.Goexit()
			return nil
		})
	}()
	<-done
	if err := db.Update(ctx, func(tx store.Tx) error {
		_, err := tx.Record(ctx, "GONE")
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("the abandoned write is visible: %v", err)
		}
		return tx.PutRecord(ctx, store.Record{Key: "NEXT", SCN: 1}, 0)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestCrashKeepsAcknowledgedWrites kills a process that is writing (SIGKILL,
// no chance to close the file) and checks that every write it had
// acknowledged is there when the file is opened again.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if path := os.Getenv("OPENEPS_SQLITE_CRASH_CHILD"); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "eps.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedWrites$", "-test.count=1")
	cmd.Env = append(os.Environ(), "OPENEPS_SQLITE_CRASH_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 400 {
		if key, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked = append(acked, key)
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if len(acked) < 400 {
		t.Fatalf("child stopped after %d writes: %s", len(acked), stderr.String())
	}

	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("reopen after the crash: %v", err)
	}
	defer db.Close()
	ctx := context.Background()
	err = db.View(ctx, func(tx store.ReadTx) error {
		for _, key := range acked {
			if _, err := tx.Record(ctx, key); err != nil {
				return fmt.Errorf("acknowledged record: %w", err)
			}
			msgs, err := tx.MessagesFor(ctx, key, true)
			if err != nil || len(msgs) != 1 || len(msgs[0].Raw) != 20000 {
				return fmt.Errorf("acknowledged message of %s: %d messages, %v", key, len(msgs), err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// crashChild writes until killed, printing each key once its Update returned.
func crashChild(path string) {
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	raw := []byte(strings.Repeat("<x/>", 5000))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("CRASH%d-%06d", w, i)
				err := db.Update(context.Background(), func(tx store.Tx) error {
					if err := tx.PutRecord(context.Background(), store.Record{Key: key, SCN: 1, Data: []byte(`{}`)}, 0); err != nil {
						return err
					}
					return tx.PutMessage(context.Background(), store.Message{ID: ids.NewUUID(), RecordKey: key, Raw: raw})
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Printf("acked %s\n", key)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
