package hl7v3

import (
	"os/exec"
	"path/filepath"
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
	for _, m := range []*Message{NewAck(w, "3A79879F-251F-4099-8E5B-03BF2CFC1337", ""),
		NewAck(w, "3A79879F-251F-4099-8E5B-03BF2CFC1337", "", epserr.UnableToProcess.With("x"), epserr.PrescriptionNotFound)} {
		xmllint(t, m)
	}
}

// xmllint validates an encoded message against the MIM schema of its interaction.
func xmllint(t *testing.T, m *Message) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("xmllint not found: install libxml2-utils (.ci/run does)")
	}
	schema := testutil.Fixtures(t, "hl7v3", "mim", "Schemas", m.Interaction+".xsd")
	// The schemas know only the MIM (UK) root names.
	doc := m.Encode()
	if m.Root != m.Interaction {
		doc = []byte(strings.ReplaceAll(string(doc), m.Root, m.Interaction))
	}
	f := filepath.Join(t.TempDir(), "msg.xml")
	if err := writeFile(f, doc); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmllint", "--noout", "--schema", schema, f).CombinedOutput()
	if err != nil {
		t.Errorf("%s does not validate: %v\n%s", m.Interaction, err, out)
	}
}
