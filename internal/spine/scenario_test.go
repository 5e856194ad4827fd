package spine_test

// The lifecycle over the wire: every status transition of lifecycle.md §2–§3
// and every error and response code of §6 the service can produce, each as a
// Given / When / Then scenario run through the real service — ebXML over
// HTTP on loopback into a real SQLite file — in a fresh environment. Given
// is the messages a prescriber and dispensers send first, each checked to be
// taken as meant; When is one more message (or a sweep at a clock); Then is
// the exact answer (interaction, acknowledgement type, code system, code and
// display) and the record afterwards as GET /api/prescriptions/{id} shows it.
// Messages are built the way real systems build them (internal/prescribe,
// internal/dispense), and what a dispenser sends after a release is built
// from the release response the service answered (dispense.ReadRelease).
//
// internal/rx proves each rule on the pure lifecycle; this suite proves the
// service carries them to the wire and the store. Codes no message can make
// the service send are listed in unreachableCodes with the reason, and
// TestEveryCodeAccountedFor fails for a code of internal/epserr that is in
// neither place.

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/dispense"
	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/sqlite"
)

// day0 is when the scenarios' prescriptions are written (a Monday morning).
var day0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// The answers the Spine sends, by interaction.
const (
	mcci       = hl7v3.ApplicationAcknowledgement // MCCI_IN010000UK13
	relPatient = hl7v3.PatientReleaseResponse     // PORX_IN070103UK31
	relNom     = hl7v3.NominatedReleaseResponse   // PORX_IN070101UK31
	relReject  = hl7v3.ReleaseRejection           // PORX_IN110101UK30
	cancelResp = hl7v3.CancelResponse             // PORX_IN050101UK31
	subsequent = hl7v3.SubsequentCancelResponse   // PORX_IN050102UK32
	noClaim    = hl7v3.NoClaimNotification        // PORX_IN460101UK31
)

// Pharmacies: A is the one prescribe.Example nominates; B is another.
func pharmacyA() dispense.Dispenser { return dispense.Example() }

func pharmacyB() dispense.Dispenser {
	d := dispense.Example()
	d.ODS, d.Name, d.ASID = "FCG71", "HIGH STREET CHEMIST", "230811201999"
	d.SDSUserID, d.RoleProfileID, d.PersonName = "555086689204", "555086690207", "Sam Jones"
	return d
}

// newScenarioEnv is newEnv with the lifecycle configured by cfg (nil: the
// defaults).
func newScenarioEnv(t *testing.T, cfg *rx.Config) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "eps.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, store: st, now: day0}
	svc, err := spine.New(spine.Config{Store: st, Now: e.clock, Rx: cfg})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.srv = newLoopbackServer(t, svc)
	return e
}

// reply is one HL7 answer, read the way the sender reads it.
type reply struct {
	raw         []byte // the HL7 document
	interaction string // canonical interaction ID
	ack         string // acknowledgement typeCode of the wrapper (AA, AE, AR; ER on a rejection)
	code        epserr.Code
	performer   string // the dispenser a rejection or cancel response names
	released    []dispense.Released
	ref         string // the message ID it answers
	// requestRef is the payload ID of the request a release response,
	// rejection or cancel response names; prescriptionID the prescription a
	// cancel response names.
	requestRef, prescriptionID string
}

func (r reply) String() string {
	s := r.interaction + " " + r.ack
	if !r.code.IsZero() {
		s += " " + r.code.System + "/" + r.code.Value + " " + r.code.Display
	}
	if r.performer != "" {
		s += " (performer " + r.performer + ")"
	}
	return s
}

