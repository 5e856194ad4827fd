package rxmsg_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/rxmsg"
	"github.com/openeps/openeps/internal/testutil"
	"github.com/openeps/openeps/internal/testutil/journeys"
)

// TestJourneys replays the eps-api example journeys (see package journeys)
// through rxmsg and rx, pure functions and no server: each step is accepted
// or refused as the Spine would, with the statuses after it as expected.
// internal/spine replays the same journeys over HTTP.
func TestJourneys(t *testing.T) {
	for _, j := range journeys.Load(t) {
		t.Run(j.Key, func(t *testing.T) {
			var rec *rx.Record
			cfg := rx.DefaultConfig()
			var got []string
			clock := j.Clock()
			for i, s := range j.Steps {
				now := clock[i]
				var out rx.Outcome
				var err error
				switch {
				case s.Refused != nil:
					err = s.Refused
				default:
					if nr, ok := s.In.(rx.NominatedReleaseRequest); ok {
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
						out, err = rx.Apply(cfg, rec, s.In, now)
					}
				}
				line := s.Kind + " "
				if err != nil {
					t.Logf("%s: %v", s.Kind, err)
					line += "ERR " + epserr.CodeOf(err).Value
				} else {
					line += out.Answer.AckType + " " + out.Answer.Code().Value
					if out.Record != nil {
						rec = out.Record
					}
				}
				line += " → " + statuses(rec)
				got = append(got, line)
			}
			ok := len(got) == len(j.Want)
			for i := 0; ok && i < len(got); i++ {
				ok = j.Matches(i, got[i])
			}
			if !ok {
				t.Errorf("journey:\n got  %q\n want %q", got, j.Want)
			}
		})
	}
}

func statuses(r *rx.Record) string {
	if r == nil {
		return journeys.Statuses(nil)
	}
	var s []string
	for _, is := range r.Issues {
		s = append(s, is.Status)
	}
	return journeys.Statuses(s)
}

// Two different messages of the examples with one message ID: the Spine's
// replay check would answer the second with the first's answer; rx refuses
// the reuse (decision RP1).
func TestReusedMessageID(t *testing.T) {
	dir := testutil.Fixtures(t, "hl7v3", "eps-api", "examples", "primary-care", "acute", "nominated-pharmacy", "medical-prescriber")
	read := func(f string) any {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := hl7v3.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		in, err := rxmsg.Input(m, time.Date(2022, 2, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	send := read(filepath.Join(dir, "1-Convert-Response-Send-200_OK.xml"))
	cancel := read(filepath.Join(dir, "cancellations", "2-Convert-Response-Cancel-200_OK.xml"))
	sm, _ := rx.MetaOf(send)
	cm, _ := rx.MetaOf(cancel)
	if sm.MessageID != cm.MessageID {
		t.Fatalf("fixtures changed: %s %s", sm.MessageID, cm.MessageID)
	}
	cfg := rx.DefaultConfig()
	p := send.(rx.Prescription)
	pt, _ := time.Parse(hl7v3.TimeFormat, p.PrescriptionTime)
	created, err := rx.Create(cfg, nil, p, pt.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	out, err := rx.Apply(cfg, created.Record, cancel, pt.Add(2*time.Hour))
	if err != nil || out.Record != nil || out.Answer.AckType != rx.AckError || out.Answer.Code() != epserr.DuplicateHL7ID {
		t.Fatalf("reused ID: %v %+v", err, out.Answer)
	}
}
