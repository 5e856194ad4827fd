package spine_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/testutil/journeys"
)

// summary reads any answer the Spine sends (acknowledgement, release
// response or rejection, cancel response) as its acknowledgement type and
// first code.
func summary(t *testing.T, payload []byte) (ack, code string) {
	t.Helper()
	m, err := hl7v3.Decode(payload)
	if err != nil {
		t.Fatalf("answer does not decode: %v\n%s", err, payload)
	}
	h := m.Header()
	switch p := m.Payload().(type) {
	case *hl7v3.PORX_MT121201UK30_PrescriptionReleaseReject:
		return h.AckType, p.View().Reason.Code
	case *hl7v3.PORX_MT135201UK31_CancellationResponse:
		return h.AckType, p.View().Response.Code
	case *hl7v3.PORX_MT122002UK31_PrescriptionReleaseResponse:
		return h.AckType, ""
	}
	r, ok := hl7v3.ReadAck(m)
	if !ok {
		t.Fatalf("answer %s is not one the Spine sends", m.Root)
	}
	if len(r.Errors) > 0 {
		code = r.Errors[0].Value
	}
	return r.Type, code
}

// TestJourneysOverHTTP replays every eps-api example journey in order
// through the service over HTTP, each into a fresh SQLite store: each step
// is answered as the Spine would, and the record's issue statuses read back
// from the JSON API after each step are as expected (the same expectations
// internal/rxmsg checks on the pure lifecycle).
func TestJourneysOverHTTP(t *testing.T) {
	for _, j := range journeys.Load(t) {
		t.Run(j.Key, func(t *testing.T) {
			e := newEnv(t)
			var id string
			var got []string
			clock := j.Clock()
			for i, s := range j.Steps {
				e.setClock(clock[i])
				if pid := rx.PrescriptionIDOf(s.In); pid != "" && id == "" {
					id = pid
				}
				ctype, body := ebxmlRequest(t, s.Raw, rootOf(s.Raw))
				a := e.post("/reliablemessaging/reliablerequest", ctype, body, ebxml.ServiceMM+"/"+rootOf(s.Raw))
				if a.status != http.StatusOK || len(a.ebxml.Payload) == 0 {
					t.Fatalf("step %d %s: HTTP %d, no HL7 answer\n%s", i+1, s.Kind, a.status, a.raw)
				}
				ack, code := summary(t, a.ebxml.Payload)
				if (ack == "AE" || ack == "AR") && i < len(j.Want) && strings.HasPrefix(j.Want[i], s.Kind+" ERR ") {
					// The lifecycle (or the decoder) refused the content with a
					// Go error; on the wire that is an application error.
					ack = "ERR"
				}
				got = append(got, s.Kind+" "+ack+" "+code+" → "+e.statuses(id))
			}
			ok := len(got) == len(j.Want)
			for i := 0; ok && i < len(got); i++ {
				ok = j.Matches(i, got[i])
			}
			if !ok {
				t.Errorf("journey over HTTP:\n got  %q\n want %q", got, j.Want)
			}
		})
	}
}

// statuses is the issue statuses of a prescription as the API shows them.
func (e *env) statuses(id string) string {
	if id == "" {
		return journeys.Statuses(nil)
	}
	v, code := e.view(id)
	if code != http.StatusOK {
		return journeys.Statuses(nil)
	}
	var s []string
	for _, is := range v.Issues {
		s = append(s, is.Status)
	}
	return journeys.Statuses(s)
}