// readReply reads any answer the Spine sends.
func readReply(t *testing.T, payload []byte) reply {
	t.Helper()
	m, err := hl7v3.Decode(payload)
	if err != nil {
		t.Fatalf("the answer does not decode: %v\n%s", err, payload)
	}
	h := m.Header()
	r := reply{raw: payload, interaction: m.Interaction, ack: h.AckType, ref: h.AckMessageRef}
	switch p := m.Payload().(type) {
	case *hl7v3.PORX_MT121201UK30_PrescriptionReleaseReject:
		v := p.View()
		r.code = epserr.Code{System: v.Reason.System, Value: v.Reason.Code, Display: v.Reason.Display}
		r.performer, r.requestRef = v.Dispenser.OrgODS, v.RequestPayloadID
	case *hl7v3.PORX_MT135201UK31_CancellationResponse:
		v := p.View()
		r.code = epserr.Code{System: v.Response.System, Value: v.Response.Code, Display: v.Response.Display}
		r.performer, r.requestRef, r.prescriptionID = v.Dispenser.OrgODS, v.CancelRequestID, v.PrescriptionID
	case *hl7v3.PORX_MT122002UK31_PrescriptionReleaseResponse:
		rel, err := dispense.ReadRelease(payload)
		if err != nil {
			t.Fatalf("release response: %v", err)
		}
		r.released, r.requestRef = rel, p.View().RequestPayloadID
	default:
		a, ok := hl7v3.ReadAck(m)
		if !ok {
			t.Fatalf("answer %s is not one the Spine sends", m.Root)
		}
		r.ack, r.ref = a.Type, a.Ref
		if len(a.Errors) > 0 {
			r.code = a.Errors[0]
		}
	}
	return r
}

// world is one scenario's environment and what its systems know: the
// prescription written, what the last release gave each dispenser, the
// dispense notifications sent.
type world struct {
	t   *testing.T
	e   *env
	now time.Time

	p   prescribe.Prescription // the prescription (IDs filled in by Build)
	raw []byte                 // its message
	// rel is what the last release response gave, by pharmacy ODS.
	rel map[string]dispense.Released
	// dns are the dispense notifications accepted, oldest first.
	dns [][]byte
	// claim is the last claim accepted.
	claim []byte
	// others are further prescriptions (nominated batches).
	others []prescribe.Prescription
	// answers are the HL7 answers to the Given's messages, by message ID.
	answers map[string][]byte
	// replayed is a message a replay scenario sends again.
	replayed []byte
	// sent is the When's message.
	sent []byte
}

// tick moves the clock on a minute and returns the time: each message is
// written at the moment the service receives it.
func (w *world) tick() time.Time {
	w.now = w.now.Add(time.Minute)
	w.e.setClock(w.now)
	return w.now
}

// at puts the clock at t.
func (w *world) at(t time.Time) {
	w.now = t
	w.e.setClock(t)
}

// days moves the clock on by n days.
func (w *world) days(n int) { w.at(w.now.AddDate(0, 0, n)) }

