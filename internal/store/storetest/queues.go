package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
)

var outboxTests = []namedTest{
	{"EnqueueAndDue", testOutboxDue},
	{"DeliveryStates", testOutboxStates},
	{"AssignedIDAndDefaults", testOutboxDefaults},
	{"Errors", testOutboxErrors},
}

var receiptTests = []namedTest{
	{"RoundTripAndDuplicate", testReceipts},
	{"Prune", testPruneReceipts},
}

var inboxTests = []namedTest{
	{"SeqOrderAndFilters", testInbox},
	{"StatesAndErrors", testInboxStates},
}

func outboxItem(n int, created, next time.Time) store.OutboxItem {
	return store.OutboxItem{
		ID:            ids.NewUUID(),
		CreatedAt:     created,
		Destination:   "YES-0000806",
		Interaction:   "PORX_IN070103SM31",
		RefToMessage:  ids.NewUUID(),
		Conversation:  ids.NewUUID(),
		Body:          []byte(fmt.Sprintf(`<PORX_IN070103SM31 n="%d">%s</PORX_IN070103SM31>`, n, bytes.Repeat([]byte("<x/>"), n*50))),
		State:         store.OutboxPending,
		NextAttemptAt: next,
	}
}

func outbox(t *testing.T, s store.Store, state store.OutboxState, due time.Time, limit int) []store.OutboxItem {
	t.Helper()
	var got []store.OutboxItem
	view(t, s, func(tx store.ReadTx) error {
		var err error
		got, err = tx.Outbox(ctx(t), state, due, limit)
		return err
	})
	return got
}

func enqueue(t *testing.T, s store.Store, items ...store.OutboxItem) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, it := range items {
			if err := tx.Enqueue(ctx(t), it); err != nil {
				return err
			}
		}
		return nil
	})
}

func testOutboxDue(t *testing.T, s store.Store) {
	// Created in one order, due in another; the outbox hands out the oldest
	// first among those due.
	items := []store.OutboxItem{
		outboxItem(0, at(3*time.Minute), time.Time{}),        // due at once
		outboxItem(1, at(1*time.Minute), at(10*time.Minute)), // due at 10
		outboxItem(2, at(2*time.Minute), at(20*time.Minute)), // due at 20
		outboxItem(3, at(0), at(5*time.Minute)),              // due at 5
		outboxItem(4, at(4*time.Minute), at(60*time.Minute)), // due at 60
	}
	for _, it := range items {
		enqueue(t, s, it) // separate transactions
	}
	ordered := func(idx ...int) []store.OutboxItem {
		var out []store.OutboxItem
		for _, i := range idx {
			out = append(out, items[i])
		}
		return out
	}
	for _, c := range []struct {
		due   time.Time
		limit int
		want  []store.OutboxItem
	}{
		{time.Time{}, 0, ordered(3, 1, 2, 0, 4)}, // zero due: all, oldest first
		{at(0), 0, ordered(0)},
		{at(5 * time.Minute), 0, ordered(3, 0)}, // due exactly now is due
		{at(5*time.Minute - time.Microsecond), 0, ordered(0)},
		{at(20 * time.Minute), 0, ordered(3, 1, 2, 0)},
		{at(20 * time.Minute), 2, ordered(3, 1)},
		{at(24 * time.Hour), 1, ordered(3)},
	} {
		got := outbox(t, s, store.OutboxPending, c.due, c.limit)
		if d := diff(c.want, got); d != "" {
			t.Errorf("Outbox(pending, due %v, limit %d) (-want +got):\n%s", c.due, c.limit, d)
		}
	}
	if got := outbox(t, s, store.OutboxDone, time.Time{}, 0); len(got) != 0 {
		t.Errorf("Outbox(done) before any delivery: %d items", len(got))
	}
}

