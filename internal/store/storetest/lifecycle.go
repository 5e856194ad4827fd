package storetest

import (
	"errors"
	"testing"

	"github.com/openeps/openeps/internal/store"
)

var lifecycleTests = []namedTest{
	{"FreshStoreIsEmpty", testFreshStore},
	{"Ping", testPing},
	{"UseAfterClose", testUseAfterClose},
}

func testFreshStore(t *testing.T, s store.Store) {
	if d := sameCounts(store.Counts{}, counts(t, s)); d != "" {
		t.Fatalf("a fresh store is not empty (-want +got):\n%s", d)
	}
	c := counts(t, s)
	if c.Outbox == nil || c.Inbox == nil {
		t.Errorf("Counts maps are nil; callers index them directly")
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping of an open store: %v", err)
	}
	update(t, s, func(tx store.Tx) error { return writeEverything(t, tx) })
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping after a write: %v", err)
	}
}

func testUseAfterClose(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error { return writeEverything(t, tx) })
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	ran := false
	err := s.Update(ctx(t), func(tx store.Tx) error { ran = true; return nil })
	mustErr(t, err, store.ErrClosed, "Update after Close")
	if ran {
		t.Errorf("Update ran fn after Close")
	}
	err = s.View(ctx(t), func(tx store.ReadTx) error { ran = true; return nil })
	mustErr(t, err, store.ErrClosed, "View after Close")
	if ran {
		t.Errorf("View ran fn after Close")
	}
	if err := s.Ping(ctx(t)); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Ping after Close: %v, want ErrClosed", err)
	}
}
