package dispense

import (
	"testing"

	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/rx"
)

// The journeys below are what a pharmacy system does with one prescription,
// every message built by this package (the prescription by prescribe.Build),
// read by internal/rxmsg and applied by the pure lifecycle, as `eps serve`
// would; after each step the statuses rx reports are checked. Item statuses
// are in prescription order: amoxicillin 21, paracetamol 32, azithromycin 6.

// TestJourneyNominatedPartialThenComplete: prescribe (nominated to FA565) →
// nominated release → a partial dispense (one item partial, one in full, one
// owing) → a second notification completing the rest → claim.
func TestJourneyNominatedPartialThenComplete(t *testing.T) {
	p := prescribe.Example(day0, "FA565")
	s := newSpine(t, &p, day0)
	s.expect("prescribe", rx.AckAccepted, "0001", "0007", "0007", "0007")

	d := Example()
	req, err := NominatedRelease(d, hours(1))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := ReadRelease(s.release(req, hours(1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rel) != 1 {
		t.Fatalf("%d released", len(rel))
	}
	r := rel[0]
	s.statuses("nominated release", "0002", "0008", "0008", "0008")
	if r.PrescriptionID != p.ShortID || r.UUID != p.UUID || r.NHSNumber != p.Patient.NHSNumber || r.Status != "0001" ||
		r.PrescriberODS != "A83008" || r.MessageID != p.MessageID {
		t.Errorf("released %+v", r)
	}
	for i, it := range r.Items {
		want := p.Items[i]
		if it.ID != want.ID || it.DMDCode != want.DMDCode || it.Quantity != want.Quantity || it.UnitCode != want.UnitCode ||
			it.Status != "0007" {
			t.Errorf("released item %d: %+v, prescribed %+v", i+1, it, want)
		}
	}
	// Asking again finds nothing more: the end of the nominated download.
	again, err := NominatedRelease(d, hours(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRelease(s.release(again, hours(1))); err == nil {
		t.Error("second nominated release: prescriptions again")
	} else if rej, ok := err.(*Rejection); !ok || !rej.NoMore() {
		t.Errorf("second nominated release: %v, want 0006 no more", err)
	}

	first := []Supply{PartialSupply(r.Items[0], "14"), FullSupply(r.Items[1]),
		{ItemID: r.Items[2].ID, Status: ItemOwing, NotDispensedReason: "0003"}}
	dn1, err := Notification(d, r, first, hours(2))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn1, hours(2))
	s.expect("partial dispense", rx.AckAccepted, "0003", "0003", "0001", "0004")
	if got := s.rec.Current().LineItems[0].Supplied; got != "14" {
		t.Errorf("amoxicillin supplied %q after the first notification, want 14", got)
	}

	rest := []Supply{FullSupply(r.Items[0]), {ItemID: r.Items[1].ID, Status: ItemFullyDispensed}, FullSupply(r.Items[2])}
	rest[0].Products[0].Quantity, rest[0].RunningTotal = "7", "21"
	dn2, err := Notification(d, r, rest, hours(26))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn2, hours(26))
	s.expect("complete dispense", rx.AckAccepted, "0006", "0001", "0001", "0001")
	if got := s.rec.Current().LineItems[0].Supplied; got != "21" {
		t.Errorf("amoxicillin supplied %q, want 21", got)
	}

	claimed := FullSupplies(r)
	claimed[0].Products = []Product{{Quantity: "14"}, {Quantity: "7"}}
	cl, err := Claim(d, r, claimed, hours(27), WithExemption(Exemption{Code: "0001"}))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(cl, hours(27))
	s.expect("claim", rx.AckAccepted, "0008", "0001", "0001", "0001")

	// A claim amendment names the claim it replaces.
	clID, err := IDOf(cl)
	if err != nil {
		t.Fatal(err)
	}
	amend, err := Claim(d, r, claimed, hours(28), Amends(clID))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(amend, hours(28))
	s.expect("claim amendment", rx.AckAccepted, "0008", "0001", "0001", "0001")
	if c := s.rec.Current().Claim; c.ClaimID == clID || len(c.HistoricClaimIDs) != 1 || c.HistoricClaimIDs[0] != clID {
		t.Errorf("after the amendment: claim %s, earlier %v", c.ClaimID, c.HistoricClaimIDs)
	}
}

// TestJourneyReturnAndWithdraw: the nominated pharmacy returns the
// prescription it cannot dispense; another pharmacy releases it by ID from
// the patient's token, dispenses, withdraws that notification (quantity
// wrong), dispenses again, amends it and claims.
func TestJourneyReturnAndWithdraw(t *testing.T) {
	p := prescribe.Example(day0, "FA565")
	s := newSpine(t, &p, day0)
	nominated := Example()
	req, err := NominatedRelease(nominated, hours(1))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := ReadRelease(s.release(req, hours(1)))
	if err != nil {
		t.Fatal(err)
	}
	s.statuses("nominated release", "0002", "0008", "0008", "0008")

	ret, err := Return(nominated, rel[0], "0002", hours(2))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(ret, hours(2))
	s.expect("return", rx.AckAccepted, "0001", "0007", "0007", "0007")
	if s.rec.Nomination.ODS != "" {
		t.Errorf("still nominated to %s after the return", s.rec.Nomination.ODS)
	}

	other := Example()
	other.ODS, other.Name, other.ASID = "FCG71", "HIGH STREET CHEMIST", "230811201999"
	// The returning pharmacy may no longer dispense it.
	late, err := Notification(nominated, rel[0], FullSupplies(rel[0]), hours(3))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(late, hours(3))
	if s.last.Answer.AckType == rx.AckAccepted {
		t.Error("a notification after the return was accepted")
	}
	s.statuses("notification after return", "0001", "0007", "0007", "0007")

	byID, err := PatientRelease(other, p.ShortID, hours(4))
	if err != nil {
		t.Fatal(err)
	}
	rel, err = ReadRelease(s.release(byID, hours(4)))
	if err != nil {
		t.Fatal(err)
	}
	r := rel[0]
	s.statuses("patient release", "0002", "0008", "0008", "0008")

	wrong := FullSupplies(r)
	wrong[1].Products[0].Quantity = "30"
	dn, err := Notification(other, r, wrong, hours(5))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn, hours(5))
	s.expect("dispense", rx.AckAccepted, "0006", "0001", "0001", "0001")

	dnID, err := IDOf(dn)
	if err != nil {
		t.Fatal(err)
	}
	wd, err := Withdraw(other, r, dnID, "LD", "QU", hours(6))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(wd, hours(6))
	s.expect("withdraw", rx.AckAccepted, "0002", "0008", "0008", "0008")

	dn2, err := Notification(other, r, FullSupplies(r), hours(7))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn2, hours(7))
	s.expect("dispense again", rx.AckAccepted, "0006", "0001", "0001", "0001")

	dn2ID, err := IDOf(dn2)
	if err != nil {
		t.Fatal(err)
	}
	amended := FullSupplies(r)
	amended[2] = NotSupplied(r.Items[2], "0002")
	dn3, err := Notification(other, r, amended, hours(8), Amends(dn2ID))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn3, hours(8))
	s.expect("amended dispense", rx.AckAccepted, "0006", "0001", "0001", "0002")
	if got := s.rec.Current().Dispense.LastNotificationID; got == dn2ID {
		t.Errorf("last notification is still the one amended")
	}

	cl, err := Claim(other, r, amended, hours(9))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(cl, hours(9))
	s.expect("claim", rx.AckAccepted, "0008", "0001", "0001", "0002")
}

