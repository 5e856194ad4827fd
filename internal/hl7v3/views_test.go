package hl7v3

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openeps/openeps/internal/testutil"
)

// The views read what the fixtures say; the expected values are the ones
// in the fixture files (and in hl7v3.md §2 where it quotes them).

func TestReleaseRequestViews(t *testing.T) {
	v := sample(t, "PORX_IN132004UK30-patient-release-request.xml").Payload().(*PORX_MT121002UK30_PatientPrescriptionReleaseRequest).View()
	want := ReleaseRequestView{ID: "CCCBCC52-481B-4F5F-9E69-5125CF46166F", EffectiveTime: "20220201000000", PrescriptionID: "A0548B-A99968-451485",
		Dispenser: Person{RoleProfileID: "555086415105", JobRole: "S8000:G8000:R8000", ProfessionalCode: "3415870201", Name: "Jackie Clark", OrgODS: "VNE51", OrgName: "The Simple Pharmacy"}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Error(diff)
	}
	n := samplePayload(t, "PORX_IN060102UK30-nominated-release-request-payload-only.xml").Body.(*PORX_MT121001UK30_NominatedPrescriptionReleaseRequest).View()
	if !n.Nominated || n.PrescriptionID != "" || n.Dispenser.OrgODS != "FPM83" || n.Dispenser.SDSUserID != "156968544265" {
		t.Errorf("%+v", n)
	}
}

func TestCancelRequestView(t *testing.T) {
	v := sample(t, "PORX_IN030101UK32-cancel-request.xml").Payload().(*PORX_MT135001UK32_CancellationRequest).View()
	if v.PrescriptionID != "58E241-A83008-4E2F8R" || v.LineItemID != "299C610B-F4F1-4EAC-A7D7-4FB6B0556E11" ||
		v.PrescriptionUUID != "942FD768-D9A6-4062-8768-6E2FAA486C38" || v.NHSNumber != "9990548609" ||
		len(v.Reasons) != 1 || v.Reasons[0].Code != "0001" || v.Reasons[0].Text != "Prescribing Error" ||
		v.Author.OrgODS != "A83008" {
		t.Errorf("%+v", v)
	}
}

func TestDispenseViews(t *testing.T) {
	dn := sample(t, "PORX_IN080101UK31-dispense-notification.xml").Payload().(*PORX_MT024001UK31_DispenseNotification).View()
	if dn.PrescriptionID != "A0548B-A99968-451485" || dn.PrescriptionStatus.Code != "0006" || dn.RecipientODS != "T1450" ||
		dn.Dispenser.OrgODS != "VNE51" || dn.NHSNumber != "9449304106" || len(dn.LineItems) != 2 {
		t.Fatalf("%+v", dn)
	}
	furosemide := dn.LineItems[1]
	if furosemide.Status.Code != "0001" || furosemide.RequestedQuantity != "28" || len(furosemide.Supplied) != 2 ||
		furosemide.Supplied[0].Quantity != "13" || furosemide.Supplied[1].Quantity != "15" || furosemide.Supplied[0].UnitDisplay != "tablet" {
		t.Errorf("%+v", furosemide)
	}
	amend := sample(t, "PORX_IN080101UK31-dispense-notification-amend.xml").Payload().(*PORX_MT024001UK31_DispenseNotification).View()
	if amend.ReplacesMessageID != "50101420-789B-4A3D-A4FB-4D3D0AF76A64" || amend.LineItems[0].PrescribedItemID == amend.LineItems[0].ID {
		t.Errorf("%+v", amend)
	}
	rd := sample(t, "PORX_IN080101UK31-dispense-notification-repeat-dispensing-multi-item.xml").Payload().(*PORX_MT024001UK31_DispenseNotification).View()
	if rd.RepeatLow == "" || rd.RepeatHigh == "" || len(rd.LineItems) < 2 {
		t.Errorf("repeat dispensing: %+v", rd)
	}
	claim := sample(t, "PORX_IN090101UK31-dispense-claim.xml").Payload().(*PORX_MT142001UK31_DispenseClaim).View()
	if claim.ChargeExemption.Code != "0001" || claim.DispenseTime != "20210923130956" || claim.LineItems[0].Supplied[0].ChargePaid != "false" ||
		strings.Join(claim.LineItems[0].Supplied[0].Endorsements, ",") != "NDEC" {
		t.Errorf("%+v", claim)
	}
	amendClaim := sample(t, "PORX_IN090101UK31-dispense-claim-amend.xml").Payload().(*PORX_MT142001UK31_DispenseClaim).View()
	if amendClaim.ReplacesMessageID == "" {
		t.Errorf("claim amendment: %+v", amendClaim)
	}
}

