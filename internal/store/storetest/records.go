package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/store"
)

var recordTests = []namedTest{
	{"RoundTrip", testRecordRoundTrip},
	{"CreateOnlyIfAbsent", testCreateOnlyIfAbsent},
	{"UpdateOnlyIfSCNMatches", testUpdateOnlyIfSCNMatches},
	{"InvalidWrites", testInvalidRecordWrites},
	{"NotFound", testRecordNotFound},
	{"DeleteRemovesRecordAndMessages", testDeleteRecord},
}

func testRecordRoundTrip(t *testing.T, s store.Store) {
	r := newRecord(t)
	// Times are given in another zone with nanoseconds; they come back in UTC
	// to the microsecond.
	r.Index.CreatedAt = t0
	r.Index.UpdatedAt = t0.Add(90 * time.Minute)
	r.Index.DispenserODS = "FH542"
	r.Index.TreatmentType = "0003"
	r.Data = append([]byte{0, 0xff, 0xfe, '\n'}, bytes.Repeat([]byte(`{"x":"é"}`), 500)...)
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), r, 0) })

	got, err := getRecord(t, s, r.Key)
	if err != nil {
		t.Fatal(err)
	}
	want := r
	want.Index.CreatedAt = at(0)
	want.Index.UpdatedAt = at(90 * time.Minute)
	if d := diff(want, got); d != "" {
		t.Fatalf("record read back differs (-want +got):\n%s", d)
	}
	if got.Index.CreatedAt.Location() != time.UTC || got.Index.UpdatedAt.Location() != time.UTC {
		t.Errorf("times come back in %v and %v, want UTC", got.Index.CreatedAt.Location(), got.Index.UpdatedAt.Location())
	}
	// The same inside the writing transaction.
	update(t, s, func(tx store.Tx) error {
		got, err := tx.Record(ctx(t), r.Key)
		if err != nil {
			return err
		}
		if d := diff(want, got); d != "" {
			t.Errorf("record read in Update differs (-want +got):\n%s", d)
		}
		return nil
	})
}

func testCreateOnlyIfAbsent(t *testing.T, s store.Store) {
	r := newRecord(t)
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), r, 0) })

	second := r
	second.Data = []byte(`{"second":true}`)
	second.Index.Status = "0002"
	err := s.Update(ctx(t), func(tx store.Tx) error { return tx.PutRecord(ctx(t), second, 0) })
	mustErr(t, err, store.ErrConflict, "second create of the same key")

	got, err := getRecord(t, s, r.Key)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(r, got); d != "" {
		t.Fatalf("a refused create changed the record (-want +got):\n%s", d)
	}
}

func testUpdateOnlyIfSCNMatches(t *testing.T, s store.Store) {
	r := newRecord(t)
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), r, 0) })

	v2 := r
	v2.SCN, v2.Data, v2.Index.Status = 2, []byte(`{"v":2}`), "0002"
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), v2, 1) })

	// SCN may jump by more than one (a placeholder overwritten by a real
	// prescription takes stored SCN + 2).
	v4 := v2
	v4.SCN, v4.Data = 4, []byte(`{"v":4}`)
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), v4, 2) })

	stale := v2
	stale.SCN, stale.Data = 3, []byte(`{"stale":true}`)
	for _, prev := range []int64{1, 2, 3, 5} {
		err := s.Update(ctx(t), func(tx store.Tx) error {
			s := stale
			s.SCN = max(prev+1, stale.SCN)
			return tx.PutRecord(ctx(t), s, prev)
		})
		mustErr(t, err, store.ErrConflict, fmt.Sprintf("update with previous SCN %d over stored SCN 4", prev))
	}
	// An update of a record that does not exist is a conflict too: someone
	// deleted it since it was read.
	ghost := newRecord(t)
	ghost.SCN = 2
	err := s.Update(ctx(t), func(tx store.Tx) error { return tx.PutRecord(ctx(t), ghost, 1) })
	mustErr(t, err, store.ErrConflict, "update of a record that is not there")
	if _, err := getRecord(t, s, ghost.Key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused update created the record: %v", err)
	}

	got, err := getRecord(t, s, r.Key)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(v4, got); d != "" {
		t.Fatalf("record after refused updates (-want +got):\n%s", d)
	}
}

