package rxmsg

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/testutil"
)

var (
	reShortID = regexp.MustCompile(`^[A-F0-9]{6}-[A-Z0-9]{6}-[A-F0-9]{5}[A-Z0-9+]$`)
	reLongID  = regexp.MustCompile(`^[A-F0-9]{8}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{12}[A-Z0-9+]?$`)
	reUUID    = regexp.MustCompile(`^[A-F0-9]{8}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{12}$`)
)

// fixtureFiles lists every XML message under the hl7v3 fixtures.
func fixtureFiles(t testing.TB) []string {
	t.Helper()
	var out []string
	root := testutil.Fixtures(t, "hl7v3")
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() && (info.Name() == "mim" || info.Name() == "spine-xslt" || info.Name() == "assurance-checks") {
			return filepath.SkipDir
		}
		if !info.IsDir() && strings.EqualFold(filepath.Ext(p), ".xml") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// receives lists the payloads the Spine receives, with what each maps to.
var receives = map[string]string{
	"ParentPrescription": "rx.Prescription", "CancellationRequest": "rx.CancelRequest",
	"PatientPrescriptionReleaseRequest": "rx.PatientReleaseRequest", "NominatedPrescriptionReleaseRequest": "rx.NominatedReleaseRequest",
	"DispenseProposalReturn": "rx.DispenseProposalReturn", "DispenseNotification": "rx.DispenseNotification",
	"DispenseClaim": "rx.DispenseClaim", "ETPWithdraw": "rx.DispenserWithdraw", "RebuildDispenseHistory": "rx.RebuildDispenseHistory",
}

// mapFixture maps one fixture file the way the service (whole interactions)
// or the test bench (payload only) hands it over. It reports "" for a
// document the Spine does not receive (its answers, signature fragments).
func mapFixture(t *testing.T, b []byte) (any, string) {
	t.Helper()
	m, problems, err := hl7v3.DecodeLenient(b)
	if err == nil {
		in, err := Input(m, time.Date(2022, 2, 1, 10, 0, 0, 0, time.UTC))
		if e := epserr.As(err); e != nil && e.Kind == epserr.KindUnsupported {
			return nil, ""
		}
		if err != nil {
			t.Fatalf("%s: %v", m.Interaction, err)
		}
		_ = problems // schema problems are the decoder's to report; the mapping must still work
		return in, m.Interaction
	}
	p, _, perr := hl7v3.DecodePayloadLenient(b)
	if perr != nil {
		return nil, ""
	}
	if _, ok := receives[p.Root]; !ok {
		return nil, ""
	}
	in, err := PayloadInput(p, rx.Meta{MessageID: "PAYLOAD-ONLY"})
	if err != nil {
		t.Fatalf("%s: %v", p.Root, err)
	}
	return in, p.Root
}

// Every real message the Spine receives in the fixtures maps, with the values
// each lifecycle rule needs present and well formed.
func TestEveryFixtureMaps(t *testing.T) {
	counts := map[string]int{}
	for _, f := range fixtureFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(f, testutil.Fixtures(t, "hl7v3"))
		t.Run(name, func(t *testing.T) {
			in, what := mapFixture(t, b)
			if in == nil {
				return
			}
			counts[fmt.Sprintf("%T", in)]++
			meta, _ := rx.MetaOf(in)
			if meta.MessageID == "" {
				t.Errorf("%s: no message ID", what)
			}
			if id := rx.PrescriptionIDOf(in); id == "" {
				if _, ok := in.(rx.NominatedReleaseRequest); !ok {
					t.Errorf("%s: no prescription ID", what)
				}
			}
			checkMapped(t, in)
		})
	}
	// The fixtures hold at least this many of each (a walk that found none
	// would let the test pass vacuously).
	for kind, min := range map[string]int{
		"rx.Prescription": 50, "rx.CancelRequest": 13, "rx.PatientReleaseRequest": 60, "rx.NominatedReleaseRequest": 4,
		"rx.DispenseProposalReturn": 13, "rx.DispenseNotification": 50, "rx.DispenseClaim": 20,
		"rx.DispenserWithdraw": 12, "rx.RebuildDispenseHistory": 5,
	} {
		if counts[kind] < min {
			t.Errorf("%d %s mapped, want at least %d", counts[kind], kind, min)
		}
	}
	t.Logf("mapped: %v", counts)
}