// TestJourneyWithdrawAndRebuild: two partial notifications, the second
// withdrawn, the history rebuilt from the first, then completed.
func TestJourneyWithdrawAndRebuild(t *testing.T) {
	p := prescribe.Example(day0, "FA565")
	s := newSpine(t, &p, day0)
	d := Example()
	req, err := NominatedRelease(d, hours(1))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := ReadRelease(s.release(req, hours(1)))
	if err != nil {
		t.Fatal(err)
	}
	r := rel[0]
	part := func(q string) []Supply {
		return []Supply{PartialSupply(r.Items[0], q), FullSupply(r.Items[1]), FullSupply(r.Items[2])}
	}
	dn1, err := Notification(d, r, part("7"), hours(2))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn1, hours(2))
	s.expect("first partial", rx.AckAccepted, "0003", "0003", "0001", "0001")
	second := part("7")
	second[1].Products, second[2].Products = nil, nil
	dn2, err := Notification(d, r, second, hours(3))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn2, hours(3))
	s.expect("second partial", rx.AckAccepted, "0003", "0003", "0001", "0001")
	if got := s.rec.Current().LineItems[0].Supplied; got != "14" {
		t.Errorf("amoxicillin supplied %q, want 14", got)
	}

	dn2ID, _ := IDOf(dn2)
	wd, err := Withdraw(d, r, dn2ID, "LD", "QU", hours(4))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(wd, hours(4))
	s.expect("withdraw the second", rx.AckAccepted, "0003", "0003", "0001", "0001")
	if got := s.rec.Current().LineItems[0].Supplied; got != "7" {
		t.Errorf("amoxicillin supplied %q after the withdraw, want 7", got)
	}

	rb, err := Rebuild(d, r, "QU", [][]byte{dn1}, hours(5))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(rb, hours(5))
	s.expect("rebuild", rx.AckAccepted, "0003", "0003", "0001", "0001")

	done := []Supply{FullSupply(r.Items[0]), {ItemID: r.Items[1].ID, Status: ItemFullyDispensed},
		{ItemID: r.Items[2].ID, Status: ItemFullyDispensed}}
	done[0].Products[0].Quantity = "14"
	dn3, err := Notification(d, r, done, hours(6))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn3, hours(6))
	s.expect("complete", rx.AckAccepted, "0006", "0001", "0001", "0001")
	if got := s.rec.Current().LineItems[0].Supplied; got != "21" {
		t.Errorf("amoxicillin supplied %q, want 21", got)
	}
}

