package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
)

var concurrencyTests = []namedTest{
	{"NoLostUpdate", testNoLostUpdate},
	{"RacingCreatesOneWins", testRacingCreates},
	{"RacingDuplicateMessagesOneWins", testRacingMessages},
	{"IndependentOutcomes", testIndependentOutcomes},
	{"InboxCursorMissesNothing", testInboxCursor},
}

// counter is the body the read-modify-write tests increment.
type counter struct {
	N       int      `json:"n"`
	Writers []string `json:"writers,omitempty"`
}

// increment is how every caller of the store changes a record: read it in
// the transaction, change it, write it back conditional on the SCN read.
func increment(t *testing.T, tx store.Tx, key string) error {
	r, err := tx.Record(ctx(t), key)
	if err != nil {
		return err
	}
	var c counter
	if err := json.Unmarshal(r.Data, &c); err != nil {
		return fmt.Errorf("record %s body: %w", key, err)
	}
	c.N++
	prev := r.SCN
	r.SCN++
	if r.Data, err = json.Marshal(c); err != nil {
		return err
	}
	return tx.PutRecord(ctx(t), r, prev)
}

func testNoLostUpdate(t *testing.T, s store.Store) {
	const goroutines, each = 16, 12
	r := newRecord(t)
	r.Data = []byte(`{"n":0}`)
	update(t, s, func(tx store.Tx) error { return tx.PutRecord(ctx(t), r, 0) })

	var wg sync.WaitGroup
	var acked atomic.Int32
	for range goroutines {
		wg.Go(func() {
			for range each {
				if err := s.Update(ctx(t), func(tx store.Tx) error { return increment(t, tx, r.Key) }); err != nil {
					t.Errorf("increment: %v", err)
					return
				}
				acked.Add(1)
			}
		})
	}
	wg.Wait()
	got, err := getRecord(t, s, r.Key)
	if err != nil {
		t.Fatal(err)
	}
	var c counter
	if err := json.Unmarshal(got.Data, &c); err != nil {
		t.Fatal(err)
	}
	want := int(acked.Load())
	if c.N != want || got.SCN != int64(want)+1 {
		t.Fatalf("after %d acknowledged increments: counter %d, SCN %d; want %d and %d (a lost or doubled update)",
			want, c.N, got.SCN, want, want+1)
	}
}

func testRacingCreates(t *testing.T, s store.Store) {
	const racers = 8
	for round := range 5 {
		r := newRecord(t)
		errLost := errors.New("someone else created it first")
		var wg sync.WaitGroup
		results := make([]error, racers)
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-start
				attempt := 0
				results[i] = s.Update(ctx(t), func(tx store.Tx) error {
					attempt++
					// On a retry, look first, as the create interaction does
					// ("duplicate prescription" rather than a second create).
					if attempt > 1 {
						if _, err := tx.Record(ctx(t), r.Key); err == nil {
							return errLost
						}
					}
					mine := r
					mine.Data = []byte(fmt.Sprintf(`{"winner":%d}`, i))
					return tx.PutRecord(ctx(t), mine, 0)
				})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range results {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: racers %d and %d both created %s", round, winner, i, r.Key)
				}
				winner = i
			case errors.Is(err, errLost), errors.Is(err, store.ErrConflict):
			default:
				t.Fatalf("round %d: racer %d: unexpected error %v", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no racer created %s", round, r.Key)
		}
		got, err := getRecord(t, s, r.Key)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`{"winner":%d}`, winner); string(got.Data) != want {
			t.Fatalf("round %d: stored %s, but the racer told it won was %d", round, got.Data, winner)
		}
	}
}

func testRacingMessages(t *testing.T, s store.Store) {
	const racers = 8
	m := sampleMessage("A1B2C3-A83008-0F0F0", at(0))
	var wg sync.WaitGroup
	results := make([]error, racers)
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			mine := m
			mine.Raw = []byte(fmt.Sprintf("<copy n='%d'/>", i))
			results[i] = s.Update(ctx(t), func(tx store.Tx) error { return tx.PutMessage(ctx(t), mine) })
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range results {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("racers %d and %d both stored message %s", winner, i, m.ID)
			}
			winner = i
		case errors.Is(err, store.ErrDuplicate):
		default:
			t.Fatalf("racer %d: %v, want nil or ErrDuplicate", i, err)
		}
	}
	got, err := getMessage(t, s, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if winner < 0 || string(got.Raw) != fmt.Sprintf("<copy n='%d'/>", winner) {
		t.Fatalf("stored %q; winner %d", got.Raw, winner)
	}
}

