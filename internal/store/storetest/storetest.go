// Package storetest is the contract every store backend must meet. A
// backend's tests call Run with a function that opens a fresh, empty store on
// a real database; Run checks every method of store.Store against what its
// callers rely on: optimistic locking by SCN, replay detection by message ID,
// byte-exact bodies, query order, the outbox, receipts, inbox and directory,
// rollback of a failed function, and no lost update under concurrency.
//
// Durability checks a backend keeps everything across a close and reopen;
// BenchmarkUpdate is the shared write workload for benchmarks.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
)

// Run runs the contract suite against the backend open opens. open must
// return a fresh, empty store on a real database and be safe to call from
// parallel tests: subtests run in parallel, each on its own store. Run closes
// every store it gets (Close may be called more than once); anything else
// open sets up should be released with t.Cleanup, not defer.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []namedTest
	}{
		{"Records", recordTests},
		{"FindRecords", findTests},
		{"Messages", messageTests},
		{"Outbox", outboxTests},
		{"Receipts", receiptTests},
		{"Inbox", inboxTests},
		{"Parties", partyTests},
		{"Transactions", txTests},
		{"Concurrency", concurrencyTests},
		{"Lifecycle", lifecycleTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := open(t)
					t.Cleanup(func() { _ = s.Close() })
					tc.fn(t, s)
				})
			}
		})
	}
}

type namedTest struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// ctx is the context for test operations: long enough for a slow CI machine,
// short enough that a hang fails rather than stalls.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// update runs fn and fails the test if Update fails.
func update(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(ctx(t), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn and fails the test if View fails.
func view(t *testing.T, s store.Store, fn func(tx store.ReadTx) error) {
	t.Helper()
	if err := s.View(ctx(t), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// mustErr fails unless err is (or wraps) want.
func mustErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// diff compares as callers would: times by instant, nil and empty alike.
func diff(want, got any) string {
	return cmp.Diff(want, got, cmpOptions)
}

var cmpOptions = cmp.Options{
	// Bodies are compared whole (cmp's element-by-element walk of a 4 MiB
	// body takes seconds), nil equal to empty.
	cmp.Comparer(bytes.Equal),
	// Other empty slices and maps: nil equal to empty, as cmpopts.EquateEmpty
	// does, but leaving []byte to the comparer above.
	cmp.FilterValues(func(x, y any) bool { return emptyNonBytes(x) && emptyNonBytes(y) },
		cmp.Comparer(func(_, _ any) bool { return true })),
}

func emptyNonBytes(v any) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice:
		return rv.Type().Elem().Kind() != reflect.Uint8 && rv.Len() == 0
	case reflect.Map:
		return rv.Len() == 0
	}
	return false
}

// t0 is a fixed instant with sub-microsecond digits, so the suite checks that
// backends keep times to the microsecond and no finer (what PostgreSQL keeps).
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("BST", 3600))

// at returns t0 plus d, as stored: truncated to the microsecond, in UTC.
func at(d time.Duration) time.Time { return t0.Add(d).Truncate(time.Microsecond).UTC() }

// newID returns a fresh short-form prescription ID and its record key.
func newID(t testing.TB, ods string) (id, key string) {
	t.Helper()
	id, err := ids.NewShortID(ods)
	if err != nil {
		t.Fatalf("new prescription ID: %v", err)
	}
	return id, ids.ShortIDKey(id)
}

// newRecord returns a record at SCN 1 with every index field set.
func newRecord(t testing.TB) store.Record {
	t.Helper()
	id, key := newID(t, "A83008")
	return store.Record{
		Key:  key,
		SCN:  1,
		Data: []byte(fmt.Sprintf(`{"prescription":{"prescriptionID":%q},"SCN":1}`, id)),
		Index: store.Index{
			PrescriptionID: id,
			NHSNumber:      "9449304130",
			Status:         "0001",
			TreatmentType:  "0001",
			NominatedODS:   "FCG71",
			DispenserODS:   "",
			PrescriberODS:  "A83008",
			NextActivity:   "expire",
			NextActivityAt: "20250914",
			CreatedAt:      at(0),
			UpdatedAt:      at(0),
		},
	}
}

// getRecord reads a record in its own View.
func getRecord(t *testing.T, s store.Store, key string) (store.Record, error) {
	t.Helper()
	var r store.Record
	err := s.View(ctx(t), func(tx store.ReadTx) error {
		var err error
		r, err = tx.Record(ctx(t), key)
		return err
	})
	return r, err
}

func counts(t *testing.T, s store.Store) store.Counts {
	t.Helper()
	var c store.Counts
	view(t, s, func(tx store.ReadTx) error {
		var err error
		c, err = tx.Counts(ctx(t))
		return err
	})
	return c
}

// sameCounts compares counts, treating a state missing from a map like a
// state counted at zero.
func sameCounts(want, got store.Counts) string {
	norm := func(c store.Counts) store.Counts {
		out := c
		out.Outbox, out.Inbox = map[store.OutboxState]int{}, map[store.InboxState]int{}
		for k, v := range c.Outbox {
			if v != 0 {
				out.Outbox[k] = v
			}
		}
		for k, v := range c.Inbox {
			if v != 0 {
				out.Inbox[k] = v
			}
		}
		return out
	}
	return diff(norm(want), norm(got))
}
