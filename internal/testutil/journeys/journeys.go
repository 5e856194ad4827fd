// Package journeys loads the prescription journeys of the NHS EPS FHIR API
// examples (../shared/fixtures/hl7v3/eps-api/examples): one prescription per
// folder and number, its messages numbered Send, Release, Dispense, Claim,
// Return, Withdraw, DispenseAmend, Amend and Cancel. It puts each journey's
// steps in the order a pharmacy and a surgery would send them, makes the
// messages fit to send (a fresh message id where the examples reuse one, a
// nominated release request where a journey dispenses with no release), and
// says what the Spine answers at each step and the statuses after it.
//
// The lifecycle tests (internal/rxmsg, pure functions) and the service tests
// (internal/spine, over HTTP and a real store) replay the same journeys and
// compare with the same expectations.
package journeys

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/rxmsg"
	"github.com/openeps/openeps/internal/testutil"
)

// Step is one message of a journey.
type Step struct {
	Kind string // Send, Cancel, Release, NominatedRelease, Dispense, DispenseAmend, Withdraw, Return, Claim, Amend
	File string // the fixture ("" for a nominated release request made here)
	// Raw is the HL7 V3 document to send.
	Raw []byte
	// In is Raw mapped to the lifecycle's input (rxmsg.Input); Refused is
	// the decoder's error for a message that breaks its schema (the Spine
	// refuses it before any lifecycle rule; In is then mapped from a
	// lenient decode, so the journey still knows its prescription).
	In      any
	Refused error
	// At is when the message was sent: the clock must not be behind it.
	At time.Time
}

// Journey is one prescription's journey.
type Journey struct {
	Key   string // folder under examples + "#" + number
	Steps []Step
	// Want is, per step, "<kind> <ack> <code> → <issue statuses>": the
	// answer's acknowledgement type (ERR for a message refused before the
	// lifecycle), its first code ("" for none) and every issue's status
	// after the step ("-" for no record). Alternatives are split by " || ".
	Want []string
}

// Matches reports whether got, a step's outcome in the form of Want, is
// one of the outcomes step i allows.
func (j Journey) Matches(i int, got string) bool {
	for _, alt := range strings.Split(j.Want[i], " || ") {
		if got == alt {
			return true
		}
	}
	return false
}

var kindOrder = map[string]int{"Send": 0, "Cancel": 1, "Release": 2, "NominatedRelease": 2, "Dispense": 3,
	"DispenseAmend": 4, "Withdraw": 5, "Return": 6, "Claim": 7, "Amend": 8}

func kindOf(file string) string {
	b := filepath.Base(file)
	if i := strings.Index(b, "Response-"); i >= 0 {
		b = b[i+len("Response-"):]
	}
	return strings.TrimSuffix(b, "-200_OK.xml")
}