func checkMapped(t *testing.T, in any) {
	t.Helper()
	switch v := in.(type) {
	case rx.Prescription:
		if !reShortID.MatchString(v.ID) && !reLongID.MatchString(v.ID) {
			t.Errorf("prescription ID %q", v.ID)
		}
		if !reUUID.MatchString(v.UUID) || v.PrescriberODS == "" || v.PrescriptionTime == "" || len(v.NHSNumber) != 10 {
			t.Errorf("prescription %+v", v)
		}
		if len(v.LineItems) == 0 {
			t.Error("no line items")
		}
		for _, li := range v.LineItems {
			if !reUUID.MatchString(li.ID) || li.Quantity == "" || li.Description == "" {
				t.Errorf("line item %+v", li)
			}
		}
	case rx.CancelRequest:
		if v.RequestID == "" || v.SenderODS == "" || v.ReasonCode == "" || len(v.NHSNumber) != 10 {
			t.Errorf("cancel %+v", v)
		}
	case rx.PatientReleaseRequest:
		if v.RequestID == "" || v.SenderODS == "" {
			t.Errorf("release %+v", v)
		}
	case rx.NominatedReleaseRequest:
		if v.RequestID == "" || v.SenderODS == "" {
			t.Errorf("nominated release %+v", v)
		}
	case rx.DispenseProposalReturn:
		// (the test bench elides some returns' author as "...")
		if v.ReturnID == "" || v.ReasonCode == "" {
			t.Errorf("return %+v", v)
		}
	case rx.DispenseNotification:
		checkDN(t, v)
	case rx.DispenseClaim:
		if v.ClaimID == "" || v.PrescriptionStatus == "" || v.ClaimTime == "" || len(v.Items) == 0 {
			t.Errorf("claim %+v", v)
		}
	case rx.DispenserWithdraw:
		if v.WithdrawID == "" || (v.WithdrawType != "LD" && v.WithdrawType != "AD") || v.Reason == "" {
			t.Errorf("withdraw %+v", v)
		}
	case rx.RebuildDispenseHistory:
		if len(v.Notifications) == 0 {
			t.Errorf("rebuild %+v", v)
		}
		for _, dn := range v.Notifications {
			checkDN(t, dn)
		}
	default:
		t.Errorf("unexpected %T", in)
	}
}

func checkDN(t *testing.T, v rx.DispenseNotification) {
	t.Helper()
	if v.NotificationID == "" || v.PrescriptionStatus == "" || v.DispenseTime == "" || len(v.Items) == 0 || v.DispenserODS == "" {
		t.Errorf("dispense notification %+v", v)
	}
	for _, it := range v.Items {
		if it.ID == "" || it.Status == "" {
			t.Errorf("dispensed item %+v", it)
		}
	}
}

