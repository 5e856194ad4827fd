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
	"sync"
	"time"

	"github.com/openeps/openeps/internal/dispense"
	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/pki"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/signature"
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

// The pharmacy the patient nominates, and the ebXML party keys of the GP
// system's and the pharmacy system's MHSs.
const (
	pharmacyODS     = "FA565"
	prescriberParty = "T141D-822234"
	pharmacyParty   = "FA565-807311"
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
	// The service's clock moves on a few minutes with each step, as a
	// working day would.
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(7 * time.Minute); return now }
	// A test CA and a smartcard-style certificate for the prescriber: the
	// prescriptions are signed as a GP's smartcard signs them, the service
	// checks each signature on receipt and the pharmacy before dispensing.
	caDir := filepath.Join(dir, "ca")
	if _, err := pki.Init(caDir, pki.InitOptions{Now: now.AddDate(0, -1, 0), CRLDays: 365}); err != nil {
		return fmt.Errorf("test CA: %w", err)
	}
	card, err := pki.Issue(caDir, "Dr Anna Smith", pki.RolePrescriber, pki.IssueOptions{Now: now.AddDate(0, -1, 0)})
	if err != nil {
		return fmt.Errorf("smartcard: %w", err)
	}
	trust, err := signature.LoadTrustDir(caDir)
	if err != nil {
		return err
	}
	svc, err := spine.New(spine.Config{Store: st, Now: clock, VerifySignatures: true,
		Trust: func() *signature.TrustStore { return trust }})
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
	d.say("store: SQLite (WAL) at %s; clock %s", dbPath, clock().Format(time.RFC3339))
	d.say("test CA at %s; smartcard certificate %q", caDir, card.Cert.Subject.CommonName)

	// 1. The GP prescribes, nominating the patient's pharmacy.
	p := prescribe.Example(clock(), pharmacyODS)
	payload, err := signed(&p, card)
	if err != nil {
		return err
	}
	d.step("%s %s %s at %s (%s) prescribes %d items for %s %s %s, NHS number %s",
		p.Prescriber.Prefix, p.Prescriber.Given, p.Prescriber.Family, p.Prescriber.OrgName, p.Prescriber.OrgODS,
		len(p.Items), p.Patient.Prefix, strings.Join(p.Patient.Given, " "), p.Patient.Family, p.Patient.NHSNumber)
	for i, it := range p.Items {
		d.say("  %d. %s × %s %s — %s", i+1, it.Description, it.Quantity, it.UnitDisplay, it.Dosage)
	}
	d.say("nominated pharmacy %s; prescription ID %s; signed with the smartcard (RSA-SHA256)", pharmacyODS, p.ShortID)
	first, err := d.send(ctx, prescriberParty, payload)
	if err != nil {
		return err
	}
	if err := first.want(hl7v3.AckAccepted, ""); err != nil {
		return fmt.Errorf("prescription: %w", err)
	}
	if err := d.show(ctx, p.ShortID); err != nil {
		return err
	}

	// 2. The GP system never saw the answer and sends the message again.
	tick()
	d.step("The GP system resends the same message (its answer was lost on the way)")
	before, err := d.record(ctx, p.ShortID)
	if err != nil {
		return err
	}
	again, err := d.send(ctx, prescriberParty, payload)
	if err != nil {
		return err
	}
	after, err := d.record(ctx, p.ShortID)
	if err != nil {
		return err
	}
	same := bytes.Equal(first.hl7, again.hl7) && after.SCN == before.SCN && len(after.History) == len(before.History)
	d.say("same answer as the first time: %v; record unchanged (SCN %d): %v", bytes.Equal(first.hl7, again.hl7), after.SCN, same)
	if !same {
		return errors.New("a replayed message changed the record")
	}

	// 3. The pharmacy downloads its nominated prescriptions.
	pharmacy := dispense.Example()
	d.step("%s (%s) asks the Spine for the prescriptions nominated to it", pharmacy.Name, pharmacy.ODS)
	req, err := dispense.NominatedRelease(pharmacy, tick())
	if err != nil {
		return err
	}
	rel, err := d.send(ctx, pharmacyParty, req)
	if err != nil {
		return err
	}
	released, err := dispense.ReadRelease(rel.hl7)
	if err != nil {
		return fmt.Errorf("nominated release: %w", err)
	}
	if len(released) != 1 || released[0].PrescriptionID != p.ShortID {
		return fmt.Errorf("nominated release: got %d prescriptions, want %s", len(released), p.ShortID)
	}
	r := released[0]
	checks, err := signature.VerifyAll(rel.hl7, trust, signature.VerifyOptions{Now: clock()})
	if err != nil {
		return err
	}
	d.say("released: %s with %d items, as the prescriber signed it; the pharmacy checks the signature: %s",
		r.PrescriptionID, len(r.Items), checks[0])
	if !checks[0].Valid() {
		return fmt.Errorf("the released prescription's signature: %s", checks[0])
	}
	if err := d.show(ctx, p.ShortID); err != nil {
		return err
	}

	// 4. The pharmacist hands everything over and tells the Spine.
	d.step("The pharmacist dispenses every item and sends a dispense notification")
	supplies := dispense.FullSupplies(r)
	dn, err := dispense.Notification(pharmacy, r, supplies, tick())
	if err != nil {
		return err
	}
	res, err := d.send(ctx, pharmacyParty, dn)
	if err != nil {
		return err
	}
	if err := res.want(hl7v3.AckAccepted, ""); err != nil {
		return fmt.Errorf("dispense notification: %w", err)
	}
	if err := d.show(ctx, p.ShortID); err != nil {
		return err
	}

	// 5. ... and claims for it.
	d.step("The pharmacy claims reimbursement for the dispensed prescription")
	claim, err := dispense.Claim(pharmacy, r, supplies, tick())
	if err != nil {
		return err
	}
	res, err = d.send(ctx, pharmacyParty, claim)
	if err != nil {
		return err
	}
	if err := res.want(hl7v3.AckAccepted, ""); err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	if err := d.show(ctx, p.ShortID); err != nil {
		return err
	}

	// 6. A second prescription, cancelled by the GP before anyone dispenses it.
	q := prescribe.Example(tick(), pharmacyODS)
	q.Items = q.Items[:1]
	payload, err = signed(&q, card)
	if err != nil {
		return err
	}
	d.step("The GP prescribes %s again (%s), then cancels it: prescribing error", q.Items[0].Description, q.ShortID)
	res, err = d.send(ctx, prescriberParty, payload)
	if err != nil {
		return err
	}
	if err := res.want(hl7v3.AckAccepted, ""); err != nil {
		return fmt.Errorf("second prescription: %w", err)
	}
	cancel, err := prescribe.Cancel(prescribe.CancelOf(&q, "", "0001", tick()))
	if err != nil {
		return err
	}
	res, err = d.send(ctx, prescriberParty, cancel)
	if err != nil {
		return err
	}
	if err := res.want(hl7v3.AckAccepted, epserr.CancelDone.Value); err != nil {
		return fmt.Errorf("cancellation: %w", err)
	}
	if err := d.show(ctx, q.ShortID); err != nil {
		return err
	}

	// 7. A prescription changed after it was signed: the Spine stores it (and
	// notes the bad signature), the pharmacy refuses to dispense it and
	// returns it with reason 0005 "Invalid digital signature" (hl7v3.md §7.5).
	x := prescribe.Example(tick(), pharmacyODS)
	x.Items = x.Items[1:2]
	payload, err = signed(&x, card)
	if err != nil {
		return err
	}
	payload = bytes.Replace(payload, []byte(`value="`+x.Items[0].Quantity+`"`), []byte(`value="320"`), 2)
	d.step("A third prescription (%s) is altered after signing: %s × 32 becomes × 320", x.ShortID, x.Items[0].Description)
	res, err = d.send(ctx, prescriberParty, payload)
	if err != nil {
		return err
	}
	if err := res.want(hl7v3.AckAccepted, ""); err != nil {
		return fmt.Errorf("altered prescription: %w", err)
	}
	if v, err := d.record(ctx, x.ShortID); err == nil {
		for _, h := range v.Dispensing {
			if h.Kind == rx.HistSignature {
				d.say("the Spine stores it, as the real Spine does, and notes: %s", h.Detail)
			}
		}
	}
	req, err = dispense.NominatedRelease(pharmacy, tick())
	if err != nil {
		return err
	}
	d.say("the pharmacy downloads it:")
	rel, err = d.send(ctx, pharmacyParty, req)
	if err != nil {
		return err
	}
	released, err = dispense.ReadRelease(rel.hl7)
	if err != nil || len(released) != 1 {
		return fmt.Errorf("third release: %d prescriptions, %v", len(released), err)
	}
	checks, err = signature.VerifyAll(rel.hl7, trust, signature.VerifyOptions{Now: clock()})
	if err != nil {
		return err
	}
	d.say("the pharmacy checks the signature: %s", checks[0])
	if checks[0].Valid() {
		return errors.New("an altered prescription passed the signature check")
	}
	ret, err := dispense.Return(pharmacy, released[0], signature.ReturnReasonInvalidSignature.Value, tick())
	if err != nil {
		return err
	}
	d.say("and returns it: reason %s %s", signature.ReturnReasonInvalidSignature.Value, signature.ReturnReasonInvalidSignature.Display)
	res, err = d.send(ctx, pharmacyParty, ret)
	if err != nil {
		return err
	}
	if err := res.want(hl7v3.AckAccepted, ""); err != nil {
		return fmt.Errorf("return: %w", err)
	}
	if err := d.show(ctx, x.ShortID); err != nil {
		return err
	}
	d.say("(back to the Spine, nomination cleared, for the prescriber to put right)")

	// 8. The pharmacy asks again: nothing left for it.
	d.step("The pharmacy asks for its nominated prescriptions again")
	req, err = dispense.NominatedRelease(pharmacy, tick())
	if err != nil {
		return err
	}
	res, err = d.send(ctx, pharmacyParty, req)
	if err != nil {
		return err
	}
	if err := res.want(hl7v3.AckError, epserr.RejectNoMoreNominated.Value); err != nil {
		return fmt.Errorf("second nominated release: %w", err)
	}
	d.say("(the cancelled prescription is never released; the returned one is nominated to nobody now)")

	d.step("Done: prescribe → nominated release → dispense → claim, a cancellation and a bad signature, all over ebXML.")
	d.say("Run `eps serve` to keep a service running, `eps inspect FILE` to read a message.")
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
	hl7   []byte // the HL7 answer
	root  string
	ack   string // its acknowledgement type
	code  epserr.Code
}

