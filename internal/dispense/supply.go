package dispense

import (
	"fmt"
	"strings"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
)

// Line item statuses a dispenser reports (17.23).
const (
	ItemFullyDispensed = "0001"
	ItemNotDispensed   = "0002"
	ItemPartial        = "0003"
	ItemOwing          = "0004" // not dispensed, owing
	itemCancelled      = "0005"
	itemExpired        = "0006"
)

// Prescription statuses a dispenser reports (16.35).
const (
	StatusPartial      = "0003" // with dispenser – active: something is still to supply
	StatusDispensed    = "0006"
	StatusNotDispensed = "0007"
)

// Supply is what the dispenser did for one line item in a notification or
// claim.
type Supply struct {
	ItemID string // the prescribed line item (ReleasedItem.ID)
	Status string // ItemFullyDispensed, ItemNotDispensed, ItemPartial or ItemOwing
	// NotDispensedReason (16.31, see NotDispensedReasons) is required for
	// ItemNotDispensed and allowed for ItemOwing.
	NotDispensedReason string
	// Products are what was handed over this time: one per pack or product
	// (several for a split supply or two brands), none when nothing was —
	// an item not dispensed, or one an earlier notification completed.
	Products []Product
	// RunningTotal, when set, is what has been supplied of the item so far,
	// in the prescribed unit (pertinentRunningTotal).
	RunningTotal string
	// SuppliedID is the supplied line item's own id; a new UUID when empty.
	SuppliedID string
}

// Product is one product supplied for a line item.
type Product struct {
	DMDCode     string // the product supplied; the prescribed one when empty
	Description string
	Quantity    string // decimal, in the unit below
	UnitCode    string // dm+d unit of measure; the prescribed unit when empty
	UnitDisplay string
	// Instructions are the supply instructions printed for the patient; the
	// prescriber's dosage when empty.
	Instructions string
	// ChargePaid and Endorsements are for claims: whether the prescription
	// charge was paid for this product, and the dispensing endorsements
	// (16.29); none means NDEC "no dispenser endorsement".
	ChargePaid   bool
	Endorsements []Endorsement
}

// Endorsement is a dispensing endorsement on a claim (16.29), e.g. NDEC, BB
// (broken bulk) or SP (special packaging), with optional supporting text.
type Endorsement struct {
	Code string
	Text string
}

// Exemption is the patient's prescription charge status on a claim (16.33):
// 0001 means the patient paid (the claim then says "not exempt"), other
// codes are the exemptions (0002 under 16, 0004 60 or over, …).
type Exemption struct {
	Code string
	// EvidenceSeen records whether the dispenser saw proof of the exemption
	// (authorization/authorizingEvidenceSeen); nil records nothing.
	EvidenceSeen *bool
}

// FullSupply is item handed over in full: the prescribed product and quantity.
func FullSupply(it ReleasedItem) Supply {
	return Supply{ItemID: it.ID, Status: ItemFullyDispensed, Products: []Product{{Quantity: it.Quantity}}}
}

// PartialSupply is quantity of item handed over with the rest to follow.
func PartialSupply(it ReleasedItem, quantity string) Supply {
	return Supply{ItemID: it.ID, Status: ItemPartial, Products: []Product{{Quantity: quantity}}}
}

// NotSupplied is item not dispensed, for reason (16.31).
func NotSupplied(it ReleasedItem, reason string) Supply {
	return Supply{ItemID: it.ID, Status: ItemNotDispensed, NotDispensedReason: reason}
}

// FullSupplies is every active item of r supplied in full.
func FullSupplies(r Released) []Supply {
	var out []Supply
	for _, it := range r.Items {
		if it.Status != itemCancelled && it.Status != itemExpired {
			out = append(out, FullSupply(it))
		}
	}
	return out
}

// PrescriptionStatus is the prescription status a dispenser reports for
// these line item statuses: 0003 while any item is partial or owing, else
// 0006 when anything was dispensed, else 0007.
func PrescriptionStatus(itemStatuses ...string) string {
	dispensed := false
	for _, s := range itemStatuses {
		switch s {
		case ItemPartial, ItemOwing:
			return StatusPartial
		case ItemFullyDispensed:
			dispensed = true
		}
	}
	if dispensed {
		return StatusDispensed
	}
	return StatusNotDispensed
}