func (w *world) must(b []byte, err error) []byte {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// send posts a message over HTTP and reads the HL7 answer.
func (w *world) send(b []byte) reply {
	w.t.Helper()
	a := w.e.send(b)
	if a.status != 200 || len(a.ebxml.Payload) == 0 {
		w.t.Fatalf("HTTP %d with no HL7 answer:\n%s", a.status, a.raw)
	}
	if id, err := dispense.IDOf(b); err == nil {
		if w.answers == nil {
			w.answers = map[string][]byte{}
		}
		if _, ok := w.answers[id]; !ok {
			w.answers[id] = a.ebxml.Payload
		}
	}
	return readReply(w.t, a.ebxml.Payload)
}

// expect sends b as a Given step and checks it is taken as meant: the
// interaction, acknowledgement and code (code "" = none).
func (w *world) expect(step string, b []byte, interaction, ackType, code string) reply {
	w.t.Helper()
	r := w.send(b)
	if r.interaction != interaction || r.ack != ackType || r.code.Value != code {
		w.t.Fatalf("given %s: %s; want %s %s %s", step, r, interaction, ackType, code)
	}
	return r
}

// ok sends b as a Given step that must be acknowledged AA.
func (w *world) ok(step string, b []byte) reply {
	w.t.Helper()
	return w.expect(step, b, mcci, "AA", "")
}

// ---- the prescriber's messages ----

// prescription builds w.p (prescribe.Example nominated to nominated, at
// the clock, changed by mods) without sending it.
func (w *world) prescription(nominated string, mods ...func(*prescribe.Prescription)) []byte {
	w.t.Helper()
	w.p = prescribe.Example(w.tick(), nominated)
	for _, m := range mods {
		m(&w.p)
	}
	w.raw = w.must(prescribe.Build(&w.p))
	return w.raw
}

// prescribed sends a prescription and checks it is stored.
func (w *world) prescribed(nominated string, mods ...func(*prescribe.Prescription)) {
	w.t.Helper()
	w.ok("prescription", w.prescription(nominated, mods...))
}

func repeatDispensing(n int) func(*prescribe.Prescription) {
	return func(p *prescribe.Prescription) { p.TreatmentType, p.RepeatHigh = "0003", n }
}

func repeatPrescribing(n int) func(*prescribe.Prescription) {
	return func(p *prescribe.Prescription) { p.TreatmentType, p.RepeatHigh = "0002", n }
}

func oneItem(p *prescribe.Prescription) { p.Items = p.Items[:1] }

// cancel builds a cancel request for w.p (item 0 = the whole prescription,
// else that line item, 1-based) with reason.
func (w *world) cancel(item int, reason string, mods ...func(*prescribe.CancelRequest)) []byte {
	w.t.Helper()
	li := ""
	if item > 0 {
		li = w.p.Items[item-1].ID
	}
	c := prescribe.CancelOf(&w.p, li, reason, w.tick())
	for _, m := range mods {
		m(&c)
	}
	return w.must(prescribe.Cancel(c))
}

// byOtherPrescriber makes a cancel come from another practice.
func byOtherPrescriber(c *prescribe.CancelRequest) {
	c.Prescriber.OrgODS, c.Prescriber.OrgName, c.SenderASID = "B82005", "THE DALE SURGERY", "200000001999"
}

// ---- the dispensers' messages ----

func (w *world) patientRelease(d dispense.Dispenser) []byte {
	return w.must(dispense.PatientRelease(d, w.p.ShortID, w.tick()))
}

func (w *world) nominatedRelease(d dispense.Dispenser) []byte {
	return w.must(dispense.NominatedRelease(d, w.tick()))
}

// released has d release w.p by its ID and keeps what the response gave.
func (w *world) released(d dispense.Dispenser) dispense.Released {
	w.t.Helper()
	r := w.expect("patient release", w.patientRelease(d), relPatient, "AA", "")
	w.keep(d, r)
	return w.rel[d.ODS]
}

func (w *world) keep(d dispense.Dispenser, r reply) {
	w.t.Helper()
	if len(r.released) == 0 {
		w.t.Fatalf("no prescription in the release response")
	}
	if w.rel == nil {
		w.rel = map[string]dispense.Released{}
	}
	for _, rel := range r.released {
		if rel.PrescriptionID == w.p.ShortID {
			w.rel[d.ODS] = rel
			return
		}
	}
	w.rel[d.ODS] = r.released[0]
}

// supply names what happens to each line item of the released
// prescription, in order: "full", "partial:<qty>", "owing", "not", "none"
// (restated with nothing handed over), "skip" (left out of the message).
func (w *world) supplies(r dispense.Released, how ...string) []dispense.Supply {
	w.t.Helper()
	var out []dispense.Supply
	for i, it := range r.Items {
		h := "full"
		if i < len(how) {
			h = how[i]
		}
		switch {
		case h == "full":
			out = append(out, dispense.FullSupply(it))
		case strings.HasPrefix(h, "partial:"):
			out = append(out, dispense.PartialSupply(it, strings.TrimPrefix(h, "partial:")))
		case h == "owing":
			out = append(out, dispense.Supply{ItemID: it.ID, Status: dispense.ItemOwing, NotDispensedReason: "0003"})
		case h == "not":
			out = append(out, dispense.NotSupplied(it, "0002"))
		case h == "none":
			out = append(out, dispense.Supply{ItemID: it.ID, Status: dispense.ItemFullyDispensed})
		case strings.HasPrefix(h, "rest:"):
			s := dispense.FullSupply(it)
			s.Products[0].Quantity = strings.TrimPrefix(h, "rest:")
			s.RunningTotal = it.Quantity
			out = append(out, s)
		case h == "skip":
		default:
			w.t.Fatalf("supply %q?", h)
		}
	}
	return out
}

// dn builds a dispense notification from what d was released.
func (w *world) dn(d dispense.Dispenser, how []string, opts ...dispense.Option) []byte {
	w.t.Helper()
	r := w.rel[d.ODS]
	return w.must(dispense.Notification(d, r, w.supplies(r, how...), w.tick(), opts...))
}

// dispensed sends a notification that must be accepted.
func (w *world) dispensed(d dispense.Dispenser, how ...string) []byte {
	w.t.Helper()
	b := w.dn(d, how)
	w.ok("dispense notification", b)
	w.dns = append(w.dns, b)
	return b
}

func (w *world) lastDN() string {
	w.t.Helper()
	id, err := dispense.IDOf(w.dns[len(w.dns)-1])
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *world) claimMsg(d dispense.Dispenser, opts ...dispense.Option) []byte {
	w.t.Helper()
	r := w.rel[d.ODS]
	return w.must(dispense.Claim(d, r, dispense.FullSupplies(r), w.tick(), opts...))
}

func (w *world) claimed(d dispense.Dispenser) {
	w.t.Helper()
	w.claim = w.claimMsg(d)
	w.ok("claim", w.claim)
}

func (w *world) returnMsg(d dispense.Dispenser) []byte {
	return w.must(dispense.Return(d, w.rel[d.ODS], "0002", w.tick()))
}

func (w *world) withdrawMsg(d dispense.Dispenser, dnID, kind string) []byte {
	return w.must(dispense.Withdraw(d, w.rel[d.ODS], dnID, kind, "QU", w.tick()))
}

func (w *world) rebuildMsg(d dispense.Dispenser, dns ...[]byte) []byte {
	return w.must(dispense.Rebuild(d, w.rel[d.ODS], "QU", dns, w.tick()))
}

// ---- what a scenario checks ----

// when is the step under test: a message, or a sweep at the clock.
type when struct {
	msg   []byte
	sweep bool
}

func send(b []byte) when { return when{msg: b} }

// sweep runs the time-based rules at the clock (moved by the Given).
var sweep = when{sweep: true}

// then is what the scenario expects after its When.
type then struct {
	// The answer. interaction "" = a sweep (no answer).
	interaction string
	ack         string
	code        epserr.Code // zero: no code
	// detail is text the Spine appends to the display ("… - detail"); the
	// display must then be code.Display + " - " + text containing detail.
	detail    string
	performer string // the dispenser a rejection or cancel response names
	// shown are the statuses a release response shows for w.p: the
	// prescription status then each line item's.
	shown []string
	// released is how many prescriptions a release response carries (0: not checked).
	released int

	// The record afterwards (GET /api/prescriptions/{id}).
	gone      bool             // 404: no record (never made, or deleted)
	statuses  []string         // issue statuses 1..n
	items     map[int][]string // line item statuses by issue
	current   int              // current issue (0: not checked)
	dispenser string           // current issue's dispenser; "-" none; "" not checked
	nominated string           // nominated pharmacy; "-" none; "" not checked
	pending   []string         // targets of pending cancellations: "Prescription" or "item N"
	// history is the dispensing history kinds the When added, in order.
	history []string
	// moved: the SCN rose by one; false: the record did not change.
	moved bool
	// outbox is what the When put in the outbox for later delivery:
	// "<interaction> <code>" (code "" for none).
	outbox []string
	check  func(t *testing.T, w *world, r reply)
}

type scenario struct {
	name  string
	cfg   func(*rx.Config)
	given func(w *world)
	when  func(w *world) when
	then  then
}

// A transition is one issue or line item status change a scenario's When
// made, as the API showed it before and after: "P 0001>0002", "LI 0007>0008"
// ("" before: the issue was created; "deleted" after: the record went).
type transitions struct {
	mu   sync.Mutex
	seen map[string][]string // transition → scenarios
	ran  int
}

func (tr *transitions) note(name string, before, after *spine.PrescriptionView) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.ran++
	add := func(k string) {
		if !slices.Contains(tr.seen[k], name) {
			tr.seen[k] = append(tr.seen[k], name)
		}
	}
	if after == nil {
		if before != nil {
			for _, is := range before.Issues {
				add("P " + is.Status + ">deleted")
			}
		}
		return
	}
	for i, is := range after.Issues {
		var old *spine.IssueView
		if before != nil && i < len(before.Issues) {
			old = &before.Issues[i]
		}
		from := ""
		if old != nil {
			from = old.Status
		}
		if from != is.Status {
			add("P " + from + ">" + is.Status)
		}
		for j, li := range is.LineItems {
			lf := ""
			if old != nil && j < len(old.LineItems) {
				lf = old.LineItems[j].Status
			}
			if lf != li.Status {
				add("LI " + lf + ">" + li.Status)
			}
		}
	}
}

