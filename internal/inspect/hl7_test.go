package inspect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/testutil"
)

func inspectFixture(t *testing.T, elem ...string) Result {
	t.Helper()
	return Bytes(testutil.ReadFixture(t, append([]string{"hl7v3"}, elem...)...))
}

// TestKeyFieldsOfEveryInteraction: what `eps inspect` prints for one sample
// of each interaction, against the values in the fixture files.
func TestKeyFieldsOfEveryInteraction(t *testing.T) {
	cases := []struct {
		file string
		want Result
	}{
		{"PORX_IN020101UK31-parent-prescription-acute-nominated.xml", Result{Interaction: "PORX_IN020101SM31", PrescriptionID: "24F5DA-A83008-7EFE6Z", Organisation: "A83008"}},
		{"PORX_IN132004UK30-patient-release-request.xml", Result{Interaction: "PORX_IN132004SM30", PrescriptionID: "A0548B-A99968-451485", Organisation: "VNE51"}},
		{"PORX_IN060102UK30-nominated-release-request-payload-only.xml", Result{Interaction: "NominatedPrescriptionReleaseRequest", Organisation: "FPM83"}},
		{"PORX_IN070101UK31-nominated-release-response.xml", Result{Interaction: "PORX_IN070101UK31", PrescriptionID: "497F5C-A83008-3BDDDE", RefersTo: "C77C87D9-8FCF-4AF8-AABE-2845F768A892", Status: "0001"}},
		{"PORX_IN110101UK30-release-rejection-dispensed-template.xml", Result{Interaction: "PORX_IN110101UK30", Reason: "0005 Prescription has been dispensed/not dispensed: The prescription is with another dispenser so it cannot be released.", Organisation: "FG915"}},
		{"PORX_IN030101UK32-cancel-request.xml", Result{Interaction: "PORX_IN030101SM32", PrescriptionID: "58E241-A83008-4E2F8R", NHSNumber: "9990548609", Reason: "0001: Prescribing Error"}},
		{"PORX_IN080101UK31-dispense-notification.xml", Result{Interaction: "PORX_IN080101SM31", PrescriptionID: "A0548B-A99968-451485", Organisation: "VNE51", Status: "0006", RefersTo: "999F9999-9999-9999-9FF9-F9FFF9999999"}},
		{"PORX_IN090101UK31-dispense-claim.xml", Result{Interaction: "PORX_IN090101SM31", PrescriptionID: "A0548B-A99968-451485", Status: "0006"}},
		{"PORX_IN100101UK31-dispense-proposal-return.xml", Result{Interaction: "PORX_IN100101SM31", PrescriptionID: "18B064-A99968-4BCAA3", Reason: "0002 Unable to dispense medication on prescriptions"}},
		{"PORX_IN510101UK31-dispense-withdraw.xml", Result{Interaction: "PORX_IN510101SM31", PrescriptionID: "C2782B-A99968-4E4E9Z", Reason: "LD Last Dispense / DA Dosage Amendments", RefersTo: "602159EE-1678-41EC-A100-7B3DD04C1D84"}},
		{"PORX_IN540101UK31-rebuild-dispense-history-payload-only.xml", Result{Interaction: "RebuildDispenseHistory", PrescriptionID: "9361DA95-23BD-E8D4-E050-D20AE3A22B74O", Reason: "MU"}},
		{"MCCI_IN010000UK13-ack-digital-signature-not-found-template.xml", Result{Interaction: "MCCI_IN010000UK13", Status: "AE"}},
	}
	for _, c := range cases {
		r := inspectFixture(t, c.file)
		check := func(field, got, want string) {
			if want != "" && got != want {
				t.Errorf("%s: %s = %q, want %q", c.file, field, got, want)
			}
		}
		check("interaction", r.Interaction, c.want.Interaction)
		check("prescriptionId", r.PrescriptionID, c.want.PrescriptionID)
		check("nhsNumber", r.NHSNumber, c.want.NHSNumber)
		check("organisation", r.Organisation, c.want.Organisation)
		check("refersTo", r.RefersTo, c.want.RefersTo)
		check("status", r.Status, c.want.Status)
		check("reason", r.Reason, c.want.Reason)
		if r.Error != "" && !strings.Contains(c.file, "template") {
			t.Errorf("%s: %s", c.file, r.Error)
		}
	}
	ack := inspectFixture(t, "MCCI_IN010000UK13-ack-digital-signature-not-found-template.xml")
	if len(ack.Errors) != 1 || !strings.Contains(ack.Errors[0], "Digital Signature not found") {
		t.Errorf("ack errors %v", ack.Errors)
	}
	dn := inspectFixture(t, "PORX_IN080101UK31-dispense-notification.xml")
	if len(dn.LineItems) != 2 || dn.LineItems[1].Quantity != "13+15" || dn.LineItems[1].Status != "0001" {
		t.Errorf("line items %+v", dn.LineItems)
	}
}

