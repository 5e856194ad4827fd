package spine_test

// Races over the wire. Dispensers and prescribers send at the same moment,
// through the real HTTP endpoint, into SQLite (one process, group commit)
// and into PostgreSQL (two service instances on one database, as two Spine
// nodes would run): every outcome must be one a serial order of the same
// messages gives. The store's optimistic locking on the record's SCN, with
// the transaction retried on a conflict, is what makes it so.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/dispense"
	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/postgres"
	"github.com/openeps/openeps/internal/store/sqlite"
	"github.com/openeps/openeps/internal/testutil/pgtest"
)

// TestMain stops the throw-away PostgreSQL cluster the race tests start.
func TestMain(m *testing.M) { pgtest.Main(m) }

// cluster is one or more service instances over one store, each with its
// own HTTP server, and one clock.
type cluster struct {
	t     *testing.T
	nodes []*env
	mu    sync.Mutex
	now   time.Time
}

func (c *cluster) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// tick moves the clock on a second and returns it.
func (c *cluster) tick() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

// node returns instance i (wrapping round).
func (c *cluster) node(i int) *env { return c.nodes[i%len(c.nodes)] }

// backends are the stores the races run on: SQLite, one instance; and
// PostgreSQL, two instances (two connection pools) on one database.
var backends = []struct {
	name  string
	nodes func(t *testing.T) []store.Store
}{
	{"sqlite", func(t *testing.T) []store.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "eps.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return []store.Store{st}
	}},
	{"postgres", func(t *testing.T) []store.Store {
		dsn := pgtest.DSN(t)
		var out []store.Store
		for range 2 {
			db, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			out = append(out, db)
		}
		return out
	}},
}

func newCluster(t *testing.T, stores []store.Store, cfg *rx.Config) *cluster {
	t.Helper()
	c := &cluster{t: t, now: day0}
	for _, st := range stores {
		svc, err := spine.New(spine.Config{Store: st, Now: c.clock, Rx: cfg})
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, &env{t: t, store: st, svc: svc, srv: newLoopbackServer(t, svc)})
	}
	return c
}

// eachBackend runs f on SQLite and on PostgreSQL.
func eachBackend(t *testing.T, cfg *rx.Config, f func(t *testing.T, c *cluster)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, newCluster(t, b.nodes(t), cfg))
		})
	}
}

// wire is a message ready to go: the ebXML request built beforehand, so the
// goroutines racing do nothing but send.
type wire struct {
	ctype string
	body  []byte
	to    *env
}

func prepare(t *testing.T, to *env, hl7 []byte) wire {
	t.Helper()
	ctype, body := ebxmlRequest(t, hl7, rootOf(hl7))
	return wire{ctype, body, to}
}

// post sends w and returns the HL7 answer (or an error: no t.Fatal off the
// test goroutine).
func (w wire) post() ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, w.to.srv.URL+"/reliablemessaging/reliablerequest", bytes.NewReader(w.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", w.ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	m, err := ebxml.Parse(resp.Header.Get("Content-Type"), raw, ebxml.Limits{})
	if err != nil || resp.StatusCode != http.StatusOK || len(m.Payload) == 0 {
		return nil, fmt.Errorf("HTTP %d: %v\n%s", resp.StatusCode, err, raw)
	}
	return m.Payload, nil
}