func testOutboxStates(t *testing.T, s store.Store) {
	a, b, c := outboxItem(1, at(0), time.Time{}), outboxItem(2, at(time.Second), time.Time{}), outboxItem(3, at(2*time.Second), time.Time{})
	enqueue(t, s, a, b, c)

	// a: first attempt fails, retry later; b: delivered; c: gave up.
	a.Attempts, a.NextAttemptAt, a.LastError = 1, at(time.Hour), "HTTP 503 from https://example.nhs.uk/reliablemessaging"
	b.State, b.Attempts = store.OutboxDone, 1
	c.State, c.Attempts, c.LastError = store.OutboxFailed, 5, "retries exhausted"
	update(t, s, func(tx store.Tx) error {
		for _, it := range []store.OutboxItem{a, b, c} {
			if err := tx.UpdateOutbox(ctx(t), it); err != nil {
				return err
			}
		}
		return nil
	})
	if d := diff([]store.OutboxItem{a}, outbox(t, s, store.OutboxPending, time.Time{}, 0)); d != "" {
		t.Errorf("pending after updates (-want +got):\n%s", d)
	}
	if got := outbox(t, s, store.OutboxPending, at(time.Minute), 0); len(got) != 0 {
		t.Errorf("an item rescheduled for later is handed out now: %+v", got)
	}
	if d := diff([]store.OutboxItem{b}, outbox(t, s, store.OutboxDone, time.Time{}, 0)); d != "" {
		t.Errorf("done (-want +got):\n%s", d)
	}
	if d := diff([]store.OutboxItem{c}, outbox(t, s, store.OutboxFailed, time.Time{}, 0)); d != "" {
		t.Errorf("failed (-want +got):\n%s", d)
	}
	// UpdateOutbox rewrites the delivery state only, never the message.
	tampered := b
	tampered.Body, tampered.Destination, tampered.State = []byte("<other/>"), "elsewhere", store.OutboxDone
	update(t, s, func(tx store.Tx) error { return tx.UpdateOutbox(ctx(t), tampered) })
	if d := diff([]store.OutboxItem{b}, outbox(t, s, store.OutboxDone, time.Time{}, 0)); d != "" {
		t.Errorf("UpdateOutbox changed the message itself (-want +got):\n%s", d)
	}
	if got := counts(t, s).Outbox; got[store.OutboxPending] != 1 || got[store.OutboxDone] != 1 || got[store.OutboxFailed] != 1 {
		t.Errorf("Counts.Outbox = %v, want one of each state", got)
	}
}

func testOutboxDefaults(t *testing.T, s store.Store) {
	before := time.Now().Add(-time.Second)
	it := outboxItem(1, time.Time{}, time.Time{})
	it.ID, it.State = "", ""
	enqueue(t, s, it)
	got := outbox(t, s, store.OutboxPending, time.Now(), 0)
	if len(got) != 1 {
		t.Fatalf("Outbox: %d items, want the one enqueued with no ID and no state", len(got))
	}
	if !ids.IsUUID(got[0].ID) {
		t.Errorf("assigned ID %q is not a UUID (it becomes the ebXML MessageId)", got[0].ID)
	}
	if got[0].CreatedAt.Before(before) || got[0].CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreatedAt defaulted to %v, want about now", got[0].CreatedAt)
	}
	if !bytes.Equal(got[0].Body, it.Body) {
		t.Errorf("body changed")
	}
	// Two items without IDs get different ones.
	enqueue(t, s, it)
	if got := outbox(t, s, "", time.Time{}, 0); len(got) != 2 || got[0].ID == got[1].ID {
		t.Errorf("two items enqueued without IDs: %+v", got)
	}
}

func testOutboxErrors(t *testing.T, s store.Store) {
	it := outboxItem(1, at(0), time.Time{})
	enqueue(t, s, it)
	dup := it
	dup.Body = []byte("<other/>")
	err := s.Update(ctx(t), func(tx store.Tx) error { return tx.Enqueue(ctx(t), dup) })
	mustErr(t, err, store.ErrDuplicate, "Enqueue with an ID already in the outbox")
	if got := outbox(t, s, "", time.Time{}, 0); len(got) != 1 || !bytes.Equal(got[0].Body, it.Body) {
		t.Errorf("a refused Enqueue changed the outbox: %+v", got)
	}
	err = s.Update(ctx(t), func(tx store.Tx) error {
		return tx.UpdateOutbox(ctx(t), store.OutboxItem{ID: ids.NewUUID(), State: store.OutboxDone})
	})
	mustErr(t, err, store.ErrNotFound, "UpdateOutbox of an unknown item")
	err = s.Update(ctx(t), func(tx store.Tx) error {
		x := it
		x.State = "sent"
		return tx.UpdateOutbox(ctx(t), x)
	})
	mustErr(t, err, store.ErrInvalid, "UpdateOutbox to an unknown state")
}

