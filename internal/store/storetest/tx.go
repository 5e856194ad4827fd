package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
)

var txTests = []namedTest{
	{"FnErrorRollsBackEverything", testFnErrorRollsBack},
	{"PanicRollsBackAndReachesCaller", testPanicRollsBack},
	{"RetriesFnOnConflict", testRetryOnConflict},
	{"RetryRereadsAfterStaleRead", testRetryAfterStaleRead},
	{"GivesUpOnEndlessConflict", testGiveUpOnConflict},
	{"OtherErrorsNotRetried", testOtherErrorsNotRetried},
	{"ExpectedErrorsKeepTxUsable", testExpectedErrorsKeepTxUsable},
	{"SeesOwnWrites", testSeesOwnWrites},
	{"ViewSeesOnlyCommitted", testViewSeesOnlyCommitted},
	{"ViewIsOneSnapshot", testViewSnapshot},
	{"TxUnusableAfterFnReturns", testTxAfterReturn},
	{"CancelledContext", testCancelledContext},
	{"UnstorableTextRefusedCleanly", testUnstorableText},
}

// testUnstorableText: text from the wire can be anything. A key or field
// that is not valid UTF-8, or holds NUL, is refused as ErrInvalid (or found
// absent, for a lookup) on every backend, without spoiling the transaction.
func testUnstorableText(t *testing.T, s store.Store) {
	bad := []string{"\xff\xfe", "ok\x00nul", "A83008\xc3\x28"}
	fresh := newRecord(t)
	update(t, s, func(tx store.Tx) error {
		c := ctx(t)
		for _, b := range bad {
			r := newRecord(t)
			r.Index.NHSNumber = b
			writes := map[string]error{
				"record key":       tx.PutRecord(c, store.Record{Key: b, SCN: 1}, 0),
				"record index":     tx.PutRecord(c, r, 0),
				"message ID":       tx.PutMessage(c, store.Message{ID: b}),
				"message sender":   tx.PutMessage(c, store.Message{ID: ids.NewUUID(), Sender: b}),
				"outbox error":     tx.Enqueue(c, store.OutboxItem{LastError: b}),
				"receipt ID":       tx.PutReceipt(c, store.Receipt{MessageID: b}),
				"inbox message ID": func() error { _, err := tx.PutInbox(c, store.InboxItem{MessageID: b}); return err }(),
				"party ODS":        tx.PutParty(c, store.Party{Key: "P1", ODS: b}),
			}
			for what, err := range writes {
				if !errors.Is(err, store.ErrInvalid) {
					t.Errorf("%s %q: got %v, want ErrInvalid", what, b, err)
				}
			}
			lookups := map[string]error{
				"Record":       func() error { _, err := tx.Record(c, b); return err }(),
				"Message":      func() error { _, err := tx.Message(c, b); return err }(),
				"Receipt":      func() error { _, err := tx.Receipt(c, b); return err }(),
				"DeleteRecord": tx.DeleteRecord(c, b),
				"DeleteParty":  tx.DeleteParty(c, b),
			}
			for what, err := range lookups {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s(%q): got %v, want ErrNotFound", what, b, err)
				}
			}
			if got, err := tx.FindRecords(c, store.RecordQuery{NHSNumber: b}); err != nil || len(got) != 0 {
				t.Errorf("FindRecords(NHSNumber %q): %d, %v", b, len(got), err)
			}
			if got, err := tx.MessagesFor(c, b, false); err != nil || len(got) != 0 {
				t.Errorf("MessagesFor(%q): %d, %v", b, len(got), err)
			}
			if got, err := tx.Parties(c, store.PartyQuery{ASID: b}); err != nil || len(got) != 0 {
				t.Errorf("Parties(ASID %q): %d, %v", b, len(got), err)
			}
		}
		return tx.PutRecord(c, fresh, 0)
	})
	if _, err := getRecord(t, s, fresh.Key); err != nil {
		t.Fatalf("the write after refused text was not committed: %v", err)
	}
}

var errBoom = errors.New("boom: the interaction failed validation")