func TestReturnWithdrawRebuildViews(t *testing.T) {
	r := sample(t, "PORX_IN100101UK31-dispense-proposal-return.xml").Payload().(*PORX_MT121301UK31_DispenseProposalReturn).View()
	if r.PrescriptionID != "18B064-A99968-4BCAA3" || r.Reason.Code != "0002" || r.ReleaseResponseID != "67C585F6-F4B5-4F53-861A-50C07ECFF5D4" {
		t.Errorf("%+v", r)
	}
	w := sample(t, "PORX_IN510101UK31-dispense-withdraw.xml").Payload().(*PORX_MT136001UK31_ETPWithdraw).View()
	if w.PrescriptionID != "C2782B-A99968-4E4E9Z" || w.Type.Code != "LD" || w.Reason.Code != "DA" ||
		strings.Join(w.DispenseNotificationIDs, ",") != "602159EE-1678-41EC-A100-7B3DD04C1D84" {
		t.Errorf("%+v", w)
	}
	rb := samplePayload(t, "PORX_IN540101UK31-rebuild-dispense-history-payload-only.xml").Body.(*PORX_MT136002UK31_RebuildDispenseHistory).View()
	// CHAIN017 names its prescription by the long (R1) form, in the root.
	if rb.PrescriptionID != "9361DA95-23BD-E8D4-E050-D20AE3A22B74O" || rb.Reason.Code != "MU" || len(rb.Notifications) != 1 ||
		rb.Notifications[0].PrescriptionID == "" {
		t.Errorf("%+v", rb)
	}
}

func TestAnswerViews(t *testing.T) {
	rr := sample(t, "PORX_IN070101UK31-nominated-release-response.xml").Payload().(*PORX_MT122002UK31_PrescriptionReleaseResponse).View()
	if rr.RequestPayloadID != "C77C87D9-8FCF-4AF8-AABE-2845F768A892" || rr.Batch != (BatchInfo{1, 25}) || len(rr.Prescriptions) != 1 {
		t.Fatalf("%+v", rr)
	}
	rx := rr.Prescriptions[0]
	if rx.ShortID != "497F5C-A83008-3BDDDE" || rx.Status != "0001" || rx.LowerAgeLimit != "19640429" || rx.HigherAgeLimit != "20080430" ||
		rx.LineItems[0].Status != "0007" || rx.LineItems[0].StatusDisplay != "To Be Dispensed" || rx.NominatedODS != "FVR00" {
		t.Errorf("%+v", rx)
	}
	rej, _, err := DecodeLenient(testutil.ReadFixture(t, "hl7v3", "PORX_IN110101UK30-release-rejection-with-another-dispenser-template.xml"))
	if err != nil {
		t.Fatal(err)
	}
	rv := rej.Payload().(*PORX_MT121201UK30_PrescriptionReleaseReject).View()
	if rv.Reason.Code != "0004" || rv.Dispenser.OrgODS != "FH878" || rv.DispenserSince != "20070927084643" || !strings.Contains(rv.Reason.Text, "another dispenser") {
		t.Errorf("%+v", rv)
	}
	cr := sample(t, "PORX_IN050101UK31-cancel-response-already-dispensed-soap.xml").Payload().(*PORX_MT135201UK31_CancellationResponse).View()
	if cr.Response.Code != "0004" || cr.Dispenser.OrgODS != "FLL14" || cr.PrescriptionID != "42C67E-A99968-11EBAK" ||
		cr.CancelRequestID != "0A1FD9EF-A3D5-4E95-84CD-552070A03083" {
		t.Errorf("%+v", cr)
	}
	ack, ok := ReadAck(sample(t, "MCCI_IN010000UK13-ack-multiple-errors-async.xml"))
	if !ok || ack.Type != "AE" || len(ack.Errors) < 2 {
		t.Errorf("%+v", ack)
	}
}