func testReceipts(t *testing.T, s store.Store) {
	r := store.Receipt{
		MessageID:   ids.NewUUID(),
		FromParty:   "YES-0000806",
		ReceivedAt:  t0,
		ContentType: `multipart/related; boundary="--=_MIME-Boundary"; type="text/xml"; start="<ebXMLHeader@spine.nhs.uk>"`,
		Response:    hl7Body(rand.New(rand.NewPCG(5, 6)), 30000),
	}
	update(t, s, func(tx store.Tx) error { return tx.PutReceipt(ctx(t), r) })
	get := func(id string) (store.Receipt, error) {
		var got store.Receipt
		err := s.View(ctx(t), func(tx store.ReadTx) error {
			var err error
			got, err = tx.Receipt(ctx(t), id)
			return err
		})
		return got, err
	}
	want := r
	want.ReceivedAt = at(0)
	got, err := get(r.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(want, got); d != "" {
		t.Fatalf("receipt read back (-want +got):\n%s", d)
	}
	dup := r
	dup.Response, dup.ReceivedAt = []byte("<other/>"), at(time.Hour)
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.PutReceipt(ctx(t), dup) })
	mustErr(t, err, store.ErrDuplicate, "second PutReceipt with the same MessageId")
	if got, _ := get(r.MessageID); diff(want, got) != "" {
		t.Fatalf("a duplicate receipt changed the stored one")
	}
	_, err = get(ids.NewUUID())
	mustErr(t, err, store.ErrNotFound, "Receipt of an unknown MessageId")
	if c := counts(t, s); c.Receipts != 1 {
		t.Fatalf("Counts.Receipts = %d, want 1", c.Receipts)
	}
}

func testPruneReceipts(t *testing.T, s store.Store) {
	var rs []store.Receipt
	for i := range 6 {
		rs = append(rs, store.Receipt{MessageID: ids.NewUUID(), FromParty: "YES-0000806",
			ReceivedAt: at(time.Duration(i) * time.Hour), ContentType: "text/xml", Response: []byte("<ack/>")})
	}
	update(t, s, func(tx store.Tx) error {
		for _, r := range rs {
			if err := tx.PutReceipt(ctx(t), r); err != nil {
				return err
			}
		}
		return nil
	})
	prune := func(before time.Time) int {
		var n int
		update(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.PruneReceipts(ctx(t), before)
			return err
		})
		return n
	}
	if n := prune(at(-time.Hour)); n != 0 {
		t.Errorf("prune before the oldest: %d gone, want 0", n)
	}
	// "Before" is strict: the receipt received exactly at 2h stays.
	if n := prune(at(2 * time.Hour)); n != 2 {
		t.Errorf("prune before 2h: %d gone, want 2", n)
	}
	view(t, s, func(tx store.ReadTx) error {
		for i, r := range rs {
			_, err := tx.Receipt(ctx(t), r.MessageID)
			if gone := errors.Is(err, store.ErrNotFound); gone != (i < 2) {
				t.Errorf("receipt %d (received at %dh): gone=%v, err %v", i, i, gone, err)
			}
		}
		return nil
	})
	if n := prune(at(24 * time.Hour)); n != 4 {
		t.Errorf("prune the rest: %d gone, want 4", n)
	}
	if c := counts(t, s); c.Receipts != 0 {
		t.Errorf("Counts.Receipts = %d after pruning all", c.Receipts)
	}
}