// writeEverything writes one row of every kind.
func writeEverything(t *testing.T, tx store.Tx) error {
	r := newRecord(t)
	if err := tx.PutRecord(ctx(t), r, 0); err != nil {
		return err
	}
	if err := tx.PutMessage(ctx(t), sampleMessage(r.Key, at(0))); err != nil {
		return err
	}
	if err := tx.Enqueue(ctx(t), outboxItem(1, at(0), time.Time{})); err != nil {
		return err
	}
	if err := tx.PutReceipt(ctx(t), store.Receipt{MessageID: ids.NewUUID(), ReceivedAt: at(0), Response: []byte("<ack/>")}); err != nil {
		return err
	}
	if _, err := tx.PutInbox(ctx(t), inboxItem(1)); err != nil {
		return err
	}
	return tx.PutParty(ctx(t), store.Party{Key: "YES-" + ids.NewUUID()[:7], ASID: "200000001285", ODS: "FCG71"})
}

func testFnErrorRollsBack(t *testing.T, s store.Store) {
	base := newRecord(t)
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), base, 0) })
	before := counts(t, s)

	err := s.Update(ctx(t), func(tx store.Tx) error {
		if err := writeEverything(t, tx); err != nil {
			return err
		}
		changed := base
		changed.SCN, changed.Data = 2, []byte(`{"changed":true}`)
		if err := tx.PutRecord(ctx(t), changed, 1); err != nil {
			return err
		}
		if err := tx.DeleteRecord(ctx(t), base.Key); err != nil {
			return err
		}
		return fmt.Errorf("apply dispense notification: %w", errBoom)
	})
	mustErr(t, err, errBoom, "Update whose fn failed")
	if d := sameCounts(before, counts(t, s)); d != "" {
		t.Fatalf("a failed fn left rows behind (-before +after):\n%s", d)
	}
	got, err := getRecord(t, s, base.Key)
	if err != nil || !bytes.Equal(got.Data, base.Data) || got.SCN != 1 {
		t.Fatalf("a failed fn changed a record: SCN %d %q, %v", got.SCN, got.Data, err)
	}
}

func testPanicRollsBack(t *testing.T, s store.Store) {
	func() {
		defer func() {
			if p := recover(); p != "fn panicked on purpose" {
				t.Errorf("Update let through panic %v, want the fn's own", p)
			}
		}()
		_ = s.Update(ctx(t), func(tx store.Tx) error {
			if err := writeEverything(t, tx); err != nil {
				t.Errorf("write: %v", err)
			}
			panic("fn panicked on purpose")
		})
		t.Errorf("Update returned instead of panicking")
	}()
	if d := sameCounts(store.Counts{}, counts(t, s)); d != "" {
		t.Fatalf("a panicking fn left rows behind (-want +got):\n%s", d)
	}
	// The store still works.
	update(t, s, func(tx store.Tx) error { return writeEverything(t, tx) })
	if c := counts(t, s); c.Records != 1 {
		t.Fatalf("after a panic, a good Update stored %d records", c.Records)
	}
}

func testRetryOnConflict(t *testing.T, s store.Store) {
	first, second := newRecord(t), newRecord(t)
	calls := 0
	update(t, s, func(tx store.Tx) error {
		calls++
		if calls == 1 {
			if err := tx.PutRecord(ctx(t), first, 0); err != nil {
				return err
			}
			return fmt.Errorf("release: %w", store.ErrConflict)
		}
		return tx.PutRecord(ctx(t), second, 0)
	})
	if calls != 2 {
		t.Fatalf("fn ran %d times, want 2 (once more after the conflict)", calls)
	}
	if _, err := getRecord(t, s, first.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the write of the conflicting attempt was kept: %v", err)
	}
	if _, err := getRecord(t, s, second.Key); err != nil {
		t.Errorf("the write of the retried attempt is missing: %v", err)
	}
}