// suppliedItem is one line of a notification or claim, ready for the template.
type suppliedItem struct {
	SuppliedID, ItemID    string
	DMDCode, Description  string // prescribed
	Quantity              string // prescribed
	UnitCode, UnitDisplay string
	Status, StatusDisplay string
	Reason, ReasonDisplay string
	RunningTotal          string
	Issue, MaxRepeats     int
	Products              []Product
}

// dispenseData is a notification's or claim's content for the templates.
type dispenseData struct {
	ID, HeaderID, Time    string
	D                     Dispenser
	R                     Released
	PrescriptionID        prescriptionRef
	Status, StatusDisplay string
	Reason, ReasonDisplay string // header non-dispensing reason, for 0007
	Items                 []suppliedItem
	Replaces              string
	RecipientODS          string
	RecipientName         string
	Exemption             *exemption
	Repeat                bool
	Issue, MaxRepeats     int
}

type exemption struct {
	Code, NegationInd, EvidenceNegationInd string
}

// checkReleased checks what every message about a released prescription needs.
func checkReleased(r Released, needNHS bool) error {
	switch {
	case ids.CheckShortID(r.PrescriptionID) != nil && ids.CheckLongID(r.PrescriptionID) != nil:
		return fmt.Errorf("prescription ID %q is not a prescription ID", r.PrescriptionID)
	case needNHS && ids.CheckNHSNumber(r.NHSNumber) != nil:
		return ids.CheckNHSNumber(r.NHSNumber)
	}
	return nil
}

// dispense builds the content of a notification or claim.
func dispense(d Dispenser, r Released, supplies []Supply, at time.Time, o options, claim bool) (dispenseData, error) {
	if err := d.check(); err != nil {
		return dispenseData{}, err
	}
	if err := checkReleased(r, !claim); err != nil {
		return dispenseData{}, err
	}
	switch {
	case !ids.IsUUID(r.UUID):
		return dispenseData{}, fmt.Errorf("prescription %s: its UUID %q is not a UUID", r.PrescriptionID, r.UUID)
	case !ids.IsUUID(r.ResponseID):
		return dispenseData{}, fmt.Errorf("prescription %s: the release response ID %q is not a UUID", r.PrescriptionID, r.ResponseID)
	case at.IsZero():
		return dispenseData{}, fmt.Errorf("prescription %s: the time is required", r.PrescriptionID)
	case len(r.Items) == 0:
		return dispenseData{}, fmt.Errorf("prescription %s: no line items released", r.PrescriptionID)
	}
	dd := dispenseData{ID: o.messageID, HeaderID: ids.NewUUID(), Time: stamp(at), D: d, R: r,
		PrescriptionID: refOf(r.PrescriptionID), Replaces: o.replaces,
		RecipientODS: o.recipientODS, RecipientName: o.recipientNm,
		Repeat: r.Issue > 0 && r.MaxRepeats > 0, Issue: r.Issue, MaxRepeats: r.MaxRepeats}
	given := map[string]Supply{}
	for i, s := range supplies {
		id := strings.ToUpper(s.ItemID)
		if _, ok := r.Item(id); !ok {
			return dd, fmt.Errorf("supply %d: line item %q is not on prescription %s", i+1, s.ItemID, r.PrescriptionID)
		}
		if _, dup := given[id]; dup {
			return dd, fmt.Errorf("supply %d: line item %s given twice", i+1, id)
		}
		given[id] = s
	}
	var statuses []string
	// Every released line item is in the message, in the prescription's
	// order (the Spine refuses a notification whose set of items differs);
	// an item the release shows cancelled or expired goes as it is.
	for _, it := range r.Items {
		it.ID = strings.ToUpper(it.ID)
		s, ok := given[it.ID]
		if !ok {
			if it.Status != itemCancelled && it.Status != itemExpired {
				return dd, fmt.Errorf("line item %s (%s) has no supply: every item needs a status", it.ID, it.Description)
			}
			s = Supply{ItemID: it.ID, Status: it.Status}
		}
		si, err := lineOf(it, s, claim)
		if err != nil {
			return dd, fmt.Errorf("line item %s: %w", it.ID, err)
		}
		if dd.Repeat && si.MaxRepeats == 0 {
			// The Spine wants repeat numbers on every item of a repeat
			// notification; an item released without them takes the prescription's.
			si.Issue, si.MaxRepeats = dd.Issue, dd.MaxRepeats
		}
		statuses = append(statuses, si.Status)
		dd.Items = append(dd.Items, si)
	}
	dd.Status = o.status
	if dd.Status == "" {
		dd.Status = PrescriptionStatus(statuses...)
	}
	dd.StatusDisplay = hl7v3.PrescriptionStatusOf(dd.Status).Display
	if dd.Status == StatusNotDispensed {
		// Nothing dispensed: the header gives the reason when the items agree on one.
		reason := ""
		for _, it := range dd.Items {
			if it.Reason == "" || (reason != "" && it.Reason != reason) {
				reason = ""
				break
			}
			reason = it.Reason
		}
		dd.Reason, dd.ReasonDisplay = reason, NotDispensedReasons[reason]
	}
	if claim && o.exemption != nil {
		e := o.exemption
		if !code4.MatchString(e.Code) {
			return dd, fmt.Errorf("exemption code %q: want a four-digit code (16.33)", e.Code)
		}
		ex := &exemption{Code: e.Code, NegationInd: fmt.Sprint(e.Code == "0001")}
		if e.EvidenceSeen != nil {
			ex.EvidenceNegationInd = fmt.Sprint(!*e.EvidenceSeen)
		}
		dd.Exemption = ex
	}
	return dd, nil
}

