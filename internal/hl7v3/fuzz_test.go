package hl7v3

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fuzz targets cover every decoder (Decode, DecodeLenient,
// DecodePayload, DecodePayloadLenient) and the views and checks that read
// what they return. Seeded with every fixture document; `go test` runs the
// seeds, `go test -fuzz=FuzzDecode` explores.

func seedFixtures(f *testing.F, payloads bool) {
	for _, fd := range fixtures(f) {
		if fd.payload == payloads {
			f.Add(fd.data)
		}
	}
}

func FuzzDecode(f *testing.F) {
	seedFixtures(f, false)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, problems, err := DecodeLenient(b)
		if err != nil {
			if _, err2 := Decode(b); err2 == nil {
				t.Fatal("Decode accepted what DecodeLenient refused")
			}
			return
		}
		// Whatever reads as a message must survive the round trip, and the
		// views, checks and header must not panic on it.
		_ = m.Header()
		viewOf(m.Payload())
		_ = Check(m)
		if _, ok := m.Body.(*MCCI_IN010000UK13_Message); ok {
			ReadAck(m)
		}
		out := m.Encode()
		m2, _, err := DecodeLenient(out)
		if err != nil {
			t.Fatalf("the encoding of a decoded message does not decode: %v\n%s", err, out)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("Decode(Encode(x)) differs:\n%s", diff)
		}
		if _, err := Decode(b); (err == nil) != (firstError(problems, m.Interaction) == nil) {
			t.Fatalf("Decode and DecodeLenient disagree: %v", err)
		}
	})
}

func FuzzDecodePayload(f *testing.F) {
	seedFixtures(f, true)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, _, err := DecodePayloadLenient(b)
		if err != nil {
			return
		}
		viewOf(p.Body)
		_ = CheckPayload(p)
		out := p.Encode()
		p2, _, err := DecodePayloadLenient(out)
		if err != nil {
			t.Fatalf("the encoding of a decoded payload does not decode: %v\n%s", err, out)
		}
		if diff := cmp.Diff(p, p2); diff != "" {
			t.Fatalf("DecodePayload(Encode(x)) differs:\n%s", diff)
		}
	})
}

// viewOf calls the View of any payload that has one.
func viewOf(payload any) {
	switch p := payload.(type) {
	case *PORX_MT132004UK31_ParentPrescription:
		p.View()
	case *PORX_MT121002UK30_PatientPrescriptionReleaseRequest:
		p.View()
	case *PORX_MT121001UK30_NominatedPrescriptionReleaseRequest:
		p.View()
	case *PORX_MT122002UK31_PrescriptionReleaseResponse:
		p.View()
	case *PORX_MT121201UK30_PrescriptionReleaseReject:
		p.View()
	case *PORX_MT135001UK32_CancellationRequest:
		p.View()
	case *PORX_MT135201UK31_CancellationResponse:
		p.View()
	case *PORX_MT024001UK31_DispenseNotification:
		p.View()
	case *PORX_MT142001UK31_DispenseClaim:
		p.View()
	case *PORX_MT121301UK31_DispenseProposalReturn:
		p.View()
	case *PORX_MT136001UK31_ETPWithdraw:
		p.View()
	case *PORX_MT136002UK31_RebuildDispenseHistory:
		p.View()
	case *PORX_MT142006UK31_ReimbursmentClaim:
		p.View()
	}
}
