package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/store"
)

var findTests = []namedTest{
	{"EachField", testFindEachField},
	{"NominatedReleaseOrder", testFindNominatedRelease},
	{"DueBy", testFindDueBy},
	{"Limit", testFindLimit},
	{"NoMatch", testFindNoMatch},
}

// findSet is a set of records that differ in every queried field, created in
// an order that is neither prescription ID nor creation order, so that each
// ordering rule is visible.
func findSet(t *testing.T, s store.Store) []store.Record {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	nhs := []string{"9449304130", "9449310394", "9449306680"}
	nominated := []string{"FCG71", "FH542", ""}
	status := []string{"0001", "0002", "0006", "0001"}
	prescriber := []string{"A83008", "Y90001"}
	dispenser := []string{"", "FCG71", "FH542"}
	next := []struct{ activity, date string }{{"expire", "20250914"}, {"", ""}, {"ready", "20250401"},
		{"delete", "20250401"}, {"createNoClaim", "20251231"}, {"expire", "20250315"}}
	var all []store.Record
	for i := range 36 {
		id, key := newID(t, prescriber[i%2])
		created := at(time.Duration(rng.IntN(1000)) * time.Minute)
		all = append(all, store.Record{
			Key:  key,
			SCN:  1,
			Data: []byte(fmt.Sprintf(`{"n":%d}`, i)),
			Index: store.Index{
				PrescriptionID: id,
				NHSNumber:      nhs[i%3],
				Status:         status[i%4],
				TreatmentType:  "0001",
				NominatedODS:   nominated[(i/3)%3],
				DispenserODS:   dispenser[(i/2)%3],
				PrescriberODS:  prescriber[(i/5)%2],
				NextActivity:   next[i%6].activity,
				NextActivityAt: next[i%6].date,
				CreatedAt:      created,
				UpdatedAt:      created,
			},
		})
	}
	// Two records created at the same instant: the key must break the tie.
	all[7].Index.CreatedAt = all[8].Index.CreatedAt
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	// Several transactions, so that row order on disk is not creation order.
	for chunk := range slices.Chunk(all, 10) {
		update(t, s, func(tx store.Tx) error {
			for _, r := range chunk {
				if err := tx.PutRecord(ctx(t), r, 0); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return all
}

// expect is the reference answer to q over all, written from the
// documentation of store.RecordQuery.
func expect(all []store.Record, q store.RecordQuery) []store.Record {
	var out []store.Record
	for _, r := range all {
		x := r.Index
		if (q.NHSNumber != "" && x.NHSNumber != q.NHSNumber) ||
			(q.NominatedODS != "" && x.NominatedODS != q.NominatedODS) ||
			(q.Status != "" && x.Status != q.Status) ||
			(q.PrescriberODS != "" && x.PrescriberODS != q.PrescriberODS) ||
			(q.DispenserODS != "" && x.DispenserODS != q.DispenserODS) ||
			(q.DueBy != "" && (x.NextActivityAt == "" || x.NextActivityAt > q.DueBy)) {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.Record) int {
		switch {
		case q.OrderByCreated:
			return cmp.Or(a.Index.CreatedAt.Compare(b.Index.CreatedAt), cmp.Compare(a.Key, b.Key))
		case q.DueBy != "":
			return cmp.Or(cmp.Compare(a.Index.NextActivityAt, b.Index.NextActivityAt), cmp.Compare(a.Key, b.Key))
		default:
			return cmp.Or(cmp.Compare(a.Index.PrescriptionID, b.Index.PrescriptionID), cmp.Compare(a.Key, b.Key))
		}
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func find(t *testing.T, s store.Store, q store.RecordQuery) []store.Record {
	t.Helper()
	var got []store.Record
	view(t, s, func(tx store.ReadTx) error {
		var err error
		got, err = tx.FindRecords(ctx(t), q)
		return err
	})
	return got
}

// checkFind compares FindRecords with the reference answer. It insists that
// the query selects some records but not all, so that a backend ignoring a
// filter cannot pass.
func checkFind(t *testing.T, s store.Store, all []store.Record, q store.RecordQuery) {
	t.Helper()
	want := expect(all, q)
	filters := q
	filters.OrderByCreated, filters.Limit = false, 0
	if len(want) == 0 || (len(want) == len(all) && filters != (store.RecordQuery{})) {
		t.Fatalf("test data does not exercise %+v: %d of %d records match", q, len(want), len(all))
	}
	got := find(t, s, q)
	if d := diff(want, got); d != "" {
		t.Errorf("FindRecords(%+v) (-want +got):\n%s", q, d)
	}
}

func testFindEachField(t *testing.T, s store.Store) {
	all := findSet(t, s)
	for _, q := range []store.RecordQuery{
		{},
		{NHSNumber: "9449310394"},
		{NominatedODS: "FH542"},
		{Status: "0002"},
		{PrescriberODS: "Y90001"},
		{DispenserODS: "FCG71"},
		{NHSNumber: "9449304130", Status: "0001"},
		{PrescriberODS: "A83008", DispenserODS: "FH542", NominatedODS: "FCG71"},
		{OrderByCreated: true},
		{NHSNumber: "9449306680", OrderByCreated: true},
	} {
		checkFind(t, s, all, q)
	}
}

func testFindNominatedRelease(t *testing.T, s store.Store) {
	all := findSet(t, s)
	// Nominated release: the pharmacy's prescriptions ready to hand out,
	// oldest first.
	for _, q := range []store.RecordQuery{
		{NominatedODS: "FCG71", Status: "0001", OrderByCreated: true},
		{NominatedODS: "FH542", Status: "0001", OrderByCreated: true, Limit: 3},
	} {
		checkFind(t, s, all, q)
	}
	got := find(t, s, store.RecordQuery{OrderByCreated: true})
	for i := 1; i < len(got); i++ {
		a, b := got[i-1].Index.CreatedAt, got[i].Index.CreatedAt
		if a.After(b) || (a.Equal(b) && got[i-1].Key > got[i].Key) {
			t.Fatalf("OrderByCreated: %s (%v) before %s (%v)", got[i-1].Key, a, got[i].Key, b)
		}
	}
}

func testFindDueBy(t *testing.T, s store.Store) {
	all := findSet(t, s)
	for _, q := range []store.RecordQuery{
		{DueBy: "20250401"}, // the boundary date is included
		{DueBy: "20250914"},
		{DueBy: "99991231"},
		{DueBy: "20250401", PrescriberODS: "Y90001"},
		{DueBy: "20251231", Limit: 4},
	} {
		checkFind(t, s, all, q)
	}
	// Before the earliest date nothing is due, and records without a next
	// activity are never due.
	if got := find(t, s, store.RecordQuery{DueBy: "20250314"}); len(got) != 0 {
		t.Errorf("DueBy 20250314: %d records, want none", len(got))
	}
	for _, r := range find(t, s, store.RecordQuery{DueBy: "99991231"}) {
		if r.Index.NextActivityAt == "" {
			t.Errorf("record %s without a next activity date is returned as due", r.Key)
		}
	}
}

func testFindLimit(t *testing.T, s store.Store) {
	all := findSet(t, s)
	for _, q := range []store.RecordQuery{
		{Limit: 1},
		{Limit: 5},
		{NHSNumber: "9449304130", Limit: 2},
		{OrderByCreated: true, Limit: 7},
	} {
		checkFind(t, s, all, q)
	}
	if got := find(t, s, store.RecordQuery{Limit: len(all) + 10}); len(got) != len(all) {
		t.Errorf("limit above the number of records: %d, want %d", len(got), len(all))
	}
}

func testFindNoMatch(t *testing.T, s store.Store) {
	if got := find(t, s, store.RecordQuery{}); len(got) != 0 {
		t.Fatalf("empty store: FindRecords returned %d records", len(got))
	}
	findSet(t, s)
	for _, q := range []store.RecordQuery{
		{NHSNumber: "9999999999"},
		{NominatedODS: "FCG71", NHSNumber: "0000000000"},
		{Status: "9999"},
	} {
		if got := find(t, s, q); len(got) != 0 {
			t.Errorf("FindRecords(%+v): %d records, want none", q, len(got))
		}
	}
}