// lineOf checks one supply against its released item and fills in what the
// dispenser left to the prescription.
func lineOf(it ReleasedItem, s Supply, claim bool) (suppliedItem, error) {
	si := suppliedItem{SuppliedID: strings.ToUpper(s.SuppliedID), ItemID: it.ID, DMDCode: it.DMDCode,
		Description: it.Description, Quantity: it.Quantity, UnitCode: it.UnitCode, UnitDisplay: it.UnitDisplay,
		Status: s.Status, StatusDisplay: hl7v3.ItemStatusOf(s.Status).Display, RunningTotal: s.RunningTotal,
		Issue: it.Issue, MaxRepeats: it.MaxRepeats}
	if si.SuppliedID == "" {
		si.SuppliedID = ids.NewUUID()
	} else if !ids.IsUUID(si.SuppliedID) {
		return si, fmt.Errorf("supplied line item ID %q is not a UUID", s.SuppliedID)
	}
	switch s.Status {
	case ItemFullyDispensed, ItemPartial:
		// No products is allowed: an item an earlier notification completed
		// (or left partial) is restated with nothing more handed over.
	case ItemNotDispensed:
		if s.NotDispensedReason == "" {
			return si, fmt.Errorf("not dispensed: the reason (16.31) is required")
		}
	case ItemOwing:
	case itemCancelled, itemExpired:
		if s.Status != it.Status {
			return si, fmt.Errorf("status %s: a dispenser reports 0001 to 0004", s.Status)
		}
	default:
		return si, fmt.Errorf("status %q: a dispenser reports 0001 to 0004", s.Status)
	}
	if (s.Status == ItemNotDispensed || s.Status == itemCancelled || s.Status == itemExpired) && len(s.Products) > 0 {
		return si, fmt.Errorf("status %s with products supplied", s.Status)
	}
	if s.NotDispensedReason != "" {
		if _, ok := NotDispensedReasons[s.NotDispensedReason]; !ok {
			return si, fmt.Errorf("not-dispensed reason %q is not one of 16.31", s.NotDispensedReason)
		}
		si.Reason, si.ReasonDisplay = s.NotDispensedReason, NotDispensedReasons[s.NotDispensedReason]
	}
	if s.RunningTotal != "" && !quantityPattern.MatchString(s.RunningTotal) {
		return si, fmt.Errorf("running total %q is not a quantity", s.RunningTotal)
	}
	for j, p := range s.Products {
		if !quantityPattern.MatchString(p.Quantity) {
			return si, fmt.Errorf("product %d: quantity %q is not a quantity", j+1, p.Quantity)
		}
		q := p
		if q.DMDCode == "" {
			q.DMDCode, q.Description = it.DMDCode, it.Description
		}
		if q.UnitCode == "" {
			q.UnitCode, q.UnitDisplay = it.UnitCode, it.UnitDisplay
		}
		if q.Instructions == "" {
			q.Instructions = it.Dosage
		}
		if claim && len(q.Endorsements) == 0 {
			q.Endorsements = []Endorsement{{Code: "NDEC"}}
		}
		for _, e := range q.Endorsements {
			if e.Code == "" {
				return si, fmt.Errorf("product %d: an endorsement without a code", j+1)
			}
		}
		si.Products = append(si.Products, q)
	}
	return si, nil
}