func testRetryAfterStaleRead(t *testing.T, s store.Store) {
	r := newRecord(t)
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), r, 0) })
	stale, err := getRecord(t, s, r.Key) // SCN 1
	if err != nil {
		t.Fatal(err)
	}
	// Someone else moves the record on.
	bumped := stale
	bumped.SCN, bumped.Data = 2, []byte(`{"by":"other"}`)
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), bumped, 1) })

	calls := 0
	update(t, s, func(tx store.Tx) error {
		calls++
		cur := stale
		if calls > 1 { // read again, as a real caller does on every attempt
			var err error
			if cur, err = tx.Record(ctx(t), r.Key); err != nil {
				return err
			}
		}
		next := cur
		next.SCN, next.Data = cur.SCN+1, append(bytes.Clone(cur.Data), '+')
		return tx.PutRecord(ctx(t), next, cur.SCN)
	})
	got, err := getRecord(t, s, r.Key)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || got.SCN != 3 || string(got.Data) != `{"by":"other"}+` {
		t.Fatalf("after %d calls: SCN %d, data %q; want 2 calls, SCN 3 and the other writer's data kept", calls, got.SCN, got.Data)
	}
}

func testGiveUpOnConflict(t *testing.T, s store.Store) {
	calls := 0
	start := time.Now()
	err := s.Update(ctx(t), func(tx store.Tx) error {
		calls++
		return store.ErrConflict
	})
	mustErr(t, err, store.ErrConflict, "Update whose fn always conflicts")
	if calls < 2 || calls > 100 {
		t.Errorf("fn ran %d times; want a bounded retry (more than once, at most 100)", calls)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("giving up took %v", d)
	}
}

func testOtherErrorsNotRetried(t *testing.T, s store.Store) {
	for _, e := range []error{errBoom, store.ErrDuplicate, store.ErrNotFound} {
		calls := 0
		err := s.Update(ctx(t), func(tx store.Tx) error {
			calls++
			return fmt.Errorf("wrapped: %w", e)
		})
		mustErr(t, err, e, "Update whose fn fails")
		if calls != 1 {
			t.Errorf("%v: fn ran %d times, want once", e, calls)
		}
	}
}

// testExpectedErrorsKeepTxUsable: a caller may meet ErrConflict, ErrDuplicate
// or ErrNotFound inside its fn, handle it, and carry on; the transaction must
// still commit what follows.
func testExpectedErrorsKeepTxUsable(t *testing.T, s store.Store) {
	existing := newRecord(t)
	msg := sampleMessage(existing.Key, at(0))
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutRecord(ctx(t), existing, 0); err != nil {
			return err
		}
		return tx.PutMessage(ctx(t), msg)
	})
	fresh := newRecord(t)
	update(t, s, func(tx store.Tx) error {
		c := ctx(t)
		checks := []struct {
			what string
			err  error
			want error
		}{
			{"create existing", tx.PutRecord(c, existing, 0), store.ErrConflict},
			{"stale update", tx.PutRecord(c, store.Record{Key: existing.Key, SCN: 9}, 8), store.ErrConflict},
			{"duplicate message", tx.PutMessage(c, msg), store.ErrDuplicate},
			{"read missing record", func() error { _, err := tx.Record(c, fresh.Key); return err }(), store.ErrNotFound},
			{"read missing message", func() error { _, err := tx.Message(c, ids.NewUUID()); return err }(), store.ErrNotFound},
			{"delete missing party", tx.DeleteParty(c, "NOBODY"), store.ErrNotFound},
			{"update missing outbox item", tx.UpdateOutbox(c, store.OutboxItem{ID: "X", State: store.OutboxDone}), store.ErrNotFound},
			{"set missing inbox state", tx.SetInboxState(c, 424242, store.InboxDelivered), store.ErrNotFound},
			{"invalid record", tx.PutRecord(c, store.Record{}, 0), store.ErrInvalid},
		}
		for _, ch := range checks {
			if !errors.Is(ch.err, ch.want) {
				t.Errorf("%s: got %v, want %v", ch.what, ch.err, ch.want)
			}
		}
		return tx.PutRecord(c, fresh, 0)
	})
	if _, err := getRecord(t, s, fresh.Key); err != nil {
		t.Fatalf("the write after handled errors was not committed: %v", err)
	}
}

