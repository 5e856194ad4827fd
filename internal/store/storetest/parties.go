package storetest

import (
	"testing"

	"github.com/openeps/openeps/internal/store"
)

var partyTests = []namedTest{
	{"CRUDAndQueries", testParties},
}

func parties(t *testing.T, s store.Store, q store.PartyQuery) []store.Party {
	t.Helper()
	var got []store.Party
	view(t, s, func(tx store.ReadTx) error {
		var err error
		got, err = tx.Parties(ctx(t), q)
		return err
	})
	return got
}

func testParties(t *testing.T, s store.Store) {
	ps := []store.Party{
		{Key: "YES-0000806", ASID: "200000001285", ODS: "FCG71", Data: []byte(`{"endpoint":"https://a.example/reliablemessaging"}`)},
		{Key: "T141D-822234", ASID: "200000000220", ODS: "FH542", Data: []byte(`{"endpoint":"https://b.example/"}`)},
		{Key: "A83008-9999", ASID: "918999198993", ODS: "A83008", Data: []byte(`{}`)},
		{Key: "FCG71-0002", ASID: "200000001286", ODS: "FCG71", Data: []byte(`{"second endpoint":true}`)},
	}
	update(t, s, func(tx store.Tx) error {
		for _, p := range ps {
			if err := tx.PutParty(ctx(t), p); err != nil {
				return err
			}
		}
		return nil
	})
	byKey := []store.Party{ps[2], ps[3], ps[1], ps[0]} // ordered by key
	for _, c := range []struct {
		q    store.PartyQuery
		want []store.Party
	}{
		{store.PartyQuery{}, byKey},
		{store.PartyQuery{Key: "T141D-822234"}, ps[1:2]},
		{store.PartyQuery{ASID: "918999198993"}, ps[2:3]},
		{store.PartyQuery{ODS: "FCG71"}, []store.Party{ps[3], ps[0]}},
		{store.PartyQuery{ODS: "FCG71", ASID: "200000001285"}, ps[0:1]},
		{store.PartyQuery{ODS: "FCG71", Key: "T141D-822234"}, nil},
		{store.PartyQuery{ASID: "000000000000"}, nil},
	} {
		if d := diff(c.want, parties(t, s, c.q)); d != "" {
			t.Errorf("Parties(%+v) (-want +got):\n%s", c.q, d)
		}
	}

	// PutParty replaces an entry, ASID and ODS included.
	moved := store.Party{Key: "YES-0000806", ASID: "200000009999", ODS: "FA123", Data: []byte(`{"endpoint":"https://moved.example/"}`)}
	update(t, s, func(tx store.Tx) error { return tx.PutParty(ctx(t), moved) })
	if d := diff([]store.Party{moved}, parties(t, s, store.PartyQuery{Key: moved.Key})); d != "" {
		t.Errorf("replaced party (-want +got):\n%s", d)
	}
	if got := parties(t, s, store.PartyQuery{ASID: "200000001285"}); len(got) != 0 {
		t.Errorf("old ASID still finds the replaced party: %+v", got)
	}

	update(t, s, func(tx store.Tx) error { return tx.DeleteParty(ctx(t), "T141D-822234") })
	if got := parties(t, s, store.PartyQuery{Key: "T141D-822234"}); len(got) != 0 {
		t.Errorf("deleted party still there: %+v", got)
	}
	err := s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteParty(ctx(t), "T141D-822234") })
	mustErr(t, err, store.ErrNotFound, "DeleteParty of an absent key")
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.PutParty(ctx(t), store.Party{ASID: "1"}) })
	mustErr(t, err, store.ErrInvalid, "PutParty without a key")
	if c := counts(t, s); c.Parties != 3 {
		t.Errorf("Counts.Parties = %d, want 3", c.Parties)
	}
}