// TestJourneyRepeatDispensing: issue 1 of a repeat dispensing prescription
// released, dispensed and claimed; the notification names the issue, and
// the next issue comes up.
func TestJourneyRepeatDispensing(t *testing.T) {
	p := prescribe.Example(day0, "FA565")
	p.TreatmentType, p.RepeatHigh, p.ReviewDate = "0003", 3, "20260303"
	s := newSpine(t, &p, day0)
	s.expect("prescribe", rx.AckAccepted, "0001", "0007", "0007", "0007")
	d := Example()
	req, err := NominatedRelease(d, hours(1))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := ReadRelease(s.release(req, hours(1)))
	if err != nil {
		t.Fatal(err)
	}
	r := rel[0]
	if !r.RepeatDispensing() || r.Issue != 1 || r.MaxRepeats != 3 || r.Items[0].MaxRepeats != 3 {
		t.Fatalf("released %+v", r)
	}
	dn, err := Notification(d, r, FullSupplies(r), hours(2))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn, hours(2))
	if s.last.Answer.AckType != rx.AckAccepted {
		t.Fatalf("dispense: %s %v", s.last.Answer.AckType, s.last.Answer.Codes)
	}
	if is := s.rec.Issue(1); is.Status != "0006" {
		t.Errorf("issue 1 is %s after the dispense", is.Status)
	}
	if s.rec.CurrentIssue != 2 {
		t.Errorf("current issue %d after issue 1 was dispensed, want 2", s.rec.CurrentIssue)
	}
	cl, err := Claim(d, r, FullSupplies(r), hours(3))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(cl, hours(3))
	if s.last.Answer.AckType != rx.AckAccepted {
		t.Fatalf("claim: %s %v", s.last.Answer.AckType, s.last.Answer.Codes)
	}
	if is := s.rec.Issue(1); is.Status != "0008" {
		t.Errorf("issue 1 is %s after the claim", is.Status)
	}
}

// TestJourneyWithdrawAll: two notifications withdrawn at once (AD) put the
// prescription back as it was released; it is then dispensed and claimed.
func TestJourneyWithdrawAll(t *testing.T) {
	p := prescribe.Example(day0, "FA565")
	s := newSpine(t, &p, day0)
	d := Example()
	req, err := NominatedRelease(d, hours(1))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := ReadRelease(s.release(req, hours(1)))
	if err != nil {
		t.Fatal(err)
	}
	r := rel[0]
	dn1, err := Notification(d, r, []Supply{PartialSupply(r.Items[0], "10"), PartialSupply(r.Items[1], "16"),
		{ItemID: r.Items[2].ID, Status: ItemOwing}}, hours(2))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn1, hours(2))
	s.expect("first", rx.AckAccepted, "0003", "0003", "0003", "0004")
	// The rest of the paracetamol: 16 more makes the 32 prescribed (rx
	// refuses a notification that would take the total past it).
	rest := FullSupply(r.Items[1])
	rest.Products[0].Quantity = "16"
	dn2, err := Notification(d, r, []Supply{PartialSupply(r.Items[0], "1"), rest,
		{ItemID: r.Items[2].ID, Status: ItemOwing}}, hours(3))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn2, hours(3))
	s.expect("second", rx.AckAccepted, "0003", "0003", "0001", "0004")
	dn2ID, _ := IDOf(dn2)
	wd, err := Withdraw(d, r, dn2ID, "AD", "OC", hours(4))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(wd, hours(4))
	s.expect("withdraw all", rx.AckAccepted, "0002", "0008", "0008", "0008")
	if got := s.rec.Current().LineItems[0].Supplied; got != "" {
		t.Errorf("amoxicillin supplied %q after withdrawing everything", got)
	}
	dn3, err := Notification(d, r, FullSupplies(r), hours(5))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(dn3, hours(5))
	s.expect("dispense", rx.AckAccepted, "0006", "0001", "0001", "0001")
	cl, err := Claim(d, r, FullSupplies(r), hours(6))
	if err != nil {
		t.Fatal(err)
	}
	s.apply(cl, hours(6))
	s.expect("claim", rx.AckAccepted, "0008", "0001", "0001", "0001")
}