var observed = &transitions{seen: map[string][]string{}}

// TestScenarios runs every scenario, each in a fresh service, then checks
// that together they made every transition of lifecycle.md §2–§3.
func TestScenarios(t *testing.T) {
	observed = &transitions{seen: map[string][]string{}} // afresh for each run (-count)
	all := allScenarios()
	seenNames := map[string]bool{}
	for _, sc := range all {
		if seenNames[sc.name] {
			t.Fatalf("two scenarios are called %q", sc.name)
		}
		seenNames[sc.name] = true
	}
	t.Run("scenario", func(t *testing.T) {
		for _, sc := range all {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				runScenario(t, sc)
			})
		}
	})
	if observed.ran != len(all) || t.Failed() {
		return // a -run filter, or failures: the coverage claim is not checkable
	}
	var missing []string
	for _, tr := range requiredTransitions {
		if len(observed.seen[tr.key]) == 0 {
			missing = append(missing, fmt.Sprintf("%s (%s)", tr.key, tr.spec))
		}
	}
	if len(missing) > 0 {
		t.Errorf("no scenario makes these transitions:\n  %s", strings.Join(missing, "\n  "))
	}
	var extra []string
	required := map[string]bool{}
	for _, tr := range requiredTransitions {
		required[tr.key] = true
	}
	for k, names := range observed.seen {
		if !required[k] {
			extra = append(extra, fmt.Sprintf("%s (in %s)", k, names[0]))
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		// A transition the spec's tables do not list is either a rule
		// missing from requiredTransitions or a bug: either way, look.
		t.Errorf("scenarios made transitions requiredTransitions does not list:\n  %s", strings.Join(extra, "\n  "))
	}
}

