package hl7v3

import (
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/testutil"
)

// mutate decodes a fixture, applies f to its XML and decodes the result.
func mutate(t *testing.T, name string, f func(string) string) (*Message, error) {
	t.Helper()
	doc := string(testutil.ReadFixture(t, "hl7v3", name))
	out := f(doc)
	if out == doc {
		t.Fatalf("%s: the mutation changed nothing", name)
	}
	return Decode([]byte(out))
}

func cut(doc, from, to string) string {
	i := strings.Index(doc, from)
	j := strings.Index(doc[i:], to)
	if i < 0 || j < 0 {
		return doc
	}
	return doc[:i] + doc[i+j+len(to):]
}

// TestStructuralErrorsNameTheElementAndTheRule: each kind of structural
// fault gives the Spine's code for the interaction, and a detail with the
// element's path and what is wrong.
func TestStructuralErrorsNameTheElementAndTheRule(t *testing.T) {
	cases := []struct {
		name, fixture string
		mutate        func(string) string
		system, code  string
		detail        []string
	}{
		{"required element missing (prescribing)", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml",
			func(s string) string { return cut(s, "<pertinentInformation8", "</pertinentInformation8>") },
			epserr.SystemDispense, "5000", []string{"/PORX_IN020101SM31/ControlActEvent/subject/ParentPrescription/pertinentInformation1/pertinentPrescription", "element pertinentInformation8 is required"}},
		{"element repeated (dispensing)", "PORX_IN080101UK31-dispense-notification.xml",
			func(s string) string {
				return strings.Replace(s, "<sequelTo", "<replacementOf typeCode=\"RPLC\"><priorMessageRef classCode=\"INFO\" moodCode=\"EVN\"><id root=\"A\"/></priorMessageRef></replacementOf><replacementOf typeCode=\"RPLC\"><priorMessageRef classCode=\"INFO\" moodCode=\"EVN\"><id root=\"B\"/></priorMessageRef></replacementOf><sequelTo", 1)
			},
			epserr.SystemDispense, "5000", []string{"/DispenseNotification:", "element replacementOf appears more than once"}},
		{"text where none may be (cancellation)", "PORX_IN030101UK32-cancel-request.xml",
			func(s string) string { return strings.Replace(s, "<recordTarget", "stray<recordTarget", 1) },
			epserr.SystemCancel, "5000", []string{"/PORX_IN030101SM32/ControlActEvent/subject/CancellationRequest", "unexpected text", "stray"}},
		{"not XML (release)", "PORX_IN132004UK30-patient-release-request.xml",
			func(s string) string { return s[:strings.LastIndex(s, "</")] },
			epserr.SystemDispense, "5000", []string{"unexpected end of document"}},
		{"DTD refused", "PORX_IN132004UK30-patient-release-request.xml",
			func(s string) string {
				return strings.Replace(s, "<PORX_IN132004SM30", `<!DOCTYPE x [<!ENTITY e "x">]><PORX_IN132004SM30`, 1)
			},
			epserr.SystemDispense, "5000", []string{"DTDs and entity declarations are not accepted"}},
	}
	for _, c := range cases {
		_, err := mutate(t, c.fixture, c.mutate)
		e := epserr.As(err)
		if e == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if e.Kind != epserr.KindInvalid || e.Code.System != c.system || e.Code.Value != c.code {
			t.Errorf("%s: %v (kind %v, system %s)", c.name, err, e.Kind, e.Code.System)
		}
		for _, d := range c.detail {
			if !strings.Contains(e.Detail, d) || !strings.Contains(e.Code.Display, d) {
				t.Errorf("%s: %q / %q lacks %q", c.name, e.Detail, e.Code.Display, d)
			}
		}
	}
}

func TestMissingRequiredAttribute(t *testing.T) {
	_, err := mutate(t, "MCCI_IN010000UK13-ack-AA-template.xml", func(s string) string {
		return strings.Replace(s, `typeCode="AA"`, ``, 1)
	})
	e := epserr.As(err)
	if e == nil || !strings.Contains(e.Detail, "acknowledgement: attribute typeCode is required") {
		t.Errorf("%v", err)
	}
}

