package hl7v3

import (
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/testutil"
)

func TestAckShapeMatchesSpine(t *testing.T) {
	w := Wrapper{MessageID: "A7B86F8D-1DAE-FC28-E050-D20AE3A215F0", Created: time.Date(2020, 8, 12, 8, 15, 23, 0, time.UTC),
		SenderASID: "567456789789", ReceiverASID: "200000001285"}
	got := NewAck(w, "3A79879F-251F-4099-8E5B-03BF2CFC1337", "", epserr.InvalidItemState)
	// The Spine's answer for CHAIN058 (with its placeholders filled in the same way).
	want, err := Decode(testutil.ReadFixture(t, "hl7v3", "nhs-test-bench", "spine-answers", "CHAIN058_MCCI_IN010000UK13_Response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	wa := want.Body.(*MCCI_IN010000UK13_Message)
	ga := got.Body.(*MCCI_IN010000UK13_Message)
	if ga.Acknowledgement.TypeCode != wa.Acknowledgement.TypeCode {
		t.Errorf("type %s, Spine %s", ga.Acknowledgement.TypeCode, wa.Acknowledgement.TypeCode)
	}
	gc, wc := ga.ControlActEvent.Reason[0].JustifyingDetectedIssueEvent.Code, wa.ControlActEvent.Reason[0].JustifyingDetectedIssueEvent.Code
	if gc.Code != wc.Code || gc.CodeSystem != wc.CodeSystem || gc.DisplayName != wc.DisplayName || gc.Qualifier[0].Code != wc.Qualifier[0].Code {
		t.Errorf("error code %+v, Spine %+v", gc, wc)
	}
	// Same element structure as the Spine's answer.
	a, _ := canonicalTree(EncodeElement("MCCI_IN010000UK13", ga))
	b, _ := canonicalTree(EncodeElement("MCCI_IN010000UK13", wa))
	if shape(a) != shape(b) {
		t.Errorf("shape differs:\n%s\n---\n%s", shape(a), shape(b))
	}
	r, ok := ReadAck(got)
	if !ok || r.Type != "AE" || len(r.Errors) != 1 || r.Errors[0] != epserr.InvalidItemState {
		t.Errorf("ReadAck = %+v", r)
	}
}

// shape keeps element names and attribute names, not values.
func shape(tree string) string {
	var out []string
	for _, l := range strings.Split(tree, "\n") {
		f := strings.Fields(l)
		s := strings.Repeat(" ", len(l)-len(strings.TrimLeft(l, " "))) + f[0]
		for _, a := range f[1:] {
			if i := strings.Index(a, "="); i > 0 {
				s += " " + a[:i]
			}
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

func TestAckValidatesAgainstSchema(t *testing.T) {
	w := Wrapper{MessageID: "A7B86F8D-1DAE-FC28-E050-D20AE3A215F0", Created: time.Now(), SenderASID: "567456789789", ReceiverASID: "200000001285"}
	xmllintAll(t, map[string]*Message{
		"AA": NewAck(w, "3A79879F-251F-4099-8E5B-03BF2CFC1337", ""),
		"AE": NewAck(w, "3A79879F-251F-4099-8E5B-03BF2CFC1337", "", epserr.UnableToProcess.With("x"), epserr.PrescriptionNotFound),
	})
}

// TestAcksAreTheSpines: every acknowledgement the Spine simulator sends is
// what NewAck builds with the epserr code of the same value: same shape,
// type, code system and display name.
func TestAcksAreTheSpines(t *testing.T) {
	known := map[string]epserr.Code{}
	for _, c := range []epserr.Code{epserr.PatientDead, epserr.DuplicatePrescription, epserr.SignatureNotFound,
		epserr.PrescriptionNotFound, epserr.PrescriptionNotFoundClaim, epserr.InvalidResourceID, epserr.MissingValue,
		epserr.InvalidMessage, epserr.ItemCountOutOfRange, epserr.ClaimAlreadyMade, epserr.InvalidPrescriptionState,
		epserr.InvalidItemState, epserr.ItemNotFound, epserr.ClaimNotDispensed, epserr.ClaimAlreadySentToPPA,
		epserr.RepeatCountMismatch, epserr.RepeatCountOutOfRange, epserr.NotLastDispense, epserr.NoDispenseMessages,
		epserr.InvalidDispenseHistory, epserr.ResourceVersionMismatch, epserr.ClaimAmendOutsidePeriod, epserr.DuplicateItemID,
		epserr.CheckDigitError, epserr.InvalidMessageWrapper, epserr.InvalidDateFormat, epserr.FailureToProcess,
		epserr.RejectCancelled, epserr.RejectExpired, epserr.RejectNotFound, epserr.RejectWithAnother, epserr.RejectDispensed,
		epserr.RejectNoMoreNominated, epserr.RejectFunctionalityOff, epserr.RejectVersionMismatch, epserr.UnableToProcess,
		epserr.InvalidMessageDispense, epserr.InvalidDateFormatRelease, epserr.DuplicateHL7ID} {
		known[c.System+"|"+c.Value] = c
	}
	answers := testutil.Glob(t, "hl7v3/nhs-test-bench/spine-answers/*MCCI_IN010000UK13*.xml")
	if len(answers) < 16 {
		t.Fatalf("%d acknowledgements", len(answers))
	}
	w := Wrapper{MessageID: "A7B86F8D-1DAE-FC28-E050-D20AE3A215F0", Created: time.Now(), SenderASID: "567456789789", ReceiverASID: "200000001285"}
	for _, path := range answers {
		name := path[strings.LastIndex(path, "/")+1:]
		spine, _, err := DecodeLenient(testutil.ReadFixture(t, "hl7v3", "nhs-test-bench", "spine-answers", name))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ReadAck(spine)
		var codes []epserr.Code
		for _, e := range want.Errors {
			c, ok := known[e.System+"|"+e.Value]
			if !ok {
				t.Errorf("%s: %v has no epserr code", name, e)
				continue
			}
			if c.Display != e.Display {
				t.Errorf("%s: epserr display %q, the Spine's %q", name, c.Display, e.Display)
			}
			codes = append(codes, c)
		}
		ours := NewAck(w, want.Ref, "", codes...)
		got, _ := ReadAck(ours)
		if got.Type != want.Type {
			t.Errorf("%s: type %s, Spine %s", name, got.Type, want.Type)
		}
		a, _ := canonicalTree(EncodeElement("MCCI_IN010000UK13", spine.Body))
		b, _ := canonicalTree(EncodeElement("MCCI_IN010000UK13", ours.Body))
		if shape(a) != shape(b) {
			t.Errorf("%s: shape differs from the Spine's:\n%s\n---\n%s", name, shape(a), shape(b))
		}
	}
}