func testInvalidRecordWrites(t *testing.T, s store.Store) {
	r := newRecord(t)
	cases := []struct {
		name string
		r    store.Record
		prev int64
	}{
		{"empty key", store.Record{SCN: 1}, 0},
		{"SCN not above the previous", func() store.Record { x := r; x.SCN = 3; return x }(), 3},
		{"SCN zero on create", func() store.Record { x := r; x.SCN = 0; return x }(), 0},
		{"negative previous SCN", func() store.Record { x := r; x.SCN = 1; return x }(), -1},
	}
	for _, c := range cases {
		calls := 0
		err := s.Update(ctx(t), func(tx store.Tx) error {
			calls++
			return tx.PutRecord(ctx(t), c.r, c.prev)
		})
		mustErr(t, err, store.ErrInvalid, c.name)
		if errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: reported as a conflict too, which callers would retry", c.name)
		}
		if calls != 1 {
			t.Errorf("%s: fn ran %d times; an invalid write must not be retried", c.name, calls)
		}
	}
	if c := counts(t, s); c.Records != 0 {
		t.Fatalf("invalid writes stored %d records", c.Records)
	}
}

func testRecordNotFound(t *testing.T, s store.Store) {
	_, key := newID(t, "A83008")
	_, err := getRecord(t, s, key)
	mustErr(t, err, store.ErrNotFound, "Record of an unknown key")
	err = s.Update(ctx(t), func(tx store.Tx) error {
		_, err := tx.Record(ctx(t), key)
		return err
	})
	mustErr(t, err, store.ErrNotFound, "Record of an unknown key inside Update")
}

func testDeleteRecord(t *testing.T, s store.Store) {
	doomed, kept := newRecord(t), newRecord(t)
	msgs := []store.Message{
		{ID: "5B2E4A0C-1111-4F3A-9D1E-000000000001", Interaction: "PORX_IN020101SM31", RecordKey: doomed.Key, ReceivedAt: at(0), Raw: []byte("<create/>")},
		{ID: "5B2E4A0C-1111-4F3A-9D1E-000000000002", Interaction: "PORX_IN080101SM31", RecordKey: doomed.Key, ReceivedAt: at(time.Hour), Raw: []byte("<dn/>")},
		{ID: "5B2E4A0C-1111-4F3A-9D1E-000000000003", Interaction: "PORX_IN020101SM31", RecordKey: kept.Key, ReceivedAt: at(0), Raw: []byte("<other/>")},
		{ID: "5B2E4A0C-1111-4F3A-9D1E-000000000004", Interaction: "PORX_IN020101SM31", RecordKey: "", ReceivedAt: at(0), Raw: []byte("<rejected/>")},
	}
	update(t, s, func(tx store.Tx) error {
		for _, r := range []store.Record{doomed, kept} {
			if err := tx.PutRecord(ctx(t), r, 0); err != nil {
				return err
			}
		}
		for _, m := range msgs {
			if err := tx.PutMessage(ctx(t), m); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteRecord(ctx(t), doomed.Key) })

	view(t, s, func(tx store.ReadTx) error {
		if _, err := tx.Record(ctx(t), doomed.Key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted record still readable: %v", err)
		}
		if got, err := tx.MessagesFor(ctx(t), doomed.Key, true); err != nil || len(got) != 0 {
			t.Errorf("messages of the deleted record: %d left, err %v", len(got), err)
		}
		for _, m := range msgs[:2] {
			if _, err := tx.Message(ctx(t), m.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("message %s of the deleted record still there: %v", m.ID, err)
			}
		}
		if _, err := tx.Record(ctx(t), kept.Key); err != nil {
			t.Errorf("the other record went too: %v", err)
		}
		for _, m := range msgs[2:] {
			if _, err := tx.Message(ctx(t), m.ID); err != nil {
				t.Errorf("message %s (not of the deleted record) went too: %v", m.ID, err)
			}
		}
		return nil
	})
	if c := counts(t, s); c.Records != 1 || c.Messages != 2 {
		t.Errorf("after delete: %d records and %d messages, want 1 and 2", c.Records, c.Messages)
	}

	err := s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteRecord(ctx(t), doomed.Key) })
	mustErr(t, err, store.ErrNotFound, "deleting a record twice")

	// Once deleted, the key can be created afresh (a late upload after purge).
	again := doomed
	again.Data = []byte(`{"again":true}`)
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), again, 0) })
	if got, err := getRecord(t, s, doomed.Key); err != nil || !bytes.Equal(got.Data, again.Data) {
		t.Fatalf("re-created record: %q, %v", got.Data, err)
	}
}