// Notification builds a dispense notification (PORX_IN080101SM31): what was
// supplied of the released prescription r, one Supply per line item (every
// line item needs one; an item the release shows cancelled or expired may be
// left out). The prescription status is PrescriptionStatus of the item
// statuses unless WithPrescriptionStatus says otherwise; for repeat
// dispensing the issue is r.Issue. Amends(id) makes it the amendment of the
// notification with that ID. The notification's ID (the message ID) is what a
// withdraw names: set it with WithMessageID or read it with IDOf.
func Notification(d Dispenser, r Released, items []Supply, at time.Time, opts ...Option) ([]byte, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("dispense notification: %w", err)
	}
	dd, err := dispense(d, r, items, at, o, false)
	if err != nil {
		return nil, fmt.Errorf("dispense notification: %w", err)
	}
	p, err := render("notification", dd)
	if err != nil {
		return nil, err
	}
	return message(rootNotification, o, d, at, p)
}

// Claim builds a dispense claim (PORX_IN090101SM31) for the released
// prescription r: what was supplied over the issue, per line item, with the
// charge paid and endorsements of each product and, with WithExemption, the
// patient's exemption. Amends(id) makes it the amendment of the claim with
// that ID.
func Claim(d Dispenser, r Released, items []Supply, at time.Time, opts ...Option) ([]byte, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("dispense claim: %w", err)
	}
	dd, err := dispense(d, r, items, at, o, true)
	if err != nil {
		return nil, fmt.Errorf("dispense claim: %w", err)
	}
	p, err := render("claim", dd)
	if err != nil {
		return nil, err
	}
	return message(rootClaim, o, d, at, p)
}

type returnData struct {
	ID, Time              string
	D                     Dispenser
	PrescriptionID        prescriptionRef
	Issue                 int
	Reason, ReasonDisplay string
	ResponseID            string
}

// Return builds a dispense proposal return (PORX_IN100101SM31): the
// dispenser gives the released prescription r back to the Spine for reason
// (16.28, see ReturnReasons: e.g. 0002 unable to dispense, 0005 invalid
// digital signature).
func Return(d Dispenser, r Released, reason string, at time.Time, opts ...Option) ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("dispense proposal return: %w", err)
	}
	if err := checkReleased(r, false); err != nil {
		return nil, fmt.Errorf("dispense proposal return: %w", err)
	}
	display, ok := ReturnReasons[reason]
	if !ok {
		return nil, fmt.Errorf("dispense proposal return: reason %q is not one of 16.28", reason)
	}
	if r.ResponseID != "" && !ids.IsUUID(r.ResponseID) {
		return nil, fmt.Errorf("dispense proposal return: the release response ID %q is not a UUID", r.ResponseID)
	}
	if at.IsZero() {
		return nil, fmt.Errorf("dispense proposal return: the time is required")
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("dispense proposal return: %w", err)
	}
	rd := returnData{ID: o.messageID, Time: stamp(at), D: d, PrescriptionID: refOf(r.PrescriptionID),
		Reason: reason, ReasonDisplay: display, ResponseID: r.ResponseID}
	if r.RepeatDispensing() {
		rd.Issue = r.Issue
	}
	p, err := render("return", rd)
	if err != nil {
		return nil, err
	}
	return message(rootReturn, o, d, at, p)
}

type withdrawData struct {
	ID, Time              string
	D                     Dispenser
	NHSNumber             string
	PrescriptionID        prescriptionRef
	Issue                 int
	Type, TypeDisplay     string
	Reason, ReasonDisplay string
	NotificationIDs       []string
}

