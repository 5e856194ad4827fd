package rx

import (
	"testing"

	"github.com/openeps/openeps/internal/epserr"
)

func epserrKind(err error) string { return epserr.KindOf(err).String() }

func TestStatusLabels(t *testing.T) {
	for code, want := range map[string]string{
		"0000": "Awaiting Release Ready", "0001": "To Be Dispensed", "0002": "With Dispenser",
		"0003": "With Dispenser - Active", "0004": "Expired", "0005": "Cancelled", "0006": "Dispensed",
		"0007": "Not Dispensed", "0008": "Claimed", "0009": "No-Claimed", "9000": "Repeat Dispense future instance",
		"9001": "Prescription future instance", "9005": "Cancelled future instance", "1234": "",
	} {
		if got := StatusLabel(code); got != want {
			t.Errorf("StatusLabel(%s) = %q, want %q", code, got, want)
		}
	}
	for code, want := range map[string]string{
		"0001": "Item fully dispensed", "0002": "Item not dispensed", "0003": "Item dispensed - partial",
		"0004": "Item not dispensed owing", "0005": "Item Cancelled", "0006": "Expired", "0007": "To Be Dispensed",
		"0008": "Item with dispenser", "0009": "",
	} {
		if got := ItemStatusLabel(code); got != want {
			t.Errorf("ItemStatusLabel(%s) = %q, want %q", code, got, want)
		}
	}
	if ShownStatus("0000") != "0001" || ShownStatus("0002") != "0002" {
		t.Error("0000 is shown as 0001, others as they are")
	}
}

func TestKeyOf(t *testing.T) {
	for in, want := range map[string]string{
		"24F5DA-A83008-7EFE6Z":                  "24F5DA-A83008-7EFE6",
		"24f5da-a83008-7efe6z":                  "24F5DA-A83008-7EFE6",
		"24F5DA-A83008-7EFE6":                   "24F5DA-A83008-7EFE6",
		"9361DA95-1BEB-E8D4-E050-D20AE3A22B74Q": "9361DA95-1BEB-E8D4-E050-D20AE3A22B74",
	} {
		if got := KeyOf(in); got != want {
			t.Errorf("KeyOf(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestAddMonthsClampsLikeRelativedelta(t *testing.T) {
	for in, want := range map[string]string{"20220831": "20230228", "20230831": "20240229", "20220115": "20220715"} {
		d, _ := parseDate(in)
		if got := fmtDate(addMonths(d, 6)); got != want {
			t.Errorf("%s + 6 months = %s, want %s", in, got, want)
		}
	}
}

func TestQuantity(t *testing.T) {
	a, ok := ParseQuantity("1.5")
	b, ok2 := ParseQuantity("27")
	if !ok || !ok2 || a.Add(b).String() != "28.5" || b.Sub(a).String() != "25.5" || a.Cmp(b) >= 0 {
		t.Errorf("quantities: %v %v %s", ok, ok2, a.Add(b))
	}
	for _, bad := range []string{"", "-1", "1.", ".5", "1e3", "12345678901234567890", "1.2.3"} {
		if _, ok := ParseQuantity(bad); ok {
			t.Errorf("ParseQuantity(%q) accepted", bad)
		}
	}
}

func TestApplyRefusesWhatItCannotProcess(t *testing.T) {
	cfg := DefaultConfig()
	for _, in := range []any{42, "PORX", struct{}{}} {
		if _, err := Apply(cfg, nil, in, t0); err == nil || epserrKind(err) != "unsupported" {
			t.Errorf("Apply(%T) = %v, want an unsupported error", in, err)
		}
	}
	if _, err := Apply(cfg, nil, NominatedReleaseRequest{Meta: Meta{MessageID: newMsgID()}}, t0); err == nil {
		t.Error("a nominated release request through Apply")
	}
	if _, err := ReleaseNominated(cfg, nil, NominatedReleaseRequest{}, t0); err == nil {
		t.Error("a nominated release request with no pharmacy")
	}
	broken := &Record{PrescriptionID: acute(1).ID, PrescriptionPresent: true, CurrentIssue: 3, ChangeLog: map[string]ChangeEntry{}}
	w := &world{t: t, cfg: cfg, rec: broken, now: t0}
	if _, err := Apply(cfg, broken, w.release(pharmacyA), t0); err == nil || epserrKind(err) != "internal" {
		t.Errorf("a record without its current issue: %v", err)
	}
	if o, err := Sweep(cfg, nil, t0); err != nil || o.Record != nil || o.Delete {
		t.Errorf("sweeping nothing: %+v %v", o, err)
	}
	// Pointers to the input types are accepted too.
	p := acute(1)
	if o, err := Apply(cfg, nil, &p, t0); err != nil || o.Record == nil {
		t.Errorf("*Prescription: %v", err)
	}
	if PrescriptionIDOf(&p) != p.ID {
		t.Error("PrescriptionIDOf(*Prescription)")
	}
}
