// Package demo runs the journey `eps demo` shows: a real Spine-side EPS
// service on loopback over a fresh embedded store, and the messages a
// prescribing system and a pharmacy send it, each step printed as it
// happens. Nothing in it is faked: the messages go over HTTP as ebXML, the
// answers are the service's own, and the record shown is read back from
// the service's JSON API.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store/sqlite"
)

// Options tune the demo. The zero value is the README's demo.
type Options struct {
	// Dir holds the store; a new temporary directory (removed afterwards) if "".
	Dir string
	// Now is the service's clock; the real time if zero.
	Now time.Time
}

// The pharmacy the patient nominates, and its system.
const (
	pharmacyODS   = "FA565"
	prescriberSys = "T141D-822234" // party key of the GP system's MHS
)

// Run runs the demo, printing to out.
func Run(ctx context.Context, out io.Writer, opts Options) (err error) {
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "openeps-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now().UTC().Truncate(time.Second)
	}
	dbPath := filepath.Join(dir, "eps.db")
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	svc, err := spine.New(spine.Config{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := spine.NewHTTPServer(ln.Addr().String(), svc.Handler())
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	d := &demo{out: out, base: base, client: &http.Client{Timeout: 10 * time.Second}}

	d.step("Started the Spine-side EPS service on %s", base)
	d.say("store: SQLite (WAL) at %s; clock %s", dbPath, now.Format(time.RFC3339))

	// 1. The GP prescribes.
	p := prescribe.Example(now, pharmacyODS)
	payload, err := prescribe.Build(&p)
	if err != nil {
		return err
	}
	d.step("%s %s %s at %s (%s) prescribes %d items for %s %s %s, NHS number %s",
		p.Prescriber.Prefix, p.Prescriber.Given, p.Prescriber.Family, p.Prescriber.OrgName, p.Prescriber.OrgODS,
		len(p.Items), p.Patient.Prefix, strings.Join(p.Patient.Given, " "), p.Patient.Family, p.Patient.NHSNumber)
	for i, it := range p.Items {
		d.say("  %d. %s × %s %s — %s", i+1, it.Description, it.Quantity, it.UnitDisplay, it.Dosage)
	}
	d.say("nominated pharmacy %s; prescription ID %s", pharmacyODS, p.ShortID)
	first, err := d.send(ctx, payload)
	if err != nil {
		return err
	}
	d.say("← %s", first)
	if !first.accepted() {
		return fmt.Errorf("the service refused the prescription: %s", first)
	}
	v, err := d.record(ctx, p.ShortID)
	if err != nil {
		return err
	}
	d.step("The record the Spine now holds (GET /api/prescriptions/%s)", p.ShortID)
	d.show(v)

	// 2. The GP system never saw the answer and sends the message again.
	d.step("The GP system resends the same message (its answer was lost on the way)")
	again, err := d.send(ctx, payload)
	if err != nil {
		return err
	}
	v2, err := d.record(ctx, p.ShortID)
	if err != nil {
		return err
	}
	same := bytes.Equal(first.hl7, again.hl7) && v2.SCN == v.SCN && len(v2.History) == len(v.History)
	d.say("← %s; same answer as the first time: %v; record unchanged (SCN %d): %v", again, bytes.Equal(first.hl7, again.hl7), v2.SCN, same)
	if !same {
		return errors.New("a replayed message changed the record")
	}
	d.step("Done. Run `eps serve` to keep a service running, `eps inspect FILE` to read a message.")
	return nil
}

type demo struct {
	out    io.Writer
	base   string
	client *http.Client
	n      int
}

func (d *demo) step(format string, args ...any) {
	d.n++
	fmt.Fprintf(d.out, "\n%d. %s\n", d.n, fmt.Sprintf(format, args...))
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "   %s\n", fmt.Sprintf(format, args...))
}

// result is what came back for one message.
type result struct {
	acked bool // an eb:Acknowledgment of our message came back
	nack  []*ebxml.Error
	hl7   []byte
	ack   hl7v3.AckResult
}

