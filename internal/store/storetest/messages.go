package storetest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
)

var messageTests = []namedTest{
	{"RoundTrip", testMessageRoundTrip},
	{"DuplicateKeepsOriginal", testMessageDuplicate},
	{"BodiesByteExact", testMessageBodiesByteExact},
	{"MessagesForOrderAndBodies", testMessagesFor},
	{"NotFound", testMessageNotFound},
}

// hl7Body returns an HL7-like XML body of about n bytes, varied enough that
// it compresses like the real thing rather than to nothing.
func hl7Body(rng *rand.Rand, n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><PORX_IN020101SM31 xmlns="urn:hl7-org:v3">`)
	for b.Len() < n-40 {
		fmt.Fprintf(&b, `<pertinentInformation1 typeCode="PERT"><id root="%s"/><value code="%d" displayName="Item %x"/></pertinentInformation1>`,
			ids.NewUUID(), rng.IntN(1e9), rng.Uint64())
	}
	b.WriteString(`</PORX_IN020101SM31>`)
	return b.Bytes()
}

func sampleMessage(recordKey string, received time.Time) store.Message {
	return store.Message{
		ID:                  ids.NewUUID(),
		Interaction:         "PORX_IN020101SM31",
		RecordKey:           recordKey,
		Sender:              "200000001285",
		ReceivedAt:          received,
		Raw:                 []byte(`<PORX_IN020101SM31 xmlns="urn:hl7-org:v3"><id root="X"/></PORX_IN020101SM31>`),
		Response:            []byte(`<MCCI_IN010000UK13 xmlns="urn:hl7-org:v3"><acknowledgement typeCode="AA"/></MCCI_IN010000UK13>`),
		ResponseInteraction: "MCCI_IN010000UK13",
		Outcome:             "AA",
	}
}

func putMessages(t *testing.T, s store.Store, msgs ...store.Message) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, m := range msgs {
			if err := tx.PutMessage(ctx(t), m); err != nil {
				return err
			}
		}
		return nil
	})
}

func getMessage(t *testing.T, s store.Store, id string) (store.Message, error) {
	t.Helper()
	var m store.Message
	err := s.View(ctx(t), func(tx store.ReadTx) error {
		var err error
		m, err = tx.Message(ctx(t), id)
		return err
	})
	return m, err
}

func testMessageRoundTrip(t *testing.T, s store.Store) {
	m := sampleMessage("ABC123-A83008-12345", t0)
	putMessages(t, s, m)
	got, err := getMessage(t, s, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := m
	want.ReceivedAt = at(0)
	if d := diff(want, got); d != "" {
		t.Fatalf("message read back (-want +got):\n%s", d)
	}
	// A message stored against no record (rejected before one was found) and
	// without an answer.
	bare := store.Message{ID: ids.NewUUID(), Interaction: "PORX_IN060102SM30", ReceivedAt: at(time.Second), Raw: []byte("<x/>")}
	putMessages(t, s, bare)
	got, err = getMessage(t, s, bare.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(bare, got); d != "" {
		t.Fatalf("bare message read back (-want +got):\n%s", d)
	}
}

func testMessageDuplicate(t *testing.T, s store.Store) {
	orig := sampleMessage("ABC123-A83008-12345", at(0))
	putMessages(t, s, orig)

	// A replay carries the same ID; whatever else it says, the first copy
	// (the legal record, with the answer sent) must stay as it was.
	replay := orig
	replay.Raw = []byte("<tampered/>")
	replay.Response = []byte("<different-answer/>")
	replay.Outcome = "AE 0002 Duplicate"
	replay.RecordKey = "OTHER0-A83008-00000"
	replay.ReceivedAt = at(time.Hour)
	err := s.Update(ctx(t), func(tx store.Tx) error { return tx.PutMessage(ctx(t), replay) })
	mustErr(t, err, store.ErrDuplicate, "second PutMessage with the same ID")

	got, err := getMessage(t, s, orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(orig, got); d != "" {
		t.Fatalf("a duplicate changed the stored message (-want +got):\n%s", d)
	}
	if c := counts(t, s); c.Messages != 1 {
		t.Fatalf("%d messages stored, want 1", c.Messages)
	}
}

func testMessageBodiesByteExact(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := make([]byte, 1<<20) // incompressible
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	bodies := map[string][]byte{
		"invalid UTF-8 and NUL":   {0xff, 0xfe, 0x00, 'A', 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x00},
		"UTF-16 with BOM":         {0xff, 0xfe, '<', 0, 'x', 0, '/', 0, '>', 0},
		"CRLF and trailing space": []byte("<a>\r\n  <b/>\r\n</a>  \r\n"),
		"large HL7 (4 MiB)":       hl7Body(rng, 4<<20),
		"random (1 MiB)":          random,
		"one byte":                {'<'},
		"zeros":                   make([]byte, 100000),
		"exactly compressible":    []byte(strings.Repeat("<x/>", 64)),
	}
	byID := map[string]string{}
	responses := map[string][]byte{}
	for name, body := range bodies {
		m := sampleMessage("KEY", at(0))
		m.Raw = body
		// The answer is the body reversed: different bytes, same character.
		m.Response = bytes.Clone(body)
		for i, j := 0, len(m.Response)-1; i < j; i, j = i+1, j-1 {
			m.Response[i], m.Response[j] = m.Response[j], m.Response[i]
		}
		putMessages(t, s, m)
		byID[m.ID] = name
		responses[m.ID] = m.Response
	}
	for id, name := range byID {
		got, err := getMessage(t, s, id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := bodies[name]
		if !bytes.Equal(got.Raw, want) {
			t.Errorf("%s: raw body differs: %d bytes stored, %d read back", name, len(want), len(got.Raw))
		}
		if !bytes.Equal(got.Response, responses[id]) {
			t.Errorf("%s: response differs: %d bytes stored, %d read back", name, len(responses[id]), len(got.Response))
		}
	}
	// The same through MessagesFor.
	var all []store.Message
	view(t, s, func(tx store.ReadTx) error {
		var err error
		all, err = tx.MessagesFor(ctx(t), "KEY", true)
		return err
	})
	if len(all) != len(bodies) {
		t.Fatalf("MessagesFor: %d messages, want %d", len(all), len(bodies))
	}
	for _, m := range all {
		if want := bodies[byID[m.ID]]; !bytes.Equal(m.Raw, want) {
			t.Errorf("MessagesFor %s: raw body differs (%d bytes, want %d)", byID[m.ID], len(m.Raw), len(want))
		}
	}
}

func testMessagesFor(t *testing.T, s store.Store) {
	key := "A1B2C3-A83008-0F0F0"
	// Stored out of time order, in separate transactions.
	times := []time.Duration{3 * time.Hour, 0, 5 * time.Hour, time.Hour, 2 * time.Hour}
	var msgs []store.Message
	for i, d := range times {
		m := sampleMessage(key, at(d))
		m.Raw = []byte(fmt.Sprintf("<m n='%d'/>", i))
		msgs = append(msgs, m)
		putMessages(t, s, m)
	}
	putMessages(t, s, sampleMessage("OTHER0-A83008-00000", at(90*time.Minute)), sampleMessage("", at(90*time.Minute)))

	want := []store.Message{msgs[1], msgs[3], msgs[4], msgs[0], msgs[2]} // oldest first
	var with, without []store.Message
	view(t, s, func(tx store.ReadTx) error {
		var err error
		if with, err = tx.MessagesFor(ctx(t), key, true); err != nil {
			return err
		}
		without, err = tx.MessagesFor(ctx(t), key, false)
		return err
	})
	if d := diff(want, with); d != "" {
		t.Errorf("MessagesFor with bodies (-want +got):\n%s", d)
	}
	var wantBare []store.Message
	for _, m := range want {
		m.Raw, m.Response = nil, nil
		wantBare = append(wantBare, m)
	}
	if d := diff(wantBare, without); d != "" {
		t.Errorf("MessagesFor without bodies (-want +got):\n%s", d)
	}
	view(t, s, func(tx store.ReadTx) error {
		got, err := tx.MessagesFor(ctx(t), "NOPE00-A83008-00000", true)
		if err != nil || len(got) != 0 {
			t.Errorf("MessagesFor an unknown key: %d messages, err %v; want none and no error", len(got), err)
		}
		return nil
	})
}

func testMessageNotFound(t *testing.T, s store.Store) {
	_, err := getMessage(t, s, ids.NewUUID())
	mustErr(t, err, store.ErrNotFound, "Message of an unknown ID")
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.PutMessage(ctx(t), store.Message{Raw: []byte("x")}) })
	mustErr(t, err, store.ErrInvalid, "PutMessage without an ID")
}