func testSeesOwnWrites(t *testing.T, s store.Store) {
	r := newRecord(t)
	m := sampleMessage(r.Key, at(0))
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutRecord(ctx(t), r, 0); err != nil {
			return err
		}
		got, err := tx.Record(ctx(t), r.Key)
		if err != nil {
			return fmt.Errorf("read own create: %w", err)
		}
		got.SCN, got.Data = 2, []byte(`{"v":2}`)
		if err := tx.PutRecord(ctx(t), got, 1); err != nil {
			return fmt.Errorf("update own create: %w", err)
		}
		if err := tx.PutMessage(ctx(t), m); err != nil {
			return err
		}
		if err := tx.PutMessage(ctx(t), m); !errors.Is(err, store.ErrDuplicate) {
			return fmt.Errorf("second PutMessage in the same tx: %v, want ErrDuplicate", err)
		}
		found, err := tx.FindRecords(ctx(t), store.RecordQuery{NHSNumber: r.Index.NHSNumber})
		if err != nil || len(found) != 1 || found[0].SCN != 2 {
			return fmt.Errorf("find records in the writing tx: %d found, %v", len(found), err)
		}
		c, err := tx.Counts(ctx(t))
		if err != nil || c.Records != 1 || c.Messages != 1 {
			return fmt.Errorf("counts in the writing tx: %+v, %v", c, err)
		}
		return nil
	})
}

func testViewSeesOnlyCommitted(t *testing.T, s store.Store) {
	r := newRecord(t)
	written, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), func(tx store.Tx) error {
			if err := tx.PutRecord(ctx(t), r, 0); err != nil {
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	select {
	case <-written:
	case err := <-done:
		t.Fatalf("Update ended early: %v", err)
	}
	_, err := getRecord(t, s, r.Key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("View saw a write not yet committed: %v", err)
	}
	if c := counts(t, s); c.Records != 0 {
		t.Errorf("Counts saw %d uncommitted records", c.Records)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := getRecord(t, s, r.Key); err != nil {
		t.Errorf("View does not see the committed write: %v", err)
	}
}

func testViewSnapshot(t *testing.T, s store.Store) {
	r := newRecord(t)
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), r, 0) })
	view(t, s, func(tx store.ReadTx) error {
		first, err := tx.Record(ctx(t), r.Key)
		if err != nil {
			return err
		}
		// Another writer commits a change and a new record meanwhile.
		next := first
		next.SCN = 2
		other := newRecord(t)
		update(t, s, func(wtx store.Tx) error {
			if err := wtx.PutRecord(ctx(t), next, 1); err != nil {
				return err
			}
			return wtx.PutRecord(ctx(t), other, 0)
		})
		again, err := tx.Record(ctx(t), r.Key)
		if err != nil {
			return err
		}
		if again.SCN != first.SCN {
			t.Errorf("one View read SCN %d, then %d: not one snapshot", first.SCN, again.SCN)
		}
		if _, err := tx.Record(ctx(t), other.Key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("View saw a record committed after it began: %v", err)
		}
		return nil
	})
}

func testTxAfterReturn(t *testing.T, s store.Store) {
	var kept store.Tx
	update(t, s, func(tx store.Tx) error { kept = tx; return nil })
	r := newRecord(t)
	if err := kept.PutRecord(ctx(t), r, 0); err == nil {
		t.Errorf("a tx used after its Update returned accepted a write")
	}
	if _, err := getRecord(t, s, r.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a write through a finished tx was stored: %v", err)
	}
}

func testCancelledContext(t *testing.T, s store.Store) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := s.Update(c, func(tx store.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a cancelled context: %v, want context.Canceled", err)
	}
	if ran {
		t.Errorf("Update ran fn under a cancelled context")
	}
	if err := s.View(c, func(tx store.ReadTx) error { _, err := tx.Counts(c); return err }); err == nil {
		t.Errorf("View with a cancelled context succeeded")
	}
	// The store is unharmed.
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), newRecord(t), 0) })
}
