package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/dispense"
	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/store"
)

const (
	gpParty       = "A83008-0000001"
	gpASID        = "200000001285"
	pharmacyParty = "FA565-0000001"
)

func ackType(t testing.TB, payload []byte) hl7v3.AckResult {
	t.Helper()
	m, err := hl7v3.Decode(payload)
	if err != nil {
		t.Fatalf("the answer does not decode: %v\n%s", err, payload)
	}
	a, ok := hl7v3.ReadAck(m)
	if !ok {
		t.Fatalf("the answer is a %s, not an application acknowledgement", m.Root)
	}
	return a
}

func newPrescription(t testing.TB, ods string) (prescribe.Prescription, []byte) {
	t.Helper()
	p := prescribe.Example(time.Now().UTC().Add(-time.Minute), ods)
	b, err := prescribe.Build(&p)
	if err != nil {
		t.Fatal(err)
	}
	return p, b
}

// TestJourneyOverHTTPS is the acceptance journey, every hop a real
// process over HTTPS with mutual TLS on loopback: a prescribing system →
// its eps mhs → eps serve (the application acknowledgement comes back as
// an async message to the GP's eps mhs and is handed to the waiting call);
// the pharmacy's system → its eps mhs → eps serve: a nominated release,
// whose response lands in the pharmacy's inbox; then the dispense
// notification, acknowledged back. Both acknowledgements are checked at
// every hop: the ebXML one (eps mhs answers 202/200 only on the Spine's
// eb:Acknowledgment; eps serve marks its outbox done only on the
// receiving MHS's) and the HL7 one (AA).
func TestJourneyOverHTTPS(t *testing.T) {
	w := newWorld(t)
	db := w.path("spine.db")
	spine := w.startServe("127.0.0.1:0", db)
	gp := w.startMHS("gp", gpParty, gpASID, spine.urls[0], w.path("gp.db"), "127.0.0.1:0")
	d := dispense.Example()
	pharmacy := w.startMHS("pharmacy", pharmacyParty, d.ASID, spine.urls[0], w.path("pharmacy.db"), "127.0.0.1:0")
	// The Spine learns where to send answers while it runs, as SDS changes.
	register(t, db, gpParty, gpASID, "A83008", gp.urls[1])
	register(t, db, pharmacyParty, d.ASID, d.ODS, pharmacy.urls[1])

	rx, payload := newPrescription(t, d.ODS)
	prescribed := gp.api().mustSend("PORX_IN020101SM31", ids.NewUUID(), true, payload, http.StatusOK)
	if a := ackType(t, prescribed); a.Type != hl7v3.AckAccepted {
		t.Fatalf("prescription answered %s %v", a.Type, a.Errors)
	}

	releaseID := ids.NewUUID()
	req, err := dispense.NominatedRelease(d, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	if out := pharmacy.api().mustSend("PORX_IN060102SM30", releaseID, false, req, http.StatusAccepted); len(out) != 0 {
		t.Errorf("202 with a body: %q", out)
	}
	msgs := pharmacy.api().waitInbox(1, 20*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("the pharmacy's inbox holds %d messages", len(msgs))
	}
	m := msgs[0]
	if m.InteractionID != hl7v3.NominatedReleaseResponse || m.RefToMessageID != releaseID || m.FromPartyID != "YES-0000806" {
		t.Fatalf("inbox message %s ref %s from %s", m.InteractionID, m.RefToMessageID, m.FromPartyID)
	}
	// The envelope the Spine sent is kept as received and reads back.
	if env, err := ebxml.Parse("text/xml", []byte(m.EbXML), ebxml.Limits{}); err != nil && !strings.Contains(err.Error(), "payload") {
		t.Errorf("kept envelope: %v", err)
	} else if env != nil && env.Header.MessageId != m.MessageID {
		t.Errorf("kept envelope is for %s, not %s", env.Header.MessageId, m.MessageID)
	}
	released, err := dispense.ReadRelease([]byte(m.Payload))
	if err != nil || len(released) != 1 || released[0].PrescriptionID != rx.ShortID {
		t.Fatalf("release: %v %+v", err, released)
	}
	pharmacy.api().ack(m.Seq)

	dn, err := dispense.Notification(d, released[0], dispense.FullSupplies(released[0]), time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	dispensed := pharmacy.api().mustSend("PORX_IN080101SM31", ids.NewUUID(), true, dn, http.StatusOK)
	if a := ackType(t, dispensed); a.Type != hl7v3.AckAccepted {
		t.Fatalf("dispense notification answered %s %v", a.Type, a.Errors)
	}
	if left := pharmacy.api().inbox(0); len(left) != 0 {
		t.Errorf("%d messages left in the pharmacy's inbox", len(left))
	}

	spine.stop()
	gp.stop()
	pharmacy.stop()
	c, outbox, _ := storeCounts(t, db)
	if c.Records != 1 || c.Messages != 3 {
		t.Errorf("the Spine holds %d records and %d messages, want 1 and 3", c.Records, c.Messages)
	}
	// Three answers sent, each acknowledged by the MHS it went to.
	if c.Outbox[store.OutboxDone] != 3 || len(outbox) != 3 {
		t.Errorf("outbox %v, want 3 done", c.Outbox)
	}
	for _, it := range outbox {
		if it.Attempts != 1 {
			t.Errorf("answer %s to %s took %d attempts", it.Interaction, it.Destination, it.Attempts)
		}
	}
	gc, _, gin := storeCounts(t, w.path("gp.db"))
	pc, _, pin := storeCounts(t, w.path("pharmacy.db"))
	if gc.Inbox[store.InboxDelivered] != 1 || pc.Inbox[store.InboxDelivered] != 2 || len(gin)+len(pin) != 3 {
		t.Errorf("inboxes: GP %v, pharmacy %v", gc.Inbox, pc.Inbox)
	}
	if gc.Receipts != 1 || pc.Receipts != 2 {
		t.Errorf("receipts (duplicate elimination): GP %d, pharmacy %d", gc.Receipts, pc.Receipts)
	}
}

// TestMutualTLSRefusesStrangers: neither eps serve nor eps mhs's inbound
// endpoint takes a connection without a certificate from the CA.
func TestMutualTLSRefusesStrangers(t *testing.T) {
	w := newWorld(t)
	spine := w.startServe("127.0.0.1:0", w.path("spine.db"))
	gp := w.startMHS("gp", gpParty, gpASID, spine.urls[0], w.path("gp.db"), "127.0.0.1:0")
	other := newWorld(t)
	for _, url := range []string{spine.urls[0] + "/healthcheck", gp.urls[1] + "/healthcheck"} {
		if resp, err := w.anonymous().Get(url); err == nil {
			resp.Body.Close()
			t.Errorf("%s answered a client without a certificate (HTTP %d)", url, resp.StatusCode)
		}
		stranger := other.client("stranger")
		stranger.Transport.(*http.Transport).TLSClientConfig.RootCAs = w.client("x").Transport.(*http.Transport).TLSClientConfig.RootCAs
		if resp, err := stranger.Get(url); err == nil {
			resp.Body.Close()
			t.Errorf("%s answered a client with another CA's certificate", url)
		}
		resp, err := w.client("friend").Get(url)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: HTTP %d", url, resp.StatusCode)
		}
	}
	if bytes.Contains([]byte(spine.log()), []byte("panic")) {
		t.Errorf("eps serve logged a panic:\n%s", spine.log())
	}
}
