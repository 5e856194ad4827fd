package rxmsg

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/testutil"
)

// The eps-api examples are one prescription's journey per folder and number
// (1-…-Send, 1-…-Release, 1-…-Dispense, …). Replayed in order through rxmsg
// and rx, each step is accepted or refused as the Spine would, and the
// statuses after it are the ones below. Where a journey dispenses with no
// release in it, the nominated pharmacy's release request is made first
// (rx.ReleaseNominated produces the release the examples leave out); a cancel
// whose prescription was sent in another example folder has that Send first.
//
// Each step is "<kind> <ack> <code> → <issue statuses>", the code "" for none.
var journeys = map[string][]string{
	"primary-care/acute-and-repeat-prescribing#1":                                                              {"Send AA  → 0001"},
	"primary-care/acute/no-nominated-pharmacy/medical-prescriber/author/gmc/responsible-party/din#1":           {"Send AA  → 0001"},
	"primary-care/acute/no-nominated-pharmacy/medical-prescriber/author/gmc/responsible-party/spurious-code#1": {"Send AA  → 0001"},
	"primary-care/acute/no-nominated-pharmacy/medical-prescriber/author/unknown#1":                             {"Send AA  → 0001"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber#1":                                               {"Send AA  → 0001"},
	// Cancels of prescriptions no example sends: held in a placeholder, 0008 (decision 17).
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#1": {"Cancel AE 0008 → 9005"},
	// 24F5DA-A83008-7EFE6Z was sent by primary-care/acute/nominated-pharmacy/medical-prescriber,
	// for patient 5839945242; the cancel names 9449304130: not that patient's
	// prescription, 0008 (decision C3), nothing cancelled.
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#2": {"Send AA  → 0001", "Cancel AE 0008 → 0001"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#3": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#4": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#5": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#6": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#7": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#8": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#9": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/responsible-party-org#3":            {"Send AA  → 0001"},
	// The same cancel again; it also breaks the schema (MANIFEST: an unexpected
	// representedOrganization), which internal/hl7v3 may refuse first (5000).
	"primary-care/acute/nominated-pharmacy/responsible-party-org/cancellations#3": {"Send AA  → 0001",
		"Cancel AE 0008 → 0001 || Cancel ERR 5000 → 0001"},
	"primary-care/acute/nominated-pharmacy/responsible-party-org/separate-telecom#1": {"Send AA  → 0001"},
	"primary-care/repeat-dispensing/nominated-pharmacy/medical-prescriber/author/gmc/responsible-party/medication-list/din#1": {
		"Send AA  → 0001,9000,9000,9000,9000,9000"},
	"primary-care/repeat-dispensing/nominated-pharmacy/medical-prescriber/author/gmc/responsible-party/medication-list/spurious-code#1": {
		"Send AA  → 0001,9000,9000,9000,9000,9000"},
	"primary-care/repeat-prescribing#1":                                                                                                     {"Send AA  → 0001"},
	"secondary-care/community/acute/no-nominated-pharmacy/clinical-practitioner#1":                                                          {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner#1":                                                             {"Send AA  → 0001", "Cancel AA 0001 → 0005"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/controlled-drugs#1":                                            {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/controlled-drugs#2":                                            {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/multiple-drugs#1":                                              {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/multiple-drugs#2":                                              {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/prescription-refactor#1":                                       {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/health-professional#1":                                                               {"Send AA  → 0001", "Cancel AA 0001 → 0005"},
	"secondary-care/community/acute/nominated-pharmacy/health-professional#6":                                                               {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/health-professional/controlled-drugs#1":                                              {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/medication-reference#1":                                                        {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/multiple-medications#1":                                                        {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/prescribing-and-professional-codes#1":                                          {"Send AA  → 0001", "Cancel AA 0001 → 0005"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/prescribing-and-professional-codes/controlled-drugs#1":                         {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/prescribing-and-professional-codes/controlled-drugs/additional-instructions#1": {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/prescribing-and-professional-codes/controlled-drugs/additional-instructions#2": {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/professional-code#1":                                                           {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/paramedic#1":                                                                         {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/pharmacist/prescriber-endorsed#1":                                                    {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/pharmacist/prescriber-endorsed#2":                                                    {"Send AA  → 0001"},
	"secondary-care/community/repeat-dispensing/nominated-pharmacy/clinical-practitioner/multiple-medication-requests/non-prescriber-endorsed#1": {
		"Send AA  → 0001,9000,9000,9000,9000,9000"},
	"secondary-care/community/repeat-dispensing/nominated-pharmacy/clinical-practitioner/multiple-medication-requests/prescriber-endorsed#1": {
		// Released to the nominated pharmacy (FCG71); the example's DN comes
		// from VNE51, so it is with another dispenser.
		"Send AA  → 0001,9000,9000,9000,9000,9000", "NominatedRelease AA  → 0002,9000,9000,9000,9000,9000",
		"Dispense AE 0004 → 0002,9000,9000,9000,9000,9000"},
	"secondary-care/community/repeat-dispensing/nominated-pharmacy/clinical-practitioner/single-medication-request#1": {
		"Send AA  → 0001,9000,9000,9000,9000,9000", "Release AA  → 0002,9000,9000,9000,9000,9000",
		"Dispense AA  → 0006,0001,9000,9000,9000,9000", "Claim AA  → 0008,0001,9000,9000,9000,9000"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#1": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0006", "Claim AA  → 0008"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#2": {
		"Send AA  → 0001", "Release AA  → 0002", "Return AA  → 0001"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#3": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0003", "Withdraw AA  → 0002"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#4": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0006", "Claim AA  → 0008"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#5": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0006", "DispenseAmend AA  → 0006"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#6": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0006", "Claim AA  → 0008", "Amend AA  → 0008"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#7": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0006", "Claim AA  → 0008"},
	// Unsigned prescriptions (their IDs also fail the check character): the
	// Spine's schematron refuses them first with Digital Signature not found;
	// the DN then finds no prescription.
	"secondary-care/homecare/acute/nominated-pharmacy/concurrent-dosage-instructions#1": {
		"Send ERR 0003 → -", "NominatedRelease AA 0006 → -", "Dispense AE 0005 → -"},
	"secondary-care/homecare/acute/nominated-pharmacy/consecutive-and-concurrent-dosage-instructions#1": {
		"Send ERR 0003 → -", "NominatedRelease AA 0006 → -", "Dispense AE 0005 → -"},
	"secondary-care/homecare/acute/nominated-pharmacy/consecutive-dosage-instructions#1": {
		"Send ERR 0003 → -", "NominatedRelease AA 0006 → -", "Dispense AE 0005 → -"},
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

type journeyStep struct {
	kind string
	in   any
	at   time.Time // message time: the clock is never earlier
	// refused is the decoder's error for a message that breaks its schema:
	// the Spine refuses it before any lifecycle rule (in is still mapped
	// from a lenient decode, so the journey knows its prescription).
	refused error
}

func TestJourneys(t *testing.T) {
	root := testutil.Fixtures(t, "hl7v3", "eps-api", "examples")
	byJourney := map[string][]string{}
	sends := map[string]string{} // prescription ID → a Send file
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
	steps := map[string][]journeyStep{}
	for key, files := range byJourney {
		for _, f := range files {
			s := readStep(t, f)
			steps[key] = append(steps[key], s)
			if p, ok := s.in.(rx.Prescription); ok {
				if _, seen := sends[p.ID]; !seen || strings.Contains(f, "primary-care/acute/nominated-pharmacy/medical-prescriber/1-") {
					sends[p.ID] = f
				}
			}
		}
	}
	if len(byJourney) != len(journeys) {
		var missing []string
		for k := range byJourney {
			if _, ok := journeys[k]; !ok {
				missing = append(missing, k)
			}
		}
		t.Errorf("%d journeys in the fixtures, %d expected; not described: %v", len(byJourney), len(journeys), missing)
	}
	keys := make([]string, 0, len(steps))
	for k := range steps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			js := steps[key]
			// A cancel of a prescription sent elsewhere: that Send first.
			hasSend, dispenses, releases := false, false, false
			for _, s := range js {
				switch s.kind {
				case "Send":
					hasSend = true
				case "Dispense":
					dispenses = true
				case "Release":
					releases = true
				}
			}
			if !hasSend {
				for _, s := range js {
					if c, ok := s.in.(rx.CancelRequest); ok {
						if f, ok := sends[c.PrescriptionID]; ok {
							js = append(js, readStep(t, f))
						}
					}
				}
			}
			sort.SliceStable(js, func(i, j int) bool { return kindOrder[js[i].kind] < kindOrder[js[j].kind] })
			if dispenses && !releases {
				// The nominated pharmacy asks for its prescriptions first.
				var dn rx.DispenseNotification
				for _, s := range js {
					if d, ok := s.in.(rx.DispenseNotification); ok {
						dn = d
					}
				}
				req := rx.NominatedReleaseRequest{Meta: rx.Meta{MessageID: "NOMINATED-" + dn.MessageID,
					Interaction: hl7v3.NominatedReleaseRequest, SenderODS: nominatedOf(js), SenderASID: dn.SenderASID},
					RequestID: "REQUEST-" + dn.MessageID}
				at := js[0].at
				js = append(js[:1], append([]journeyStep{{kind: "NominatedRelease", in: req, at: at}}, js[1:]...)...)
			}
			// The examples reuse message IDs across different messages (they are
			// translations made with fixed IDs); a real system sends a fresh one
			// each time, so a reused ID gets one here (rx refuses a reused ID
			// with 17.32/202: TestReusedMessageID).
			seen := map[string]bool{}
			for i := range js {
				js[i].in = freshID(js[i].in, seen, i)
			}
			var got []string
			var rec *rx.Record
			var now time.Time
			cfg := rx.DefaultConfig()
			for i, s := range js {
				if s.at.After(now) {
					now = s.at
				}
				now = now.Add(time.Minute)
				if i == 0 {
					if p, ok := s.in.(rx.Prescription); ok {
						pt, _ := time.Parse("20060102150405", p.PrescriptionTime)
						now = pt.Add(time.Hour)
					}
				}
				var out rx.Outcome
				var err error
				if s.refused != nil {
					err = s.refused
				} else if nr, ok := s.in.(rx.NominatedReleaseRequest); ok {
					var cands []*rx.Record
					if rec != nil {
						cands = append(cands, rec)
					}
					no, e := rx.ReleaseNominated(cfg, cands, nr, now)
					out.Answer, err = no.Answer, e
					if len(no.Records) > 0 {
						out.Record = no.Records[0]
					}
				} else {
					out, err = rx.Apply(cfg, rec, s.in, now)
				}
				line := s.kind + " "
				if err != nil {
					t.Logf("%s: %v", s.kind, err)
					line += "ERR " + epserr.CodeOf(err).Value
				} else {
					line += out.Answer.AckType + " "
					if len(out.Answer.Codes) > 0 {
						line += out.Answer.Code().Value
					}
					if out.Record != nil {
						rec = out.Record
					}
				}
				line += " → " + statuses(rec)
				got = append(got, line)
			}
			want := journeys[key]
			ok := len(got) == len(want)
			for i := 0; ok && i < len(got); i++ {
				ok = false
				for _, alt := range strings.Split(want[i], " || ") {
					ok = ok || got[i] == alt
				}
			}
			if !ok {
				t.Errorf("journey:\n got  %q\n want %q", got, want)
			}
		})
	}
}

// freshID gives in a new message ID if its ID was used by an earlier step.
func freshID(in any, seen map[string]bool, step int) any {
	meta, ok := rx.MetaOf(in)
	if !ok || !seen[meta.MessageID] {
		seen[meta.MessageID] = true
		return in
	}
	id := fmt.Sprintf("%s-%d", meta.MessageID[:8], step)
	switch v := in.(type) {
	case rx.CancelRequest:
		v.MessageID = id
		return v
	case rx.PatientReleaseRequest:
		v.MessageID = id
		return v
	case rx.DispenseNotification:
		v.MessageID = id
		return v
	case rx.DispenseClaim:
		v.MessageID = id
		return v
	case rx.DispenserWithdraw:
		v.MessageID = id
		return v
	case rx.DispenseProposalReturn:
		v.MessageID = id
		return v
	}
	return in
}

// Two different messages of the examples with one message ID: the Spine's
// replay check would answer the second with the first's answer; rx refuses
// the reuse (decision RP1).
func TestReusedMessageID(t *testing.T) {
	dir := testutil.Fixtures(t, "hl7v3", "eps-api", "examples", "primary-care", "acute", "nominated-pharmacy", "medical-prescriber")
	send := readStep(t, filepath.Join(dir, "1-Convert-Response-Send-200_OK.xml"))
	cancel := readStep(t, filepath.Join(dir, "cancellations", "2-Convert-Response-Cancel-200_OK.xml"))
	sm, _ := rx.MetaOf(send.in)
	cm, _ := rx.MetaOf(cancel.in)
	if sm.MessageID != cm.MessageID {
		t.Fatalf("fixtures changed: %s %s", sm.MessageID, cm.MessageID)
	}
	cfg := rx.DefaultConfig()
	p := send.in.(rx.Prescription)
	pt, _ := time.Parse("20060102150405", p.PrescriptionTime)
	created, err := rx.Create(cfg, nil, p, pt.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	out, err := rx.Apply(cfg, created.Record, cancel.in, pt.Add(2*time.Hour))
	if err != nil || out.Record != nil || out.Answer.AckType != rx.AckError || out.Answer.Code() != epserr.DuplicateHL7ID {
		t.Fatalf("reused ID: %v %+v", err, out.Answer)
	}
}

// nominatedOf is the nominated pharmacy of the journey's prescription.
func nominatedOf(js []journeyStep) string {
	for _, s := range js {
		if p, ok := s.in.(rx.Prescription); ok {
			return p.NominatedODS
		}
	}
	return ""
}

func statuses(r *rx.Record) string {
	if r == nil {
		return "-"
	}
	var s []string
	for _, is := range r.Issues {
		s = append(s, is.Status)
	}
	return strings.Join(s, ",")
}

func readStep(t *testing.T, f string) journeyStep {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	m, refused := hl7v3.Decode(b)
	if refused != nil {
		var err error
		if m, _, err = hl7v3.DecodeLenient(b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	at, _ := time.Parse("20060102150405", m.Header().CreationTime)
	in, err := Input(m, at)
	if err != nil {
		t.Fatalf("%s: %v", f, err)
	}
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
	if pt, err := time.Parse("20060102150405", when); err == nil && pt.After(at) {
		at = pt
	}
	return journeyStep{kind: kindOf(f), in: in, at: at, refused: refused}
}