func runScenario(t *testing.T, sc scenario) {
	var cfg *rx.Config
	if sc.cfg != nil {
		c := rx.DefaultConfig()
		sc.cfg(&c)
		cfg = &c
	}
	w := &world{t: t, e: newScenarioEnv(t, cfg), now: day0}
	if sc.given != nil {
		sc.given(w)
	}
	wh := sc.when(w)
	id := w.p.ShortID
	before, beforeCode := w.e.view(id)
	var beforeView *spine.PrescriptionView
	if beforeCode == 200 {
		beforeView = &before
	}
	outBefore := outboxIDs(t, w.e.store)

	var r reply
	th := sc.then
	if wh.sweep {
		if _, err := w.e.svc.Sweep(context.Background()); err != nil {
			t.Fatalf("sweep: %v", err)
		}
	} else {
		w.sent = wh.msg
		r = w.send(wh.msg)
		checkAnswer(t, w, th, r)
	}

	after, afterCode := w.e.view(id)
	var afterView *spine.PrescriptionView
	if afterCode == 200 {
		afterView = &after
	}
	observed.note(sc.name, beforeView, afterView)
	var sent *sentMsg
	if !wh.sweep {
		sent = &sentMsg{wh.msg, r}
	}
	checkView(t, th, beforeView, afterView, sent)
	checkOutbox(t, w.e.store, outBefore, th.outbox)
	if th.check != nil {
		th.check(t, w, r)
	}
}