// Field by field, the fixtures whose contents the specs quote.
func TestFixtureValues(t *testing.T) {
	read := func(name string) any {
		t.Helper()
		in, _ := mapFixture(t, testutil.ReadFixture(t, "hl7v3", name))
		if in == nil {
			t.Fatalf("%s did not map", name)
		}
		return in
	}
	p := read("PORX_IN020101UK31-parent-prescription-acute-nominated.xml").(rx.Prescription)
	if p.ID != "24F5DA-A83008-7EFE6Z" || p.NominatedODS != "FA565" || p.TreatmentType != "0001" || p.PrescriberODS != "A83008" ||
		p.SenderODS != "A83008" || p.CommissionerODS != "84H" || p.NHSNumber != "5839945242" || !p.Signed ||
		p.PrescriptionTime != "20221021000000" || p.SignedTime != "20221021134700" || p.Patient.Family != "TWITCHETT" ||
		p.Patient.BirthDate != "19480430" || len(p.LineItems) != 4 || p.LineItems[0].DMDCode != "39732311000001104" ||
		p.LineItems[0].Quantity != "20" || p.LineItems[0].UnitCode != "428673006" || p.SenderASID != "200000001285" {
		t.Errorf("acute nominated: %+v", p)
	}
	rd := read("PORX_IN020101UK31-parent-prescription-repeat-dispensing.xml").(rx.Prescription)
	if rd.TreatmentType != "0003" || rd.RepeatLow != 1 || rd.RepeatHigh != 6 || rd.DaysSupply != 30 ||
		rd.DispenseWindowLow != "20220219" || rd.DispenseWindowHigh != "20220319" || rd.ReviewDate != "20241130" ||
		rd.LineItems[0].RepeatHigh != 6 || rd.LineItems[0].RepeatLow != 1 {
		t.Errorf("repeat dispensing: %+v", rd)
	}
	none := read("PORX_IN020101UK31-parent-prescription-acute-no-nomination.xml").(rx.Prescription)
	if none.NominatedODS != "" {
		t.Errorf("no nomination: %q", none.NominatedODS)
	}
	c := read("PORX_IN030101UK32-cancel-request.xml").(rx.CancelRequest)
	if c.PrescriptionID != "58E241-A83008-4E2F8R" || c.LineItemID != "299C610B-F4F1-4EAC-A7D7-4FB6B0556E11" ||
		c.ReasonCode != "0001" || c.ReasonText != "0001: Prescribing Error" || c.PrescriptionUUID == "" {
		t.Errorf("cancel: %+v", c)
	}
	dn := read("PORX_IN080101UK31-dispense-notification.xml").(rx.DispenseNotification)
	if dn.PrescriptionID != "A0548B-A99968-451485" || dn.PrescriptionStatus != "0006" || dn.DispenserODS != "VNE51" ||
		dn.RecipientODS != "T1450" || len(dn.Items) != 2 || dn.Items[1].Quantity != "28" || dn.Items[1].UnitCode != "428673006" ||
		dn.Items[0].ID != "A54219B8-F741-4C47-B662-E4F8DFA49AB6" || dn.DispenseTime != "20210507144729" {
		t.Errorf("dispense notification: %+v", dn)
	}
	amend := read("PORX_IN080101UK31-dispense-notification-amend.xml").(rx.DispenseNotification)
	if amend.ReplacementOf != "50101420-789B-4A3D-A4FB-4D3D0AF76A64" {
		t.Errorf("amendment replaces %q", amend.ReplacementOf)
	}
	w := read("PORX_IN510101UK31-dispense-withdraw.xml").(rx.DispenserWithdraw)
	if w.WithdrawType != "LD" || w.Reason != "DA" || w.NotificationRef != "602159EE-1678-41EC-A100-7B3DD04C1D84" || w.PrescriptionID != "C2782B-A99968-4E4E9Z" {
		t.Errorf("withdraw: %+v", w)
	}
	ret := read("PORX_IN100101UK31-dispense-proposal-return.xml").(rx.DispenseProposalReturn)
	if ret.ReasonCode != "0002" || ret.PrescriptionID != "18B064-A99968-4BCAA3" || ret.SenderODS != "VNE51" {
		t.Errorf("return: %+v", ret)
	}
	rel := read("PORX_IN132004UK30-patient-release-request.xml").(rx.PatientReleaseRequest)
	if rel.PrescriptionID != "A0548B-A99968-451485" || rel.SenderODS != "VNE51" || rel.RequestID != "CCCBCC52-481B-4F5F-9E69-5125CF46166F" {
		t.Errorf("release: %+v", rel)
	}
	nom := read("PORX_IN060102UK30-nominated-release-request-payload-only.xml").(rx.NominatedReleaseRequest)
	if nom.SenderODS != "FPM83" {
		t.Errorf("nominated release: %+v", nom)
	}
	rb := read("PORX_IN540101UK31-rebuild-dispense-history-payload-only.xml").(rx.RebuildDispenseHistory)
	if rb.WithdrawReason != "MU" || len(rb.Notifications) != 1 || rb.Notifications[0].Items[1].RunningTotal != "21" {
		t.Errorf("rebuild: %+v", rb)
	}
}

// Values that are not what rx needs are refused in the Spine's own words.
func TestMappingRefusesNonIntegers(t *testing.T) {
	b := testutil.ReadFixture(t, "hl7v3", "PORX_IN020101UK31-parent-prescription-repeat-dispensing.xml")
	b = []byte(strings.Replace(string(b), `<high value="6"/>`, `<high value="six"/>`, 1))
	m, err := hl7v3.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = PrescriptionInput(m, time.Now())
	if e := epserr.As(err); e == nil || e.Code.Value != "5000" || !strings.Contains(e.Code.Display, "is not an integer") {
		t.Fatalf("got %v", err)
	}
	if _, err := PrescriptionInput(nil, time.Now()); err == nil {
		t.Error("nil message accepted")
	}
}