func (r result) accepted() bool { return r.ack.Type == hl7v3.AckAccepted }

func (r result) String() string {
	s := "ebXML Acknowledgment"
	if !r.acked {
		s = "no ebXML Acknowledgment"
	}
	for _, e := range r.nack {
		s += ", ebXML error " + e.Description()
	}
	if r.ack.Type != "" {
		s += ", HL7 acknowledgement " + r.ack.Type
		for _, e := range r.ack.Errors {
			s += " (" + e.Value + " " + e.Display + ")"
		}
	}
	return s
}

// send posts an HL7 interaction as ebXML, the way the GP system's MHS does.
func (d *demo) send(ctx context.Context, payload []byte) (result, error) {
	m, err := hl7v3.Decode(payload)
	if err != nil {
		return result{}, err
	}
	id := strings.ToUpper(m.Header().MessageID) // the ebXML MessageId follows the HL7 one, as MHSs do
	msg := &ebxml.Message{
		Header: ebxml.MessageHeader{
			From: ebxml.Party{ID: prescriberSys, Type: ebxml.PartyType}, To: ebxml.Party{ID: spine.DefaultPartyKey, Type: ebxml.PartyType},
			CPAId: "S1001A1630", ConversationId: id, Service: ebxml.ServiceMM, Action: m.Root, MessageId: ids.NewUUID(),
			SentAt: time.Now().UTC(), DuplicateElimination: true, AckRequested: true, AckActor: ebxml.ActorToPartyMSH,
			SyncReply: true, SyncReplyActor: ebxml.ActorNext,
		},
		Payload: payload, PayloadContentType: "text/xml; charset=UTF-8",
	}
	ctype, body, err := ebxml.Build(msg)
	if err != nil {
		return result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/reliablemessaging/reliablerequest", bytes.NewReader(body))
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("SOAPAction", msg.Header.SOAPAction())
	d.say("→ %s as ebXML (%d bytes) to /reliablemessaging/reliablerequest", m.Root, len(body))
	resp, err := d.client.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	reply, err := ebxml.Parse(resp.Header.Get("Content-Type"), raw, ebxml.Limits{})
	if err != nil {
		return result{}, fmt.Errorf("the reply is not ebXML (HTTP %d): %w", resp.StatusCode, err)
	}
	r := result{acked: reply.Acknowledges(msg.Header.MessageId), nack: reply.Errors(), hl7: reply.Payload}
	if len(reply.Payload) > 0 {
		hm, err := hl7v3.Decode(reply.Payload)
		if err != nil {
			return result{}, fmt.Errorf("the HL7 answer does not decode: %w", err)
		}
		r.ack, _ = hl7v3.ReadAck(hm)
	}
	return r, nil
}

// record reads a prescription from the service's JSON API.
func (d *demo) record(ctx context.Context, id string) (spine.PrescriptionView, error) {
	var v spine.PrescriptionView
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/api/prescriptions/"+id, nil)
	if err != nil {
		return v, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("GET /api/prescriptions/%s: HTTP %d", id, resp.StatusCode)
	}
	return v, json.NewDecoder(resp.Body).Decode(&v)
}

// show prints the parts of a record a person checks first.
func (d *demo) show(v spine.PrescriptionView) {
	d.say("%s: %s %s — treatment type %s, nominated %s, SCN %d", v.ID, v.Status, v.StatusLabel, v.TreatmentType,
		orNone(v.NominatedODS), v.SCN)
	d.say("patient %s %s %s (NHS %s), prescriber %s (%s)", v.Patient.Prefix, v.Patient.Given, v.Patient.Family,
		v.NHSNumber, v.Prescriber.Name, v.Prescriber.ODS)
	for _, li := range v.LineItems {
		d.say("  item %s %s: %s × %s %s", li.Status, li.StatusLabel, li.Description, li.Quantity, li.Unit)
	}
	for _, h := range v.History {
		d.say("  history: %s %s at %s → %s", h.Interaction, h.MessageID, h.ReceivedAt.Format(time.RFC3339), h.Outcome)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