// race sends every message at the same moment and returns the HL7 answers in
// the same order.
func race(t *testing.T, msgs ...wire) [][]byte {
	t.Helper()
	out := make([][]byte, len(msgs))
	errs := make([]error, len(msgs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], errs[i] = m.post()
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	return out
}

// must sends one message on node 0 and checks the answer.
func (c *cluster) must(step string, hl7 []byte, interaction, ackType, code string) reply {
	c.t.Helper()
	b, err := prepare(c.t, c.node(0), hl7).post()
	if err != nil {
		c.t.Fatalf("%s: %v", step, err)
	}
	r := readReply(c.t, b)
	if r.interaction != interaction || r.ack != ackType || r.code.Value != code {
		c.t.Fatalf("%s: %s; want %s %s %s", step, r, interaction, ackType, code)
	}
	return r
}

// prescribe sends a new prescription nominated to nominated.
func (c *cluster) prescribe(nominated string) prescribe.Prescription {
	c.t.Helper()
	p := prescribe.Example(c.tick(), nominated)
	b, err := prescribe.Build(&p)
	if err != nil {
		c.t.Fatal(err)
	}
	c.must("prescription", b, mcci, "AA", "")
	return p
}

func kinds(v spine.PrescriptionView, kind rx.HistoryKind) int {
	n := 0
	for _, h := range v.Dispensing {
		if h.Kind == kind {
			n++
		}
	}
	return n
}

// TestRacePatientRelease: two pharmacies scan the same token at the same
// moment. Exactly one gets the prescription; the other is refused 16.34/0004
// naming the one that has it; the record shows one release.
func TestRacePatientRelease(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, c *cluster) {
		won := map[string]int{}
		for round := range 15 {
			p := c.prescribe("")
			a, b := pharmacyA(), pharmacyB()
			ra, err := dispense.PatientRelease(a, p.ShortID, c.tick())
			if err != nil {
				t.Fatal(err)
			}
			rb, err := dispense.PatientRelease(b, p.ShortID, c.clock())
			if err != nil {
				t.Fatal(err)
			}
			answers := race(t, prepare(t, c.node(0), ra), prepare(t, c.node(1), rb))
			replies := []reply{readReply(t, answers[0]), readReply(t, answers[1])}
			pharmacies := []string{a.ODS, b.ODS}
			winner := ""
			for i, r := range replies {
				if r.interaction == relPatient {
					if winner != "" {
						t.Fatalf("round %d: both pharmacies were given the prescription", round)
					}
					winner = pharmacies[i]
					if len(r.released) != 1 || r.released[0].PrescriptionID != p.ShortID {
						t.Fatalf("round %d: released %+v", round, r.released)
					}
				}
			}
			if winner == "" {
				t.Fatalf("round %d: neither pharmacy got it: %s / %s", round, replies[0], replies[1])
			}
			won[winner]++
			for i, r := range replies {
				if pharmacies[i] == winner {
					continue
				}
				if r.interaction != relReject || r.code != epserr.RejectWithAnother || r.performer != winner {
					t.Fatalf("round %d: the loser %s got %s; want 16.34/0004 naming %s", round, pharmacies[i], r, winner)
				}
			}
			v, _ := c.node(0).view(p.ShortID)
			if v.Status != "0002" || v.DispenserODS != winner || kinds(v, rx.HistReleased) != 1 || v.SCN != 2 {
				t.Fatalf("round %d: record %s with %q, %d releases, SCN %d; want 0002 with %s, one release, SCN 2",
					round, v.Status, v.DispenserODS, kinds(v, rx.HistReleased), v.SCN, winner)
			}
		}
		t.Logf("wins: %v", won)
	})
}