// Withdraw builds a dispenser withdraw (PORX_IN510101SM31): the dispense
// notification dnID of the released prescription r is taken back, the last
// one (withdrawType LD) or all of them (AD), for reason (17.110: QU, MU, DA,
// PA, OC, ONC).
func Withdraw(d Dispenser, r Released, dnID, withdrawType, reason string, at time.Time, opts ...Option) ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("dispenser withdraw: %w", err)
	}
	if err := checkReleased(r, true); err != nil {
		return nil, fmt.Errorf("dispenser withdraw: %w", err)
	}
	typeDisplay, ok := WithdrawTypes[withdrawType]
	if !ok {
		return nil, fmt.Errorf("dispenser withdraw: type %q: want LD or AD (17.109)", withdrawType)
	}
	reasonDisplay, ok := WithdrawReasons[reason]
	if !ok {
		return nil, fmt.Errorf("dispenser withdraw: reason %q is not one of 17.110", reason)
	}
	if !ids.IsUUID(dnID) {
		return nil, fmt.Errorf("dispenser withdraw: the notification withdrawn, %q, is not a UUID", dnID)
	}
	if at.IsZero() {
		return nil, fmt.Errorf("dispenser withdraw: the time is required")
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("dispenser withdraw: %w", err)
	}
	wd := withdrawData{ID: o.messageID, Time: stamp(at), D: d, NHSNumber: r.NHSNumber,
		PrescriptionID: refOf(r.PrescriptionID), Type: withdrawType, TypeDisplay: typeDisplay,
		Reason: reason, ReasonDisplay: reasonDisplay, NotificationIDs: []string{strings.ToUpper(dnID)}}
	if r.RepeatDispensing() {
		wd.Issue = r.Issue
	}
	p, err := render("withdraw", wd)
	if err != nil {
		return nil, err
	}
	return message(rootWithdraw, o, d, at, p)
}

type rebuildData struct {
	ID, Time              string
	PrescriptionID        prescriptionRef
	Issue                 int
	Reason, ReasonDisplay string
	Notifications         []string // DispenseNotification elements, namespace declared
}

// Rebuild builds a rebuild of the dispense history (PORX_IN540101UK31),
// sent after a withdraw to restate the dispense notifications of the issue
// that stand: notifications are those messages (as Notification built them,
// or as received), oldest first; reason is the withdraw reason (17.110). The
// MIM requires at least one notification.
func Rebuild(d Dispenser, r Released, reason string, notifications [][]byte, at time.Time, opts ...Option) ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("rebuild dispense history: %w", err)
	}
	if err := checkReleased(r, false); err != nil {
		return nil, fmt.Errorf("rebuild dispense history: %w", err)
	}
	display, ok := WithdrawReasons[reason]
	if !ok {
		return nil, fmt.Errorf("rebuild dispense history: reason %q is not one of 17.110", reason)
	}
	if len(notifications) == 0 {
		return nil, fmt.Errorf("rebuild dispense history: at least one dispense notification is required")
	}
	if at.IsZero() {
		return nil, fmt.Errorf("rebuild dispense history: the time is required")
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("rebuild dispense history: %w", err)
	}
	rd := rebuildData{ID: o.messageID, Time: stamp(at), PrescriptionID: refOf(r.PrescriptionID),
		Reason: reason, ReasonDisplay: display}
	if r.RepeatDispensing() {
		rd.Issue = r.Issue
	}
	for i, b := range notifications {
		m, err := hl7v3.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("rebuild dispense history: notification %d: %w", i+1, err)
		}
		dn, ok := m.Payload().(*hl7v3.PORX_MT024001UK31_DispenseNotification)
		if !ok {
			return nil, fmt.Errorf("rebuild dispense history: notification %d is a %s", i+1, m.Root)
		}
		id := dn.PertinentInformation1.PertinentSupplyHeader.PertinentInformation4.PertinentPrescriptionID.Value
		if !strings.EqualFold(id.Extension, r.PrescriptionID) && !strings.EqualFold(id.Root, r.PrescriptionID) {
			return nil, fmt.Errorf("rebuild dispense history: notification %d is for another prescription", i+1)
		}
		rd.Notifications = append(rd.Notifications, string(hl7v3.EncodeElement("DispenseNotification", dn)))
	}
	p, err := render("rebuild", rd)
	if err != nil {
		return nil, err
	}
	return message(rootRebuild, o, d, at, p)
}