// testIndependentOutcomes: many concurrent Updates, some failing, one
// panicking; each succeeds or fails on its own, as if alone (a backend that
// commits them together must not let one spoil another).
func testIndependentOutcomes(t *testing.T, s store.Store) {
	const n = 48
	recs := make([]store.Record, n)
	for i := range recs {
		recs[i] = newRecord(t)
	}
	results := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			defer func() {
				if p := recover(); p != nil {
					results[i] = fmt.Errorf("panic: %v", p)
				}
			}()
			results[i] = s.Update(ctx(t), func(tx store.Tx) error {
				if err := tx.PutRecord(ctx(t), recs[i], 0); err != nil {
					return err
				}
				if err := tx.PutMessage(ctx(t), sampleMessage(recs[i].Key, at(0))); err != nil {
					return err
				}
				switch i % 4 {
				case 1:
					return errBoom
				case 3:
					if i == 3 {
						panic("boom")
					}
				}
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	wantRecords := 0
	for i, err := range results {
		_, gerr := getRecord(t, s, recs[i].Key)
		switch {
		case i%4 == 1:
			mustErr(t, err, errBoom, fmt.Sprintf("update %d", i))
			if !errors.Is(gerr, store.ErrNotFound) {
				t.Errorf("update %d failed but its record is there", i)
			}
		case i == 3:
			if err == nil || err.Error() != "panic: boom" {
				t.Errorf("update %d: %v, want its panic", i, err)
			}
			if !errors.Is(gerr, store.ErrNotFound) {
				t.Errorf("update %d panicked but its record is there", i)
			}
		default:
			wantRecords++
			if err != nil || gerr != nil {
				t.Errorf("update %d: %v; read back: %v", i, err, gerr)
			}
		}
	}
	if c := counts(t, s); c.Records != wantRecords || c.Messages != wantRecords {
		t.Errorf("Counts: %d records, %d messages; want %d of each", c.Records, c.Messages, wantRecords)
	}
}

// testInboxCursorMissesNothing: a client polls the inbox with "after the last
// Seq I saw" while messages arrive concurrently. It must see every one: a Seq
// may only become visible once no smaller Seq can still appear.
func testInboxCursor(t *testing.T, s store.Store) {
	const writers, each = 6, 15
	stop := make(chan struct{})
	seen := map[string]bool{}
	var pollErr error
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		var cursor int64
		for last := false; ; {
			select {
			case <-stop:
				last = true
			default:
			}
			err := s.View(ctx(t), func(tx store.ReadTx) error {
				items, err := tx.Inbox(ctx(t), cursor, "", 0)
				for _, it := range items {
					if it.Seq <= cursor {
						return fmt.Errorf("Inbox(after %d) returned Seq %d", cursor, it.Seq)
					}
					seen[it.MessageID] = true
					cursor = it.Seq
				}
				return err
			})
			if err != nil {
				pollErr = err
				return
			}
			if last {
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sent []string
	for range writers {
		wg.Go(func() {
			for range each {
				it := inboxItem(1)
				it.MessageID = ids.NewUUID()
				err := s.Update(ctx(t), func(tx store.Tx) error {
					_, err := tx.PutInbox(ctx(t), it)
					return err
				})
				if err != nil {
					t.Errorf("PutInbox: %v", err)
					return
				}
				mu.Lock()
				sent = append(sent, it.MessageID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	<-polled
	if pollErr != nil {
		t.Fatal(pollErr)
	}
	missed := 0
	for _, id := range sent {
		if !seen[id] {
			missed++
		}
	}
	if missed > 0 {
		t.Fatalf("a client polling by Seq missed %d of %d inbox items", missed, len(sent))
	}
}