// TestRaceNominatedRelease: one pharmacy's systems ask for their nominated
// prescriptions at once, batch after batch until none are left. No
// prescription is handed out twice and none is left behind.
func TestRaceNominatedRelease(t *testing.T) {
	cfg := rx.DefaultConfig()
	cfg.NominatedBatchSize = 3
	eachBackend(t, &cfg, func(t *testing.T, c *cluster) {
		const prescriptions, systems = 14, 4
		want := map[string]bool{}
		for range prescriptions {
			want[c.prescribe("FA565").ShortID] = true
		}
		c.prescribe("FCG71") // not theirs
		given := map[string]int{}
		for batch := 0; len(given) < prescriptions; batch++ {
			if batch > prescriptions {
				t.Fatalf("after %d rounds of requests, %d of %d prescriptions released", batch, len(given), prescriptions)
			}
			var msgs []wire
			for i := range systems {
				d := pharmacyA()
				b, err := dispense.NominatedRelease(d, c.tick())
				if err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, prepare(t, c.node(i), b))
			}
			for i, b := range race(t, msgs...) {
				r := readReply(t, b)
				switch {
				case r.interaction == relNom:
					if len(r.released) > cfg.NominatedBatchSize {
						t.Fatalf("system %d: %d in one batch of %d", i, len(r.released), cfg.NominatedBatchSize)
					}
					for _, rel := range r.released {
						given[rel.PrescriptionID]++
						if !want[rel.PrescriptionID] {
							t.Errorf("released %s, not nominated to FA565", rel.PrescriptionID)
						}
					}
				case r.interaction == relReject && r.code == epserr.RejectNoMoreNominated:
				default:
					t.Fatalf("system %d: %s", i, r)
				}
			}
		}
		for id, n := range given {
			if n != 1 {
				t.Errorf("%s was handed out %d times", id, n)
			}
			v, _ := c.node(0).view(id)
			if v.Status != "0002" || v.DispenserODS != "FA565" || kinds(v, rx.HistReleased) != 1 {
				t.Errorf("%s: %s with %q, %d releases", id, v.Status, v.DispenserODS, kinds(v, rx.HistReleased))
			}
		}
		b, err := dispense.NominatedRelease(pharmacyA(), c.tick())
		if err != nil {
			t.Fatal(err)
		}
		c.must("one more request", b, relReject, "AE", "0006")
	})
}

// TestRaceReplay: a message sent again and again at once (a sender retrying
// on several connections, each a new ebXML message): it is applied once,
// and every answer is the first answer, byte for byte.
func TestRaceReplay(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, c *cluster) {
		for round := range 6 {
			p := c.prescribe("FA565")
			d := pharmacyA()
			// Round by round: the patient release, then the notification.
			rel, err := dispense.PatientRelease(d, p.ShortID, c.tick())
			if err != nil {
				t.Fatal(err)
			}
			msgs := func(b []byte) []wire {
				var out []wire
				for i := range 6 {
					out = append(out, prepare(t, c.node(i), b))
				}
				return out
			}
			answers := race(t, msgs(rel)...)
			sameAnswers(t, fmt.Sprintf("round %d release", round), answers)
			r := readReply(t, answers[0])
			if r.interaction != relPatient {
				t.Fatalf("round %d: release answered %s", round, r)
			}
			v, _ := c.node(0).view(p.ShortID)
			if v.SCN != 2 || kinds(v, rx.HistReleased) != 1 || len(v.History) != 2 {
				t.Fatalf("round %d: after the release, SCN %d, %d releases, %d messages; want 2, 1, 2",
					round, v.SCN, kinds(v, rx.HistReleased), len(v.History))
			}
			released := r.released[0]
			dn, err := dispense.Notification(d, released, dispense.FullSupplies(released), c.tick())
			if err != nil {
				t.Fatal(err)
			}
			answers = race(t, msgs(dn)...)
			sameAnswers(t, fmt.Sprintf("round %d notification", round), answers)
			if r := readReply(t, answers[0]); r.interaction != mcci || r.ack != "AA" {
				t.Fatalf("round %d: notification answered %s", round, r)
			}
			v, _ = c.node(0).view(p.ShortID)
			if v.Status != "0006" || v.SCN != 3 || kinds(v, rx.HistDispensed) != 1 || len(v.History) != 3 {
				t.Fatalf("round %d: after the notification, %s, SCN %d, %d dispensed, %d messages; want 0006, 3, 1, 3",
					round, v.Status, v.SCN, kinds(v, rx.HistDispensed), len(v.History))
			}
			// And a replay long after is answered the same.
			again, err := prepare(t, c.node(1), dn).post()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, answers[0]) {
				t.Fatalf("round %d: a later replay got another answer", round)
			}
		}
	})
}