func inboxItem(n int) store.InboxItem {
	return store.InboxItem{
		MessageID:     ids.NewUUID(),
		Interaction:   "PORX_IN070103SM31",
		CorrelationID: ids.NewUUID(),
		RefToMessage:  ids.NewUUID(),
		ReceivedAt:    at(time.Duration(n) * time.Second),
		State:         store.InboxNew,
		Data:          []byte(fmt.Sprintf(`{"payload":"<x n=\"%d\"/>","attachments":[]}`, n)),
	}
}

func inbox(t *testing.T, s store.Store, after int64, state store.InboxState, limit int) []store.InboxItem {
	t.Helper()
	var got []store.InboxItem
	view(t, s, func(tx store.ReadTx) error {
		var err error
		got, err = tx.Inbox(ctx(t), after, state, limit)
		return err
	})
	return got
}

func putInbox(t *testing.T, s store.Store, it store.InboxItem) store.InboxItem {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		var err error
		it.Seq, err = tx.PutInbox(ctx(t), it)
		return err
	})
	return it
}

func testInbox(t *testing.T, s store.Store) {
	var items []store.InboxItem
	for i := range 6 {
		it := inboxItem(i)
		it.ReceivedAt = at(time.Duration(10-i) * time.Second) // Seq order, not time order, is the contract
		it = putInbox(t, s, it)
		if len(items) > 0 && it.Seq <= items[len(items)-1].Seq {
			t.Fatalf("PutInbox returned Seq %d after %d: not increasing", it.Seq, items[len(items)-1].Seq)
		}
		items = append(items, it)
	}
	if d := diff(items, inbox(t, s, 0, "", 0)); d != "" {
		t.Fatalf("Inbox(0, any) (-want +got):\n%s", d)
	}
	if d := diff(items[3:], inbox(t, s, items[2].Seq, "", 0)); d != "" {
		t.Errorf("Inbox(after %d) (-want +got):\n%s", items[2].Seq, d)
	}
	if d := diff(items[1:3], inbox(t, s, items[0].Seq, store.InboxNew, 2)); d != "" {
		t.Errorf("Inbox(after first, new, limit 2) (-want +got):\n%s", d)
	}
	if got := inbox(t, s, items[5].Seq, "", 0); len(got) != 0 {
		t.Errorf("Inbox after the last item: %d items", len(got))
	}
}

func testInboxStates(t *testing.T, s store.Store) {
	a, b := inboxItem(1), inboxItem(2)
	b.State = "" // defaults to new
	a, b = putInbox(t, s, a), putInbox(t, s, b)
	update(t, s, func(tx store.Tx) error { return tx.SetInboxState(ctx(t), a.Seq, store.InboxDelivered) })
	a.State, b.State = store.InboxDelivered, store.InboxNew
	if d := diff([]store.InboxItem{b}, inbox(t, s, 0, store.InboxNew, 0)); d != "" {
		t.Errorf("Inbox(new) (-want +got):\n%s", d)
	}
	if d := diff([]store.InboxItem{a}, inbox(t, s, 0, store.InboxDelivered, 0)); d != "" {
		t.Errorf("Inbox(delivered) (-want +got):\n%s", d)
	}
	if c := counts(t, s).Inbox; c[store.InboxNew] != 1 || c[store.InboxDelivered] != 1 {
		t.Errorf("Counts.Inbox = %v, want one new and one delivered", c)
	}

	dup := inboxItem(3)
	dup.MessageID = a.MessageID
	err := s.Update(ctx(t), func(tx store.Tx) error { _, err := tx.PutInbox(ctx(t), dup); return err })
	mustErr(t, err, store.ErrDuplicate, "PutInbox with a MessageID already there")
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.SetInboxState(ctx(t), b.Seq+1000, store.InboxDelivered) })
	mustErr(t, err, store.ErrNotFound, "SetInboxState of an unknown Seq")
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.SetInboxState(ctx(t), b.Seq, "lost") })
	mustErr(t, err, store.ErrInvalid, "SetInboxState to an unknown state")
	if got := inbox(t, s, 0, "", 0); len(got) != 2 {
		t.Errorf("refused writes changed the inbox: %d items", len(got))
	}
}