// Load reads every journey, sorted by key. It fails the test if the
// fixtures hold a journey with no expectation below, or the reverse.
func Load(t testing.TB) []Journey {
	t.Helper()
	root := testutil.Fixtures(t, "hl7v3", "eps-api", "examples")
	byJourney := map[string][]string{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, "-200_OK.xml") {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		n := filepath.Base(p)[:strings.Index(filepath.Base(p), "-")]
		key := filepath.ToSlash(rel) + "#" + n
		byJourney[key] = append(byJourney[key], p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range byJourney {
		if _, ok := expected[k]; !ok {
			t.Errorf("journey %s in the fixtures has no expected outcome", k)
		}
	}
	for k := range expected {
		if _, ok := byJourney[k]; !ok {
			t.Errorf("expected journey %s is not in the fixtures", k)
		}
	}
	steps := map[string][]Step{}
	sends := map[string]string{} // prescription ID → a Send file
	for key, files := range byJourney {
		sort.Strings(files)
		for _, f := range files {
			s := readStep(t, f)
			steps[key] = append(steps[key], s)
			if p, ok := s.In.(rx.Prescription); ok {
				if _, seen := sends[p.ID]; !seen || strings.Contains(f, "primary-care/acute/nominated-pharmacy/medical-prescriber/1-") {
					sends[p.ID] = f
				}
			}
		}
	}
	keys := make([]string, 0, len(steps))
	for k := range steps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	nominated := nominatedReleaseTemplate(t)
	var out []Journey
	for _, key := range keys {
		js := steps[key]
		hasSend, dispenses, releases := false, false, false
		for _, s := range js {
			switch s.Kind {
			case "Send":
				hasSend = true
			case "Dispense":
				dispenses = true
			case "Release":
				releases = true
			}
		}
		// A cancel of a prescription sent in another folder: that Send first.
		if !hasSend {
			for _, s := range js {
				if c, ok := s.In.(rx.CancelRequest); ok {
					if f, ok := sends[c.PrescriptionID]; ok {
						js = append(js, readStep(t, f))
					}
				}
			}
		}
		sort.SliceStable(js, func(i, j int) bool { return kindOrder[js[i].Kind] < kindOrder[js[j].Kind] })
		if dispenses && !releases {
			// The nominated pharmacy asks for its prescriptions first.
			js = append(js[:1], append([]Step{nominatedRelease(t, nominated, nominatedOf(js), js[0].At)}, js[1:]...)...)
		}
		// The examples reuse message IDs across different messages (they are
		// translations made with fixed IDs); a real system sends a fresh one
		// each time, so a reused ID gets one here.
		seen := map[string]bool{}
		for i := range js {
			js[i] = freshID(t, js[i], seen, i)
		}
		out = append(out, Journey{Key: key, Steps: js, Want: expected[key]})
	}
	return out
}

// wrapperID is the transmission wrapper's id: the first id under the root.
var wrapperID = regexp.MustCompile(`<(hl7:)?id root="([0-9A-Fa-f-]+)"`)

// freshID gives a step a new message ID if an earlier step used its ID.
func freshID(t testing.TB, s Step, seen map[string]bool, step int) Step {
	m := wrapperID.FindSubmatchIndex(s.Raw)
	if m == nil {
		return s
	}
	id := string(s.Raw[m[4]:m[5]])
	if !seen[id] {
		seen[id] = true
		return s
	}
	fresh := fmt.Sprintf("%s-%04X-4000-8000-%012X", id[:8], step, step)
	s.Raw = append(append(append([]byte{}, s.Raw[:m[4]]...), fresh...), s.Raw[m[5]:]...)
	s.In, s.Refused = mapRaw(t, s.Raw, s.At, s.File)
	return s
}

// nominatedOf is the nominated pharmacy of the journey's prescription.
func nominatedOf(js []Step) string {
	for _, s := range js {
		if p, ok := s.In.(rx.Prescription); ok {
			return p.NominatedODS
		}
	}
	return ""
}

// nominatedReleaseTemplate is the nominated release request NHS England's
// EPS FHIR API sends (its capture in fixtures/ebxml/eps-fhir-api-client).
func nominatedReleaseTemplate(t testing.TB) []byte {
	raw := testutil.ReadFixture(t, "ebxml", "eps-fhir-api-client", "nominated-release-request-PORX_IN060102SM30.http")
	f, err := ebxml.ReadFile(raw)
	if err != nil {
		t.Fatalf("nominated release capture: %v", err)
	}
	m, err := ebxml.Parse(f.Header.Get("Content-Type"), f.Body, ebxml.Limits{})
	if err != nil || len(m.Payload) == 0 {
		t.Fatalf("nominated release capture: no HL7 payload (%v)", err)
	}
	return m.Payload
}

// nominatedRelease makes a nominated release request from the pharmacy ods.
func nominatedRelease(t testing.TB, template []byte, ods string, at time.Time) Step {
	m, err := hl7v3.Decode(template)
	if err != nil {
		t.Fatalf("nominated release template: %v", err)
	}
	req, ok := m.Payload().(*hl7v3.PORX_MT121001UK30_NominatedPrescriptionReleaseRequest)
	if !ok {
		t.Fatalf("nominated release template is a %s", m.Root)
	}
	org := req.Author.AgentPerson.RepresentedOrganization
	if org == nil || org.ID == nil {
		t.Fatal("nominated release template names no pharmacy")
	}
	old := org.ID.Extension
	raw := bytes.ReplaceAll(template, []byte(`extension="`+old+`"`), []byte(`extension="`+ods+`"`))
	in, refused := mapRaw(t, raw, at, "nominated release")
	return Step{Kind: "NominatedRelease", Raw: raw, In: in, Refused: refused, At: at}
}

func readStep(t testing.TB, f string) Step {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := hl7v3.DecodeLenient(b)
	if err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	at, _ := time.Parse(hl7v3.TimeFormat, m.Header().CreationTime)
	in, refused := mapRaw(t, b, at, f)
	// The examples' wrappers all say 20220201000000; the business time is in
	// the payload, and the clock must not be behind it.
	var when string
	switch v := in.(type) {
	case rx.DispenseNotification:
		when = v.DispenseTime
	case rx.DispenseClaim:
		when = v.ClaimTime
	case rx.DispenserWithdraw:
		when = v.EffectiveTime
	case rx.DispenseProposalReturn:
		when = v.EffectiveTime
	case rx.CancelRequest:
		when = v.EffectiveTime
	}
	if pt, err := time.Parse(hl7v3.TimeFormat, when); err == nil && pt.After(at) {
		at = pt
	}
	return Step{Kind: kindOf(f), File: f, Raw: b, In: in, Refused: refused, At: at}
}

// mapRaw decodes a message (leniently if it breaks its schema, returning the
// strict decoder's error) and maps it to the lifecycle's input.
func mapRaw(t testing.TB, b []byte, at time.Time, name string) (any, error) {
	m, refused := hl7v3.Decode(b)
	if refused != nil {
		var err error
		if m, _, err = hl7v3.DecodeLenient(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	in, err := rxmsg.Input(m, at)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return in, refused
}

// Clock is the time to set the clock to before each step: a minute after
// the step's own time, never before the previous step's, and for a journey
// that opens with a prescription, an hour after it was written (the
// examples' wrappers were stamped later, when they were converted).
func (j Journey) Clock() []time.Time {
	out := make([]time.Time, len(j.Steps))
	var now time.Time
	for i, s := range j.Steps {
		if s.At.After(now) {
			now = s.At
		}
		now = now.Add(time.Minute)
		if i == 0 {
			if p, ok := s.In.(rx.Prescription); ok {
				pt, _ := time.Parse(hl7v3.TimeFormat, p.PrescriptionTime)
				now = pt.Add(time.Hour)
			}
		}
		out[i] = now
	}
	return out
}

// Statuses is the form Want uses for a record's issue statuses.
func Statuses(statuses []string) string {
	if len(statuses) == 0 {
		return "-"
	}
	return strings.Join(statuses, ",")
}