func sameAnswers(t *testing.T, what string, answers [][]byte) {
	t.Helper()
	for i, a := range answers[1:] {
		if !bytes.Equal(a, answers[0]) {
			t.Fatalf("%s: answer %d differs from answer 1:\n%s\n----\n%s", what, i+2, a, answers[0])
		}
	}
}

// TestRaceDispenseAndCancel: the pharmacy's dispense notification and the
// prescriber's cancellation arrive together. The outcome is one of the two
// serial orders, whole: the notification first (the cancel is refused,
// dispensed), or the cancel first (held for the dispenser, then failed by
// the notification, and the prescriber told so later) — never a mixture.
func TestRaceDispenseAndCancel(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, c *cluster) {
		orders := map[string]int{}
		for round := range 12 {
			p := c.prescribe("FA565")
			d := pharmacyA()
			rel, err := dispense.PatientRelease(d, p.ShortID, c.tick())
			if err != nil {
				t.Fatal(err)
			}
			released := c.must("release", rel, relPatient, "AA", "").released[0]
			dn, err := dispense.Notification(d, released, dispense.FullSupplies(released), c.tick())
			if err != nil {
				t.Fatal(err)
			}
			cancel, err := prescribe.Cancel(prescribe.CancelOf(&p, "", "", c.clock()))
			if err != nil {
				t.Fatal(err)
			}
			outBefore := len(outbox(t, c.node(0).store))
			answers := race(t, prepare(t, c.node(0), dn), prepare(t, c.node(1), cancel))
			dnAns, cancelAns := readReply(t, answers[0]), readReply(t, answers[1])
			v, _ := c.node(0).view(p.ShortID)
			queued := outbox(t, c.node(0).store)[outBefore:]
			var tail []string
			for _, h := range v.Dispensing[len(v.Dispensing)-3:] {
				tail = append(tail, string(h.Kind))
			}
			if dnAns.interaction != mcci || dnAns.ack != "AA" {
				t.Fatalf("round %d: the notification got %s", round, dnAns)
			}
			if v.Status != "0006" || len(v.PendingCancellations) != 0 || v.SCN != 4 {
				t.Fatalf("round %d: record %s, %d pending, SCN %d; want 0006, none, 4", round, v.Status,
					len(v.PendingCancellations), v.SCN)
			}
			switch cancelAns.code {
			case epserr.CancelDispensed: // the notification first
				if cancelAns.performer != "FA565" || len(queued) != 0 ||
					fmt.Sprint(tail[1:]) != fmt.Sprint([]string{"dispensed", "cancellationRefused"}) {
					t.Fatalf("round %d: dispensed first, but cancel %s, %d queued, history %v", round, cancelAns, len(queued), tail)
				}
				orders["notification first"]++
			case epserr.CancelWithDispenser: // the cancel first
				want := []string{"cancellationPending", "dispensed", "pendingCancellationFailed"}
				if len(queued) != 1 || fmt.Sprint(tail) != fmt.Sprint(want) {
					t.Fatalf("round %d: cancel first, but %d queued, history %v; want 1 and %v", round, len(queued), tail, want)
				}
				if code := subsequentCode(t, queued[0]); code != epserr.CancelDispensed.Value {
					t.Fatalf("round %d: the prescriber is told %s; want 0004 dispensed", round, code)
				}
				orders["cancel first"]++
			default:
				t.Fatalf("round %d: the cancel got %s", round, cancelAns)
			}
		}
		t.Logf("orders seen: %v", orders)
	})
}

func subsequentCode(t *testing.T, it store.OutboxItem) string {
	t.Helper()
	if it.Interaction != subsequent {
		t.Fatalf("queued %s; want a subsequent cancellation response", it.Interaction)
	}
	r := readReply(t, it.Body)
	return r.code.Value
}