// checkAnswer compares the answer with Then.
func checkAnswer(t *testing.T, w *world, th then, r reply) {
	t.Helper()
	if r.interaction != th.interaction || r.ack != th.ack {
		t.Errorf("answer %s; want %s %s", r, th.interaction, th.ack)
	}
	switch {
	case th.code.IsZero() && !r.code.IsZero():
		t.Errorf("answer carries %s/%s %q; want no code", r.code.System, r.code.Value, r.code.Display)
	case r.code.System != th.code.System || r.code.Value != th.code.Value:
		t.Errorf("code %s/%s %q; want %s/%s %q", r.code.System, r.code.Value, r.code.Display,
			th.code.System, th.code.Value, th.code.Display)
	case th.detail == "" && r.code.Display != th.code.Display:
		t.Errorf("display %q; want %q", r.code.Display, th.code.Display)
	case th.detail != "" && (!strings.HasPrefix(r.code.Display, th.code.Display+" - ") || !strings.Contains(r.code.Display, th.detail)):
		t.Errorf("display %q; want %q with %q", r.code.Display, th.code.Display+" - …", th.detail)
	}
	if r.performer != th.performer {
		t.Errorf("the answer names performer %q; want %q", r.performer, th.performer)
	}
	// Every answer refers to the message it answers, and a response to the
	// request inside it.
	req, err := hl7v3.Decode(w.sent)
	if err == nil {
		if !strings.EqualFold(r.ref, req.Header().MessageID) {
			t.Errorf("the answer refers to message %q; want %q", r.ref, req.Header().MessageID)
		}
		if r.interaction != mcci {
			if id := payloadID(req); !strings.EqualFold(r.requestRef, id) {
				t.Errorf("the answer refers to request %q; want %q", r.requestRef, id)
			}
		}
		if r.interaction == cancelResp && r.prescriptionID != w.p.ShortID && r.prescriptionID != payloadPrescriptionID(req) {
			t.Errorf("the cancel response names prescription %q; want %q", r.prescriptionID, w.p.ShortID)
		}
	}
	if th.released > 0 && len(r.released) != th.released {
		t.Errorf("%d prescriptions released; want %d", len(r.released), th.released)
	}
	if th.shown != nil {
		var got []string
		for _, rel := range r.released {
			if rel.PrescriptionID != w.p.ShortID {
				continue
			}
			got = append(got, rel.Status)
			for _, it := range rel.Items {
				got = append(got, it.Status)
			}
		}
		if !reflect.DeepEqual(got, th.shown) {
			t.Errorf("the release response shows %v; want %v", got, th.shown)
		}
	}
}