// want checks the answer's acknowledgement type and first code ("" for none).
func (r result) want(ack, code string) error {
	if !r.acked || r.ack != ack || r.code.Value != code {
		return fmt.Errorf("unexpected answer: %s", r)
	}
	return nil
}

func (r result) String() string {
	s := "ebXML Acknowledgment"
	if !r.acked {
		s = "no ebXML Acknowledgment"
	}
	for _, e := range r.nack {
		s += ", ebXML error " + e.Description()
	}
	if r.root != "" {
		s += ", " + r.root + " " + r.ack
		if r.code.Value != "" {
			s += " (" + r.code.Value + " " + r.code.Display + ")"
		}
	}
	return s
}

// send posts an HL7 interaction as ebXML from party, the way the sender's
// MHS does, and reads the answer.
func (d *demo) send(ctx context.Context, party string, payload []byte) (result, error) {
	m, err := hl7v3.Decode(payload)
	if err != nil {
		return result{}, err
	}
	id := strings.ToUpper(m.Header().MessageID) // the ebXML MessageId follows the HL7 one, as MHSs do
	msg := &ebxml.Message{
		Header: ebxml.MessageHeader{
			From: ebxml.Party{ID: party, Type: ebxml.PartyType}, To: ebxml.Party{ID: spine.DefaultPartyKey, Type: ebxml.PartyType},
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
		r.root, r.ack, r.code = answerOf(hm)
	}
	d.say("← %s", r)
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

// signed builds a prescription and signs it with the smartcard.
func signed(p *prescribe.Prescription, card *pki.Issued) ([]byte, error) {
	raw, err := prescribe.Build(p)
	if err != nil {
		return nil, err
	}
	return signature.Sign(raw, card.Key, card.Cert, signature.SHA256)
}

// answerOf reads any answer the Spine sends: its interaction, its
// acknowledgement type and the first code it carries.
func answerOf(m *hl7v3.Message) (root, ack string, code epserr.Code) {
	h := m.Header()
	coded := func(c hl7v3.Coded) epserr.Code {
		return epserr.Code{System: c.System, Value: c.Code, Display: c.Display}
	}
	switch p := m.Payload().(type) {
	case *hl7v3.PORX_MT121201UK30_PrescriptionReleaseReject:
		return m.Root, h.AckType, coded(p.View().Reason)
	case *hl7v3.PORX_MT135201UK31_CancellationResponse:
		return m.Root, h.AckType, coded(p.View().Response)
	}
	if r, ok := hl7v3.ReadAck(m); ok {
		if len(r.Errors) > 0 {
			code = r.Errors[0]
		}
		return m.Root, r.Type, code
	}
	return m.Root, h.AckType, code
}

// show reads a record back from the API and prints the parts a person
// checks first.
func (d *demo) show(ctx context.Context, id string) error {
	v, err := d.record(ctx, id)
	if err != nil {
		return err
	}
	d.say("record %s (GET /api/prescriptions/%s):", v.ID, v.ID)
	d.print(v)
	return nil
}

func (d *demo) print(v spine.PrescriptionView) {
	d.say("  status %s %s; dispenser %s; SCN %d", v.Status, v.StatusLabel, orNone(v.DispenserODS), v.SCN)
	for _, li := range v.LineItems {
		d.say("  item %s %-20s %s × %s %s", li.Status, li.StatusLabel, li.Description, li.Quantity, li.Unit)
	}
	if n := len(v.Dispensing); n > 0 {
		h := v.Dispensing[n-1]
		who := ""
		if h.ODS != "" {
			who = " by " + h.ODS
		}
		d.say("  last event: %s%s at %s:%s", h.Kind, who, h.Time[8:10], h.Time[10:12])
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