// TestPrescriptionRules: the Spine's checks beyond the schema, each with its
// own code.
func TestPrescriptionRules(t *testing.T) {
	base := "PORX_IN020101UK31-parent-prescription-acute-nominated.xml"
	if err := Validate(sample(t, base)); err != nil {
		t.Fatalf("the fixture: %v", err)
	}
	cases := []struct {
		name   string
		mutate func(string) string
		want   epserr.Code
		detail string
	}{
		{"no signature", func(s string) string { return cut(s, "<Signature", "</Signature>") },
			epserr.SignatureNotFound, "author/signatureText"},
		{"no line items left", func(s string) string {
			for strings.Contains(s, "<pertinentLineItem") {
				i := strings.Index(s, "<pertinentInformation2 ")
				j := strings.Index(s[i:], "</pertinentInformation2>")
				if strings.Contains(s[i:i+j], "pertinentLineItem") {
					s = s[:i] + s[i+j+len("</pertinentInformation2>"):]
				} else {
					break
				}
			}
			return s
		}, epserr.UnableToProcess, ""}, // (pertinentInformation2 is required: a structural error first)
		{"no prescription ID", func(s string) string {
			return strings.Replace(s, `root="2.16.840.1.113883.2.1.3.2.4.18.8"`, `root="2.16.840.1.113883.2.1.3.2.4.18.9"`, 1)
		}, epserr.UnableToProcess.With("PrescriptionID missing"), "exactly one prescription ID"},
		{"no NHS number", func(s string) string {
			return strings.Replace(s, `root="2.16.840.1.113883.2.1.4.1"`, `root="2.16.840.1.113883.2.1.4.2"`, 1)
		}, epserr.UnableToProcess.With("NHSNumber missing"), "recordTarget/Patient/id"},
	}
	// Line items added through the value, encoded and read again.
	items := func(f func(p *PORX_MT132004UK31_Prescription)) func(string) string {
		return func(string) string {
			m := sample(t, base)
			f(&m.Payload().(*PORX_MT132004UK31_ParentPrescription).PertinentInformation1.PertinentPrescription)
			return string(m.Encode())
		}
	}
	cases = append(cases, []struct {
		name   string
		mutate func(string) string
		want   epserr.Code
		detail string
	}{
		{"five line items", items(func(p *PORX_MT132004UK31_Prescription) {
			extra := p.PertinentInformation2[0]
			extra.PertinentLineItem.ID.Root = "6A4D1A1E-0C8E-4B3B-9C55-2A2B3C4D5E6F"
			p.PertinentInformation2 = append(p.PertinentInformation2, extra)
		}), epserr.ItemCountOutOfRange, "5 line items: 1 to 4 allowed"},
		{"duplicate line item", items(func(p *PORX_MT132004UK31_Prescription) {
			p.PertinentInformation2[1].PertinentLineItem.ID = p.PertinentInformation2[0].PertinentLineItem.ID
		}), epserr.DuplicateItemID, "appears more than once"},
	}...)
	for _, c := range cases {
		m, err := mutate(t, base, c.mutate)
		if err == nil {
			err = Validate(m)
		}
		e := epserr.As(err)
		if e == nil {
			t.Errorf("%s: passed", c.name)
			continue
		}
		if e.Code.System != c.want.System || e.Code.Value != c.want.Value || !strings.HasPrefix(e.Code.Display, c.want.Display) {
			t.Errorf("%s: %v, want %v", c.name, e.Code, c.want)
		}
		if !strings.Contains(e.Detail, c.detail) {
			t.Errorf("%s: detail %q lacks %q", c.name, e.Detail, c.detail)
		}
	}
}

// The four short IDs in the test-bench chains whose check character is wrong
// (hl7v3.md §5.1) still decode: checking them is the lifecycle's business.
func TestBadCheckCharactersStillDecode(t *testing.T) {
	bad := map[string]bool{"561479-395879-521272": false, "887228-510420-124913": false, "B5B247-5E8CD4-19819N": false, "83C40E-A23856-00123C": false}
	for _, fd := range fixtures(t) {
		for id := range bad {
			if !strings.Contains(string(fd.data), id) {
				continue
			}
			bad[id] = true
			var err error
			if fd.payload {
				_, _, err = DecodePayloadLenient(fd.data)
			} else {
				_, _, err = DecodeLenient(fd.data)
			}
			if err != nil {
				t.Errorf("%s (%s): %v", fd.rel, id, err)
			}
		}
	}
	for id, seen := range bad {
		if !seen {
			t.Errorf("%s is in no fixture", id)
		}
	}
}

func TestFamilies(t *testing.T) {
	for in, want := range map[string]epserr.Code{
		"PORX_IN030101SM32": epserr.CancelUnableToProcess, CancelRequest: epserr.CancelUnableToProcess,
		"PORX_IN020101SM31": epserr.UnableToProcess, DispenseClaim: epserr.UnableToProcess,
		PatientReleaseRequest: epserr.UnableToProcess, ApplicationAcknowledgement: epserr.UnableToProcess,
	} {
		got := UnableToProcess(in, "x")
		if got.System != want.System || got.Value != want.Value || got.Display != want.Display+" - x" {
			t.Errorf("%s: %v", in, got)
		}
	}
}

// TestHostileInput: what an attacker can send is bounded: depth, size, and
// the memory small elements stand for.
func TestHostileInput(t *testing.T) {
	rx := string(testutil.ReadFixture(t, "hl7v3", "PORX_IN020101UK31-parent-prescription-acute-nominated.xml"))
	at := strings.Index(rx, "<pertinentInformation2 ")
	bomb := rx[:at] + strings.Repeat("<pertinentInformation2/>", 20000) + rx[at:]
	if _, err := Decode([]byte(bomb)); err == nil || !strings.Contains(err.Error(), "would take more than") {
		t.Errorf("memory bomb: %v", err)
	}
	deep := `<PORX_IN020101SM31 xmlns="urn:hl7-org:v3">` + strings.Repeat("<x>", 100) + strings.Repeat("</x>", 100) + `</PORX_IN020101SM31>`
	if _, err := Decode([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep: %v", err)
	}
	huge := `<PORX_IN020101SM31 xmlns="urn:hl7-org:v3">` + strings.Repeat(" ", Limits.MaxBytes) + `</PORX_IN020101SM31>`
	if _, err := Decode([]byte(huge)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge: %v", err)
	}
	entity := `<!DOCTYPE x [<!ENTITY a "aaaa">]><PORX_IN020101SM31 xmlns="urn:hl7-org:v3">&a;</PORX_IN020101SM31>`
	if _, err := Decode([]byte(entity)); err == nil {
		t.Error("entity accepted")
	}
}
