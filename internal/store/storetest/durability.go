package storetest

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
)

// Durability checks that what one store wrote is all there, unchanged, in a
// store opened afresh on the same database after the first was closed (a
// restart), and that the reopened store carries on where the first stopped.
// open is called twice and must return stores on the same database.
func Durability(t *testing.T, open func(t *testing.T) store.Store) {
	first := open(t)
	t.Cleanup(func() { _ = first.Close() })
	want := Fill(t, first)
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := open(t)
	t.Cleanup(func() { _ = second.Close() })
	if d := diff(want, Snapshot(t, second, receiptIDs(want.Receipts)...)); d != "" {
		t.Fatalf("after reopening, the store differs (-before +after):\n%s", d)
	}

	// Carry on: sequence numbers keep rising, SCN checks still hold.
	next := putInbox(t, second, inboxItem(99))
	if last := want.Inbox[len(want.Inbox)-1].Seq; next.Seq <= last {
		t.Errorf("after reopening, PutInbox returned Seq %d, not above the last before (%d)", next.Seq, last)
	}
	r := want.Records[0]
	wrong := r
	wrong.SCN = r.SCN + 6
	err := second.Update(ctx(t), func(tx store.Tx) error { return tx.PutRecord(ctx(t), wrong, r.SCN+5) })
	mustErr(t, err, store.ErrConflict, "update with the wrong SCN after reopening")
	next1 := r
	next1.SCN = r.SCN + 1
	update(t, second, func(tx store.Tx) error { return tx.PutRecord(ctx(t), next1, r.SCN) })
}

// State is everything a store holds, as read through its interface.
type State struct {
	Records  []store.Record
	Messages map[string][]store.Message // by record key, with bodies
	Outbox   []store.OutboxItem
	Receipts []store.Receipt
	Inbox    []store.InboxItem
	Parties  []store.Party
	Counts   store.Counts
}

// Fill writes a bit of everything into s, large bodies included, and returns
// what s should now hold.
func Fill(t *testing.T, s store.Store) State {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	records := findSet(t, s)
	for i, r := range records[:6] {
		var msgs []store.Message
		for j := range 3 {
			m := sampleMessage(r.Key, at(time.Duration(i*10+j)*time.Minute))
			m.Raw = hl7Body(rng, 2000+rng.IntN(60000))
			msgs = append(msgs, m)
		}
		putMessages(t, s, msgs...)
	}
	putMessages(t, s, sampleMessage("", at(0)))
	items := []store.OutboxItem{outboxItem(1, at(0), time.Time{}), outboxItem(2, at(time.Second), at(time.Hour)),
		outboxItem(3, at(2*time.Second), time.Time{})}
	enqueue(t, s, items...)
	items[2].State, items[2].Attempts = store.OutboxDone, 1
	update(t, s, func(tx store.Tx) error { return tx.UpdateOutbox(ctx(t), items[2]) })
	var receipts []string
	update(t, s, func(tx store.Tx) error {
		for i := range 4 {
			r := store.Receipt{MessageID: ids.NewUUID(), FromParty: "YES-0000806", ReceivedAt: at(time.Duration(i) * time.Hour),
				ContentType: "text/xml", Response: hl7Body(rng, 3000)}
			if err := tx.PutReceipt(ctx(t), r); err != nil {
				return err
			}
			receipts = append(receipts, r.MessageID)
		}
		return nil
	})
	for i := range 5 {
		it := putInbox(t, s, inboxItem(i))
		if i%2 == 0 {
			update(t, s, func(tx store.Tx) error { return tx.SetInboxState(ctx(t), it.Seq, store.InboxDelivered) })
		}
	}
	update(t, s, func(tx store.Tx) error {
		for i := range 3 {
			p := store.Party{Key: fmt.Sprintf("YES-000080%d", i), ASID: fmt.Sprintf("20000000128%d", i), ODS: "FCG71",
				Data: []byte(fmt.Sprintf(`{"endpoint":"https://%d.example/"}`, i))}
			if err := tx.PutParty(ctx(t), p); err != nil {
				return err
			}
		}
		return nil
	})
	return Snapshot(t, s, receipts...)
}

// Snapshot reads everything s holds in one View. Receipts cannot be listed,
// so it reads those named.
func Snapshot(t *testing.T, s store.Store, receiptIDs ...string) State {
	t.Helper()
	st := State{Messages: map[string][]store.Message{}}
	view(t, s, func(tx store.ReadTx) error {
		c := ctx(t)
		var err error
		if st.Records, err = tx.FindRecords(c, store.RecordQuery{}); err != nil {
			return err
		}
		for _, key := range append([]string{""}, keys(st.Records)...) {
			msgs, err := tx.MessagesFor(c, key, true)
			if err != nil {
				return err
			}
			if len(msgs) > 0 {
				st.Messages[key] = msgs
			}
		}
		if st.Outbox, err = tx.Outbox(c, "", time.Time{}, 0); err != nil {
			return err
		}
		if st.Inbox, err = tx.Inbox(c, 0, "", 0); err != nil {
			return err
		}
		if st.Parties, err = tx.Parties(c, store.PartyQuery{}); err != nil {
			return err
		}
		for _, id := range receiptIDs {
			r, err := tx.Receipt(c, id)
			if err != nil {
				return err
			}
			st.Receipts = append(st.Receipts, r)
		}
		st.Counts, err = tx.Counts(c)
		return err
	})
	return st
}

func receiptIDs(rs []store.Receipt) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.MessageID
	}
	return out
}

func keys(rs []store.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out
}