// checkView compares the record the API shows with Then.
func checkView(t *testing.T, th then, before, after *spine.PrescriptionView, sent *sentMsg) {
	t.Helper()
	if th.gone {
		if after != nil {
			t.Errorf("the record is there (status %s); want none", after.Status)
		}
		return
	}
	if after == nil {
		t.Fatalf("no record afterwards")
	}
	var sts []string
	for _, is := range after.Issues {
		sts = append(sts, is.Status)
	}
	if th.statuses != nil && !reflect.DeepEqual(sts, th.statuses) {
		t.Errorf("issue statuses %v; want %v", sts, th.statuses)
	}
	for n, want := range th.items {
		var got []string
		if n >= 1 && n <= len(after.Issues) {
			for _, li := range after.Issues[n-1].LineItems {
				got = append(got, li.Status)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("issue %d line items %v; want %v", n, got, want)
		}
	}
	if th.current != 0 && after.CurrentIssue != th.current {
		t.Errorf("current issue %d; want %d", after.CurrentIssue, th.current)
	}
	if th.dispenser != "" {
		want := th.dispenser
		if want == "-" {
			want = ""
		}
		if after.DispenserODS != want {
			t.Errorf("dispenser %q; want %q", after.DispenserODS, want)
		}
	}
	if th.nominated != "" {
		want := th.nominated
		if want == "-" {
			want = ""
		}
		if after.NominatedODS != want {
			t.Errorf("nominated %q; want %q", after.NominatedODS, want)
		}
	}
	var pend []string
	for _, c := range after.PendingCancellations {
		pend = append(pend, target(after, c))
	}
	if !reflect.DeepEqual(pend, th.pending) {
		t.Errorf("pending cancellations %v; want %v", pend, th.pending)
	}
	var oldHist []rx.HistoryEntry
	var oldSCN int64
	if before != nil {
		oldHist, oldSCN = before.Dispensing, before.SCN
	}
	var kinds []string
	if len(after.Dispensing) >= len(oldHist) {
		for _, h := range after.Dispensing[len(oldHist):] {
			kinds = append(kinds, string(h.Kind))
		}
	}
	if !reflect.DeepEqual(kinds, th.history) {
		t.Errorf("history added %v; want %v", kinds, th.history)
	}
	// The message the When sent, if the record lists it, is listed with
	// the answer it got.
	if sent != nil {
		id, _ := dispense.IDOf(sent.msg)
		for _, m := range after.History {
			if strings.EqualFold(m.MessageID, id) && hl7v3.Canonical(m.Interaction) == hl7v3.Canonical(rootOf(sent.msg)) &&
				m.Outcome != outcomeOf(sent.r) {
				t.Errorf("the record lists the message with outcome %q; it was answered %q", m.Outcome, outcomeOf(sent.r))
			}
		}
	}
	switch {
	case th.moved && after.SCN != oldSCN+1:
		t.Errorf("SCN %d → %d; want it moved by one", oldSCN, after.SCN)
	case !th.moved && after.SCN != oldSCN:
		t.Errorf("SCN %d → %d; want it unchanged", oldSCN, after.SCN)
	}
}

// sentMsg is the When's message and its answer.
type sentMsg struct {
	msg []byte
	r   reply
}

// outcomeOf is how the service summarises an answer in a record's history.
func outcomeOf(r reply) string {
	if r.code.IsZero() {
		return r.ack
	}
	return r.ack + " " + r.code.Value + " " + r.code.Display
}

// payloadID is the id of a request's payload (what a response names).
func payloadID(m *hl7v3.Message) string {
	switch p := m.Payload().(type) {
	case *hl7v3.PORX_MT121002UK30_PatientPrescriptionReleaseRequest:
		return p.ID.Root
	case *hl7v3.PORX_MT121001UK30_NominatedPrescriptionReleaseRequest:
		return p.ID.Root
	case *hl7v3.PORX_MT135001UK32_CancellationRequest:
		return p.ID.Root
	}
	return ""
}

// target names a cancellation's target as Then does.
func target(v *spine.PrescriptionView, c rx.Cancellation) string {
	if c.LineItemID == "" {
		return "Prescription"
	}
	for i, li := range v.LineItems {
		if strings.EqualFold(li.ID, c.LineItemID) {
			return fmt.Sprintf("item %d", i+1)
		}
	}
	return "item " + c.LineItemID
}

func outboxIDs(t *testing.T, st store.Store) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, it := range outbox(t, st) {
		ids[it.ID] = true
	}
	return ids
}

func outbox(t *testing.T, st store.Store) []store.OutboxItem {
	t.Helper()
	var items []store.OutboxItem
	err := st.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		items, err = tx.Outbox(context.Background(), "", time.Time{}, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// checkOutbox compares what the When queued with Then.
func checkOutbox(t *testing.T, st store.Store, before map[string]bool, want []string) {
	t.Helper()
	var got []string
	for _, it := range outbox(t, st) {
		if before[it.ID] {
			continue
		}
		code := ""
		if m, err := hl7v3.Decode(it.Body); err == nil {
			if cr, ok := m.Payload().(*hl7v3.PORX_MT135201UK31_CancellationResponse); ok {
				code = cr.View().Response.Code
			}
		} else {
			t.Errorf("outbox item %s does not decode: %v", it.Interaction, err)
		}
		got = append(got, strings.TrimSpace(hl7v3.Canonical(it.Interaction)+" "+code))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("queued %v; want %v", got, want)
	}
}

// ---- edits a faulty or hostile system would make ----

// edit replaces the first occurrence of old in b (failing if there is none).
func edit(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("edit: %q not in the message", old)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

// editAll replaces every occurrence.
func editAll(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("edit: %q not in the message", old)
	}
	return bytes.ReplaceAll(b, []byte(old), []byte(new))
}

// newLoopbackServer serves svc over HTTP on loopback for the test.
func newLoopbackServer(t *testing.T, svc *spine.Service) *httptest.Server {
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// payloadPrescriptionID is the prescription ID a cancellation request names,
// as sent (a cancel response repeats it, malformed or not).
func payloadPrescriptionID(req *hl7v3.Message) string {
	if p, ok := req.Payload().(*hl7v3.PORX_MT135001UK32_CancellationRequest); ok {
		return p.View().PrescriptionID
	}
	return ""
}
