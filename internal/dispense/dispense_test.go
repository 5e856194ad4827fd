package dispense

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/testutil"
)

// releasedExample is prescribe.Example (three items, nominated to FA565)
// released to the example pharmacy through the lifecycle and read back with
// ReadRelease: the Released a real journey gives.
func releasedExample(t *testing.T) (*spine, Released) {
	t.Helper()
	p := prescribe.Example(day0, "FA565")
	s := newSpine(t, &p, day0)
	req, err := NominatedRelease(Example(), hours(1))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := ReadRelease(s.release(req, hours(1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rel) != 1 {
		t.Fatalf("%d prescriptions released, want 1", len(rel))
	}
	return s, rel[0]
}

func TestNominatedRelease(t *testing.T) {
	d := Example()
	id := ids.NewUUID()
	b, err := NominatedRelease(d, hours(1), WithMessageID(id))
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	if m.Root != "PORX_IN060102SM30" {
		t.Errorf("root %s", m.Root)
	}
	in := input(t, b, hours(1)).(rx.NominatedReleaseRequest)
	want := rx.NominatedReleaseRequest{
		Meta: rx.Meta{MessageID: id, Interaction: hl7v3.NominatedReleaseRequest, SenderASID: d.ASID, SenderODS: "FA565",
			Received: hours(1)},
		RequestID: in.RequestID, EffectiveTime: "20250303100000",
		DispenserRoleProfile: d.RoleProfileID, DispenserSDSUser: d.SDSUserID, DispenserName: d.PersonName,
	}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("mapped (-want +got):\n%s", diff)
	}
	if !ids.IsUpperUUID(in.RequestID) || in.RequestID == id {
		t.Errorf("payload id %q: want its own upper-case UUID", in.RequestID)
	}
	h := m.Header()
	if h.ReceiverASID != SpineASID || h.SenderASID != d.ASID {
		t.Errorf("wrapper ASIDs %s → %s", h.SenderASID, h.ReceiverASID)
	}
	v := m.Payload().(*hl7v3.PORX_MT121001UK30_NominatedPrescriptionReleaseRequest).View()
	if v.Dispenser.OrgName != d.Name || v.Dispenser.JobRole != d.JobRole {
		t.Errorf("dispenser %+v", v.Dispenser)
	}
	other, err := NominatedRelease(d, hours(1), WithReceiver("123456789012"))
	if err != nil {
		t.Fatal(err)
	}
	if got := decode(t, other).Header().ReceiverASID; got != "123456789012" {
		t.Errorf("WithReceiver: receiver %s", got)
	}
}

func TestPatientRelease(t *testing.T) {
	d := Example()
	b, err := PatientRelease(d, "24f5da-a83008-7efe6z", hours(2))
	if err != nil {
		t.Fatal(err)
	}
	in := input(t, b, hours(2)).(rx.PatientReleaseRequest)
	if in.PrescriptionID != "24F5DA-A83008-7EFE6Z" || in.SenderODS != "FA565" || in.Interaction != hl7v3.PatientReleaseRequest ||
		in.EffectiveTime != "20250303110000" || in.DispenserSDSUser != d.SDSUserID || !ids.IsUpperUUID(in.RequestID) {
		t.Errorf("mapped %+v", in)
	}
	// An R1 long-form ID goes as the value's root, as the test bench's R1 releases write it.
	long := "9361DA95-1BEB-E8D4-E050-D20AE3A22B74"
	b, err = PatientRelease(d, long, hours(2))
	if err != nil {
		t.Fatal(err)
	}
	if got := input(t, b, hours(2)).(rx.PatientReleaseRequest).PrescriptionID; got != long {
		t.Errorf("long-form ID mapped as %q", got)
	}
	for _, bad := range []string{"", "24F5DA-A83008-7EFE6A", "not an id"} {
		if _, err := PatientRelease(d, bad, hours(2)); err == nil {
			t.Errorf("PatientRelease(%q): no error", bad)
		}
	}
}

func TestBuildersRefuseBadInput(t *testing.T) {
	_, r := releasedExample(t)
	d := Example()
	noODS := d
	noODS.ODS = ""
	noUser := d
	noUser.SDSUserID = ""
	badASID := d
	badASID.ASID = "12ab"
	full := FullSupplies(r)
	cases := map[string]func() ([]byte, error){
		"dispenser without ODS":      func() ([]byte, error) { return NominatedRelease(noODS, hours(1)) },
		"dispenser without SDS user": func() ([]byte, error) { return Notification(noUser, r, full, hours(3)) },
		"ASID not digits":            func() ([]byte, error) { return Return(badASID, r, "0002", hours(3)) },
		"zero time":                  func() ([]byte, error) { return NominatedRelease(d, time.Time{}) },
		"lower-case message ID": func() ([]byte, error) {
			return NominatedRelease(d, hours(1), WithMessageID(strings.ToLower(ids.NewUUID())))
		},
		"item missing": func() ([]byte, error) { return Notification(d, r, full[:2], hours(3)) },
		"item twice":   func() ([]byte, error) { return Notification(d, r, append(full, full[0]), hours(3)) },
		"unknown item": func() ([]byte, error) {
			return Notification(d, r, append(full[1:], Supply{ItemID: ids.NewUUID(), Status: ItemFullyDispensed}), hours(3))
		},
		"not dispensed without reason": func() ([]byte, error) {
			return Notification(d, r, append(full[1:], Supply{ItemID: r.Items[0].ID, Status: ItemNotDispensed}), hours(3))
		},
		"status a dispenser does not send": func() ([]byte, error) {
			return Notification(d, r, append(full[1:], Supply{ItemID: r.Items[0].ID, Status: "0008"}), hours(3))
		},
		"quantity not a number": func() ([]byte, error) {
			return Notification(d, r, append(full[1:], PartialSupply(r.Items[0], "ten")), hours(3))
		},
		"not dispensed with products": func() ([]byte, error) {
			s := NotSupplied(r.Items[0], "0002")
			s.Products = []Product{{Quantity: "1"}}
			return Notification(d, r, append(full[1:], s), hours(3))
		},
		"amendment of a non-UUID": func() ([]byte, error) { return Notification(d, r, full, hours(3), Amends("last one")) },
		"return reason unknown":   func() ([]byte, error) { return Return(d, r, "0099", hours(3)) },
		"withdraw type unknown":   func() ([]byte, error) { return Withdraw(d, r, ids.NewUUID(), "XX", "QU", hours(3)) },
		"withdraw reason unknown": func() ([]byte, error) { return Withdraw(d, r, ids.NewUUID(), "LD", "ZZ", hours(3)) },
		"withdraw of no DN":       func() ([]byte, error) { return Withdraw(d, r, "", "LD", "QU", hours(3)) },
		"rebuild of nothing":      func() ([]byte, error) { return Rebuild(d, r, "QU", nil, hours(3)) },
		"rebuild of a claim": func() ([]byte, error) {
			c, err := Claim(d, r, full, hours(3))
			if err != nil {
				return nil, err
			}
			return Rebuild(d, r, "QU", [][]byte{c}, hours(3))
		},
		"claim exemption code": func() ([]byte, error) { return Claim(d, r, full, hours(3), WithExemption(Exemption{Code: "1"})) },
		"released without UUID": func() ([]byte, error) {
			r2 := r
			r2.UUID = ""
			return Notification(d, r2, full, hours(3))
		},
		"released without release response": func() ([]byte, error) {
			r2 := r
			r2.ResponseID = ""
			return Claim(d, r2, full, hours(3))
		},
	}
	for name, build := range cases {
		if b, err := build(); err == nil {
			t.Errorf("%s: built without error:\n%.300s", name, b)
		}
	}
}

func TestReadReleaseFixtures(t *testing.T) {
	b := testutil.ReadFixture(t, "hl7v3", "PORX_IN070101UK31-nominated-release-response.xml")
	rel, err := ReadRelease(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(rel) != 1 {
		t.Fatalf("%d released", len(rel))
	}
	want := Released{
		ResponseID: "0D39C29D-EC49-4046-965E-588F5DF6970E", RequestID: "C77C87D9-8FCF-4AF8-AABE-2845F768A892",
		MessageID: "93041E69-2017-4242-B325-CBC9A84D5EF1", PrescriptionID: "497F5C-A83008-3BDDDE",
		UUID: "C8377ED7-5511-4C55-B1D3-22F915417AA5", NHSNumber: "9449304130", PrescriberODS: "A83008",
		TreatmentType: "0001", Status: "0001",
	}
	got := rel[0]
	items := got.Items
	got.Items = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("released (-want +got):\n%s", diff)
	}
	if len(items) != 2 || items[0].ID != "3C8E0C40-4B08-494D-AE22-41DBAB2FB4AE" || items[0].DMDCode != "39720311000001101" ||
		items[0].Quantity != "60" || items[0].UnitCode != "428673006" || items[0].UnitDisplay != "tablet" ||
		items[0].Status != "0007" || items[1].Description != "Salbutamol 100micrograms/dose inhaler CFC free" ||
		items[1].Quantity != "200" || items[1].UnitCode != "3317411000001100" {
		t.Errorf("items %+v", items)
	}

	b = testutil.ReadFixture(t, "hl7v3", "PORX_IN070101UK31-nominated-release-response-repeat-dispensing.xml")
	rel, err = ReadRelease(b)
	if err != nil {
		t.Fatal(err)
	}
	r := rel[0]
	if r.PrescriptionID != "D3FB3C-A99968-63D75S" || r.TreatmentType != "0003" || !r.RepeatDispensing() ||
		r.Issue != 1 || r.MaxRepeats != 6 || r.Items[0].Issue != 1 || r.Items[0].MaxRepeats != 6 {
		t.Errorf("repeat dispensing release %+v", r)
	}

	// A full batch: twenty prescriptions from one response, each one a
	// notification can be built for.
	b = testutil.ReadFixture(t, "hl7v3", "eps-api/packages/coordinator/tests/services/translation/response/release/full_successful_release.xml")
	rel, err = ReadRelease(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(rel) != 20 {
		t.Fatalf("full release: %d prescriptions, want 20", len(rel))
	}
	seen := map[string]bool{}
	for i, r := range rel {
		if r.ResponseID != rel[0].ResponseID || seen[r.PrescriptionID] || ids.CheckShortID(r.PrescriptionID) != nil {
			t.Errorf("prescription %d: %s from response %s", i+1, r.PrescriptionID, r.ResponseID)
		}
		seen[r.PrescriptionID] = true
		dn, err := Notification(Example(), r, FullSupplies(r), hours(2))
		if err != nil {
			t.Fatalf("prescription %d: %v", i+1, err)
		}
		if in := input(t, dn, hours(2)).(rx.DispenseNotification); in.PrescriptionID != r.PrescriptionID || len(in.Items) != len(r.Items) {
			t.Errorf("prescription %d: notification mapped %+v", i+1, in)
		}
	}

	for file, reason := range map[string]string{
		"PORX_IN110101UK30-release-rejection-with-another-dispenser-template.xml": "0004",
		"PORX_IN110101UK30-release-rejection-dispensed-template.xml":              "0005",
	} {
		_, err := ReadRelease(testutil.ReadFixture(t, "hl7v3", file))
		var rej *Rejection
		if !errors.As(err, &rej) {
			t.Fatalf("%s: %v, want a *Rejection", file, err)
		}
		if rej.Reason.Value != reason || rej.Reason.System != epserr.SystemDispense || epserr.CodeOf(err).Value != reason {
			t.Errorf("%s: reason %+v", file, rej.Reason)
		}
		if reason == "0004" && (rej.DispenserODS != "FH878" || !strings.Contains(rej.Text, "another dispenser")) {
			t.Errorf("%s: holder %q text %q", file, rej.DispenserODS, rej.Text)
		}
		if rej.NoMore() {
			t.Errorf("%s: NoMore", file)
		}
	}
}

func TestReadReleaseAnswers(t *testing.T) {
	w := hl7v3.Wrapper{MessageID: ids.NewUUID(), Created: hours(1), SenderASID: SpineASID, ReceiverASID: "230811201324"}
	_, err := ReadRelease(hl7v3.NewReleaseRejection(w, ids.NewUUID(), "REQ", epserr.RejectNoMoreNominated, "").Encode())
	var rej *Rejection
	if !errors.As(err, &rej) || !rej.NoMore() {
		t.Errorf("no more nominated: %v", err)
	}
	ack := hl7v3.NewAck(w, ids.NewUUID(), hl7v3.AckError, epserr.UnableToProcess.With("agentOrganization missing"))
	_, err = ReadRelease(ack.Encode())
	if c := epserr.CodeOf(err); c.Value != "5000" || errors.As(err, &rej) {
		t.Errorf("error ack: %v (code %v)", err, c)
	}
	if _, err := ReadRelease(hl7v3.NewAck(w, ids.NewUUID(), "").Encode()); err == nil {
		t.Error("an AA with no prescriptions read as a release")
	}
	notification := testutil.ReadFixture(t, "hl7v3", "PORX_IN080101UK31-dispense-notification.xml")
	if _, err := ReadRelease(notification); err == nil {
		t.Error("a dispense notification read as a release")
	}
	for _, junk := range []string{"", "<x/>", `<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`} {
		if _, err := ReadRelease([]byte(junk)); err == nil {
			t.Errorf("ReadRelease(%q): no error", junk)
		}
	}
}

func TestNotificationMapsToRx(t *testing.T) {
	s, r := releasedExample(t)
	d := Example()
	id := ids.NewUUID()
	sup := []Supply{
		// Two packs of another brand for the amoxicillin, 14 + 7 of 21.
		{ItemID: r.Items[0].ID, Status: ItemFullyDispensed, Products: []Product{
			{DMDCode: "39732411000001106", Description: "Amoxicillin 250mg capsules (Brand A)", Quantity: "14"},
			{DMDCode: "39732411000001106", Description: "Amoxicillin 250mg capsules (Brand A)", Quantity: "7"}}},
		PartialSupply(r.Items[1], "16"),
		NotSupplied(r.Items[2], "0002"),
	}
	sup[1].RunningTotal = "16"
	b, err := Notification(d, r, sup, hours(3), WithMessageID(id))
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	if m.Root != "PORX_IN080101SM31" {
		t.Errorf("root %s", m.Root)
	}
	in := input(t, b, hours(3)).(rx.DispenseNotification)
	if in.NotificationID != id || in.MessageID != id || in.PrescriptionID != r.PrescriptionID || in.PrescriptionUUID != r.UUID ||
		in.NHSNumber != "9449304106" || in.DispenserODS != "FA565" || in.SenderODS != "FA565" ||
		in.PrescriptionStatus != StatusPartial || in.DispenseTime != "20250303120000" ||
		in.ReleaseResponseRef != r.ResponseID || in.ReplacementOf != "" || in.RecipientODS != PricingAuthorityODS {
		t.Errorf("mapped header %+v", in)
	}
	wantItems := []rx.DispensedItem{
		{ID: r.Items[0].ID, Status: "0001", Quantity: "21", UnitCode: "428641000", SuppliedDMDCode: "39732411000001106",
			Description: "Amoxicillin 250mg capsules"},
		{ID: r.Items[1].ID, Status: "0003", Quantity: "16", UnitCode: "428673006", RunningTotal: "16",
			SuppliedDMDCode: "322237000", Description: "Paracetamol 500mg soluble tablets"},
		{ID: r.Items[2].ID, Status: "0002", Description: "Azithromycin 250mg capsules", NotDispensedReason: "0002"},
	}
	for i := range in.Items {
		if !ids.IsUpperUUID(in.Items[i].SuppliedItemID) || in.Items[i].SuppliedItemID == in.Items[i].ID {
			t.Errorf("item %d: supplied line item id %q: want its own UUID", i+1, in.Items[i].SuppliedItemID)
		}
		in.Items[i].SuppliedItemID = ""
	}
	if diff := cmp.Diff(wantItems, in.Items); diff != "" {
		t.Errorf("mapped items (-want +got):\n%s", diff)
	}
	v := m.Payload().(*hl7v3.PORX_MT024001UK31_DispenseNotification).View()
	if got := v.LineItems[0].Supplied; len(got) != 2 || got[0].Instructions != "One capsule three times a day for 7 days" ||
		got[1].Quantity != "7" || got[0].UnitDisplay != "capsule" {
		t.Errorf("amoxicillin supplied %+v", got)
	}
	if v.LineItems[0].RequestedQuantity != "21" || v.LineItems[2].NotDispensedReason.Display != "Clinically unsuitable" {
		t.Errorf("requested %q reason %+v", v.LineItems[0].RequestedQuantity, v.LineItems[2].NotDispensedReason)
	}
	if out := s.apply(b, hours(3)); out.Answer.AckType != rx.AckAccepted {
		t.Errorf("rx answered %s %v", out.Answer.AckType, out.Answer.Codes)
	}

	// Nothing dispensed at all: 0007, and the reason the items agree on goes on the header.
	none := []Supply{NotSupplied(r.Items[0], "0001"), NotSupplied(r.Items[1], "0001"), NotSupplied(r.Items[2], "0001")}
	b, err = Notification(d, r, none, hours(4))
	if err != nil {
		t.Fatal(err)
	}
	in = input(t, b, hours(4)).(rx.DispenseNotification)
	if in.PrescriptionStatus != StatusNotDispensed || in.NotDispensedReason != "0001" {
		t.Errorf("none dispensed: status %s reason %q", in.PrescriptionStatus, in.NotDispensedReason)
	}
	// An amendment names the notification it replaces; a forced status is written as asked.
	b, err = Notification(d, r, FullSupplies(r), hours(5), Amends(strings.ToLower(id)), WithPrescriptionStatus("0003"))
	if err != nil {
		t.Fatal(err)
	}
	in = input(t, b, hours(5)).(rx.DispenseNotification)
	if in.ReplacementOf != id || in.PrescriptionStatus != "0003" {
		t.Errorf("amendment: replaces %q status %s", in.ReplacementOf, in.PrescriptionStatus)
	}
}

func TestPrescriptionStatus(t *testing.T) {
	for _, c := range []struct {
		items []string
		want  string
	}{
		{[]string{"0001", "0001"}, "0006"},
		{[]string{"0001", "0002"}, "0006"},
		{[]string{"0001", "0005"}, "0006"},
		{[]string{"0001", "0003"}, "0003"},
		{[]string{"0004", "0002"}, "0003"},
		{[]string{"0002", "0002"}, "0007"},
		{[]string{"0002", "0005"}, "0007"},
	} {
		got := PrescriptionStatus(c.items...)
		if got != c.want {
			t.Errorf("PrescriptionStatus(%v) = %s, want %s", c.items, got, c.want)
		}
		for _, it := range c.items {
			if !rx.ValidItemStatus(got, it) {
				t.Errorf("%v: rx does not allow item %s under %s", c.items, it, got)
			}
		}
	}
}

func TestClaimMapsToRx(t *testing.T) {
	_, r := releasedExample(t)
	d := Example()
	sup := FullSupplies(r)
	sup[0].Products[0].ChargePaid = true
	sup[1].Products[0].Endorsements = []Endorsement{{Code: "BB", Text: "Broken bulk"}, {Code: "SP"}}
	seen := true
	id, prior := ids.NewUUID(), ids.NewUUID()
	b, err := Claim(d, r, sup, hours(6), WithMessageID(id), Amends(prior),
		WithExemption(Exemption{Code: "0004", EvidenceSeen: &seen}))
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	in := input(t, b, hours(6)).(rx.DispenseClaim)
	if in.ClaimID != id || in.PrescriptionID != r.PrescriptionID || in.PrescriptionUUID != r.UUID || in.DispenserODS != "FA565" ||
		in.SenderODS != "FA565" || in.PrescriptionStatus != "0006" || in.ClaimTime != "20250303150000" ||
		in.ReplacementOf != prior || len(in.Items) != 3 {
		t.Fatalf("mapped %+v", in)
	}
	for i, it := range in.Items {
		if it.ID != r.Items[i].ID || it.Status != "0001" || it.Quantity != r.Items[i].Quantity || it.UnitCode != r.Items[i].UnitCode {
			t.Errorf("item %d: %+v", i+1, it)
		}
	}
	v := m.Payload().(*hl7v3.PORX_MT142001UK31_DispenseClaim).View()
	if v.ChargeExemption.Code != "0004" || v.ExemptionEvidence != "ES" || v.ReleaseResponseID != r.ResponseID ||
		v.RecipientODS != PricingAuthorityODS {
		t.Errorf("claim view %+v", v)
	}
	c := m.Payload().(*hl7v3.PORX_MT142001UK31_DispenseClaim)
	if neg := c.Coverage.CoveringChargeExempt.NegationInd; neg != "false" {
		t.Errorf("exempt patient: negationInd %q", neg)
	}
	if neg := c.Coverage.CoveringChargeExempt.Authorization.AuthorizingEvidenceSeen.NegationInd; neg != "false" {
		t.Errorf("evidence seen: negationInd %q", neg)
	}
	if got := v.LineItems[0].Supplied[0]; got.ChargePaid != "true" || len(got.Endorsements) != 1 || got.Endorsements[0] != "NDEC" {
		t.Errorf("item 1 charge %q endorsements %v", got.ChargePaid, got.Endorsements)
	}
	if got := v.LineItems[1].Supplied[0]; got.ChargePaid != "false" || cmp.Diff([]string{"BB", "SP"}, got.Endorsements) != "" {
		t.Errorf("item 2 charge %q endorsements %v", got.ChargePaid, got.Endorsements)
	}
	// A paying patient: not exempt (negationInd true), no evidence recorded.
	b, err = Claim(d, r, sup, hours(6), WithExemption(Exemption{Code: "0001"}))
	if err != nil {
		t.Fatal(err)
	}
	c = decode(t, b).Payload().(*hl7v3.PORX_MT142001UK31_DispenseClaim)
	if c.Coverage.CoveringChargeExempt.NegationInd != "true" || c.Coverage.CoveringChargeExempt.Authorization != nil {
		t.Errorf("paid: %+v", c.Coverage.CoveringChargeExempt)
	}
}

func TestReturnAndWithdrawMapToRx(t *testing.T) {
	_, r := releasedExample(t)
	d := Example()
	b, err := Return(d, r, "0005", hours(2))
	if err != nil {
		t.Fatal(err)
	}
	ret := input(t, b, hours(2)).(rx.DispenseProposalReturn)
	if ret.PrescriptionID != r.PrescriptionID || ret.ReasonCode != "0005" || ret.ReasonText != "Invalid digital signature" ||
		ret.ReleaseResponseRef != r.ResponseID || ret.SenderODS != "FA565" || ret.Issue != 0 ||
		ret.ReturnID != decode(t, b).Header().MessageID || ret.EffectiveTime != "20250303110000" {
		t.Errorf("return mapped %+v", ret)
	}
	dn := ids.NewUUID()
	b, err = Withdraw(d, r, strings.ToLower(dn), "AD", "ONC", hours(4))
	if err != nil {
		t.Fatal(err)
	}
	w := input(t, b, hours(4)).(rx.DispenserWithdraw)
	if w.PrescriptionID != r.PrescriptionID || w.NHSNumber != r.NHSNumber || w.WithdrawType != "AD" || w.Reason != "ONC" ||
		w.NotificationRef != dn || w.Issue != 0 || w.EffectiveTime != "20250303130000" || !ids.IsUpperUUID(w.WithdrawID) {
		t.Errorf("withdraw mapped %+v", w)
	}
	v := decode(t, b).Payload().(*hl7v3.PORX_MT136001UK31_ETPWithdraw).View()
	if v.Type.Display != "All Dispenses" || v.Reason.Display != "Other Non-Clinical" || v.SDSUserID != d.SDSUserID {
		t.Errorf("withdraw view %+v", v)
	}
}

// TestRepeatDispensingNumbers checks the issue numbers of repeat dispensing
// go where the Spine reads them: the supply header and every item of a
// notification, a return's and a withdraw's repeat instance.
func TestRepeatDispensingNumbers(t *testing.T) {
	b := testutil.ReadFixture(t, "hl7v3", "PORX_IN070101UK31-nominated-release-response-repeat-dispensing.xml")
	rel, err := ReadRelease(b)
	if err != nil {
		t.Fatal(err)
	}
	r := rel[0]
	r.Issue = 2 // as if issue 2 were released
	for i := range r.Items {
		r.Items[i].Issue = 2
	}
	d := Example()
	dn, err := Notification(d, r, FullSupplies(r), hours(3))
	if err != nil {
		t.Fatal(err)
	}
	in := input(t, dn, hours(3)).(rx.DispenseNotification)
	if in.RepeatLow != 2 || in.RepeatHigh != 6 {
		t.Errorf("notification repeat %d/%d", in.RepeatLow, in.RepeatHigh)
	}
	for i, it := range in.Items {
		if it.RepeatLow != 2 || it.RepeatHigh != 6 {
			t.Errorf("item %d repeat %d/%d", i+1, it.RepeatLow, it.RepeatHigh)
		}
	}
	cl, err := Claim(d, r, FullSupplies(r), hours(3))
	if err != nil {
		t.Fatal(err)
	}
	if c := input(t, cl, hours(3)).(rx.DispenseClaim); c.RepeatLow != 2 || c.RepeatHigh != 6 || c.Items[0].RepeatHigh != 6 {
		t.Errorf("claim repeat %d/%d", c.RepeatLow, c.RepeatHigh)
	}
	ret, err := Return(d, r, "0001", hours(3))
	if err != nil {
		t.Fatal(err)
	}
	if got := input(t, ret, hours(3)).(rx.DispenseProposalReturn).Issue; got != 2 {
		t.Errorf("return issue %d", got)
	}
	w, err := Withdraw(d, r, ids.NewUUID(), "LD", "QU", hours(3))
	if err != nil {
		t.Fatal(err)
	}
	if got := input(t, w, hours(3)).(rx.DispenserWithdraw).Issue; got != 2 {
		t.Errorf("withdraw issue %d", got)
	}
	rb, err := Rebuild(d, r, "QU", [][]byte{dn}, hours(4))
	if err != nil {
		t.Fatal(err)
	}
	if got := input(t, rb, hours(4)).(rx.RebuildDispenseHistory); got.Issue != 2 || len(got.Notifications) != 1 ||
		got.Notifications[0].RepeatLow != 2 {
		t.Errorf("rebuild %+v", got)
	}
}

func TestRebuildMapsToRx(t *testing.T) {
	_, r := releasedExample(t)
	d := Example()
	first, err := Notification(d, r, []Supply{PartialSupply(r.Items[0], "7"), FullSupply(r.Items[1]), FullSupply(r.Items[2])}, hours(3))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Notification(d, r, []Supply{PartialSupply(r.Items[0], "7"), FullSupply(r.Items[1]), FullSupply(r.Items[2])}, hours(4))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Rebuild(d, r, "MU", [][]byte{first, second}, hours(5))
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	if m.Root != hl7v3.RebuildDispenseHistory {
		t.Errorf("root %s", m.Root)
	}
	in := input(t, b, hours(5)).(rx.RebuildDispenseHistory)
	if in.RebuildID != m.Header().MessageID || in.PrescriptionID != r.PrescriptionID || in.WithdrawReason != "MU" ||
		in.EffectiveTime != "20250303140000" || in.SenderODS != "FA565" || len(in.Notifications) != 2 {
		t.Fatalf("rebuild mapped %+v", in)
	}
	for i, want := range [][]byte{first, second} {
		got := in.Notifications[i]
		if got.NotificationID != decode(t, want).Header().MessageID || got.Items[0].Quantity != "7" || got.Items[0].Status != "0003" {
			t.Errorf("notification %d: %+v", i+1, got)
		}
	}
	if v := m.Payload().(*hl7v3.PORX_MT136002UK31_RebuildDispenseHistory).View(); cmp.Diff([]string{"1", "2"}, v.SequenceNumber) != "" {
		t.Errorf("sequence numbers %v", v.SequenceNumber)
	}
}

// TestEscaping puts markup in every free-text value a dispenser controls:
// it must come back as written, and the message must still be the message.
func TestEscaping(t *testing.T) {
	_, r := releasedExample(t)
	d := Example()
	d.Name = `Smith & Sons <"Chemists">`
	d.PersonName = "O'Neil </name><id root=\"x\"/>"
	d.Address = []string{"1 <High> Street & Co"}
	sup := FullSupplies(r)
	sup[0].Products[0].Instructions = "Take one\nat night & <b>not</b> with milk"
	b, err := Notification(d, r, sup, hours(3))
	if err != nil {
		t.Fatal(err)
	}
	v := decode(t, b).Payload().(*hl7v3.PORX_MT024001UK31_DispenseNotification).View()
	if v.Dispenser.OrgName != d.Name || v.Dispenser.Name != d.PersonName {
		t.Errorf("dispenser read back as %q / %q", v.Dispenser.OrgName, v.Dispenser.Name)
	}
	if got := v.LineItems[0].Supplied[0].Instructions; got != sup[0].Products[0].Instructions {
		t.Errorf("instructions read back as %q", got)
	}
	// Restated in a rebuild, the notification keeps its text byte for byte.
	rb, err := Rebuild(d, r, "DA", [][]byte{b}, hours(4))
	if err != nil {
		t.Fatal(err)
	}
	rv := decode(t, rb).Payload().(*hl7v3.PORX_MT136002UK31_RebuildDispenseHistory).View()
	if got := rv.Notifications[0].LineItems[0].Supplied[0].Instructions; got != sup[0].Products[0].Instructions {
		t.Errorf("instructions restated as %q", got)
	}
	if got := rv.Notifications[0].Dispenser.OrgName; got != d.Name {
		t.Errorf("pharmacy restated as %q", got)
	}
	xmllint(t, map[string][]byte{"escaped": b, "rebuild escaped": rb})
}

// TestSchemas validates one of every message built here against the MIM
// schemas, the shapes exercising every optional part.
func TestSchemas(t *testing.T) {
	_, r := releasedExample(t)
	d := Example()
	seen := false
	mixed := []Supply{
		{ItemID: r.Items[0].ID, Status: ItemPartial, RunningTotal: "10", Products: []Product{{Quantity: "6"}, {Quantity: "4",
			DMDCode: "39732411000001106", Description: "Amoxicillin 250mg capsules (Brand A)"}}},
		{ItemID: r.Items[1].ID, Status: ItemOwing, NotDispensedReason: "0003"},
		NotSupplied(r.Items[2], "0008"),
	}
	docs := map[string][]byte{}
	add := func(name string, b []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		docs[name] = b
	}
	b, err := NominatedRelease(d, hours(1))
	add("nominated release", b, err)
	b, err = PatientRelease(d, r.PrescriptionID, hours(1))
	add("patient release", b, err)
	dn, err := Notification(d, r, mixed, hours(3))
	add("notification", dn, err)
	b, err = Notification(d, r, FullSupplies(r), hours(3), Amends(ids.NewUUID()))
	add("notification amendment", b, err)
	b, err = Notification(d, r, []Supply{NotSupplied(r.Items[0], "0001"), NotSupplied(r.Items[1], "0001"), NotSupplied(r.Items[2], "0001")}, hours(3))
	add("notification none", b, err)
	b, err = Claim(d, r, FullSupplies(r), hours(4), WithExemption(Exemption{Code: "0002", EvidenceSeen: &seen}), Amends(ids.NewUUID()))
	add("claim", b, err)
	b, err = Claim(d, r, mixed, hours(4))
	add("claim mixed", b, err)
	b, err = Return(d, r, "0002", hours(2))
	add("return", b, err)
	b, err = Withdraw(d, r, ids.NewUUID(), "LD", "DA", hours(5))
	add("withdraw", b, err)
	b, err = Rebuild(d, r, "QU", [][]byte{dn, dn}, hours(6))
	add("rebuild", b, err)
	rep := r
	rep.TreatmentType, rep.Issue, rep.MaxRepeats = "0003", 3, 6
	b, err = Return(d, rep, "0003", hours(2))
	add("return repeat", b, err)
	b, err = Withdraw(d, rep, ids.NewUUID(), "LD", "PA", hours(5))
	add("withdraw repeat", b, err)
	b, err = Notification(d, rep, FullSupplies(rep), hours(3))
	add("notification repeat", b, err)
	b, err = Rebuild(d, rep, "OC", [][]byte{b}, hours(6))
	add("rebuild repeat", b, err)
	xmllint(t, docs)
}