// TestEveryFixtureInspects: every HL7 fixture gives a result naming its
// interaction, with no error unless it is a simulator template or a known
// broken test-bench file.
func TestEveryFixtureInspects(t *testing.T) {
	root := testutil.Fixtures(t, "hl7v3")
	n := 0
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			if info != nil && info.IsDir() && (info.Name() == "mim" || info.Name() == "spine-xslt" || info.Name() == "assurance-checks") {
				return filepath.SkipDir
			}
			return err
		}
		if !strings.EqualFold(filepath.Ext(path), ".xml") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if first := strings.TrimLeft(string(b), " \t\r\n\ufeff"); !strings.HasPrefix(first, "<") {
			return nil // MIME captures: mime.go's tests
		}
		rel, _ := filepath.Rel(root, path)
		r := Bytes(b)
		if strings.HasPrefix(filepath.Base(path), "FragmentsToBeHashed") || strings.Contains(rel, "signature-fragments") {
			return nil
		}
		n++
		if r.Interaction == "" && !strings.Contains(rel, "Envelope") && !strings.Contains(r.Error, "Envelope") {
			if strings.Contains(string(b), "Envelope") {
				return nil // SOAP captures: the transport's
			}
			t.Errorf("%s: no interaction: %+v", rel, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 300 {
		t.Errorf("only %d files", n)
	}
}

// A prescription ID with a wrong check character is reported, not refused.
func TestBadCheckCharacterReported(t *testing.T) {
	r := inspectFixture(t, "PORX_IN540101UK31-rebuild-dispense-history-payload-only.xml")
	found := false
	for _, w := range r.Warnings {
		if strings.Contains(w, "check character") || strings.Contains(w, "check digit") {
			found = true
		}
	}
	// CHAIN017's long ID 9361DA95-23BD-E8D4-E050-D20AE3A22B74O: is its check right?
	if err := checkPrescriptionID(r.PrescriptionID); (err != nil) != found {
		t.Errorf("check %v, warnings %v", err, r.Warnings)
	}
	bad := inspectFixture(t, "eps-api", "examples", "secondary-care", "homecare", "acute", "nominated-pharmacy", "concurrent-dosage-instructions", "1-Convert-Response-Send-200_OK.xml")
	if bad.Error != "" || bad.PrescriptionID != "561479-395879-521272" {
		t.Fatalf("%+v", bad)
	}
	warned := false
	for _, w := range bad.Warnings {
		warned = warned || strings.Contains(w, "5009 Error in check digit")
	}
	if !warned {
		t.Errorf("no check digit warning: %v", bad.Warnings)
	}
}

// FuzzHL7 feeds `eps inspect`'s HL7 path anything: it must never panic, and
// whatever it reports it reports with an interaction or an error.
func FuzzHL7(f *testing.F) {
	for _, p := range testutil.Glob(f, "hl7v3/*.xml") {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := hl7(b)
		if r.Interaction == "" && r.Error == "" {
			t.Fatalf("no interaction and no error: %+v", r)
		}
	})
}
