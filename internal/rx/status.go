package rx

// Prescription (issue) status, code system 2.16.840.1.113883.2.1.3.2.4.16.35
// (lifecycle.md §2.1; ESS statuses.py PrescriptionStatus).
const (
	StatusAwaitingRelease   = "0000" // internal only; shown outside as 0001
	StatusToBeDispensed     = "0001"
	StatusWithDispenser     = "0002"
	StatusWithDispenserAct  = "0003"
	StatusExpired           = "0004"
	StatusCancelled         = "0005"
	StatusDispensed         = "0006"
	StatusNotDispensed      = "0007"
	StatusClaimed           = "0008"
	StatusNoClaimed         = "0009"
	StatusRepeatFuture      = "9000"
	StatusFutureDated       = "9001"
	StatusPendingCancelHold = "9005" // cancellation placeholder: a cancel that arrived before its prescription
)

// Line item status, code system 2.16.840.1.113883.2.1.3.2.4.17.23
// (lifecycle.md §2.2; ESS statuses.py LineItemStatus).
const (
	ItemFullyDispensed   = "0001"
	ItemNotDispensed     = "0002"
	ItemPartialDispensed = "0003"
	ItemNotDispensedOwe  = "0004"
	ItemCancelled        = "0005"
	ItemExpired          = "0006"
	ItemToBeDispensed    = "0007"
	ItemWithDispenser    = "0008"
)

var statusLabels = map[string]string{
	StatusAwaitingRelease:   "Awaiting Release Ready",
	StatusToBeDispensed:     "To Be Dispensed",
	StatusWithDispenser:     "With Dispenser",
	StatusWithDispenserAct:  "With Dispenser - Active",
	StatusExpired:           "Expired",
	StatusCancelled:         "Cancelled",
	StatusDispensed:         "Dispensed",
	StatusNotDispensed:      "Not Dispensed",
	StatusClaimed:           "Claimed",
	StatusNoClaimed:         "No-Claimed",
	StatusRepeatFuture:      "Repeat Dispense future instance",
	StatusFutureDated:       "Prescription future instance",
	StatusPendingCancelHold: "Cancelled future instance",
}

var itemLabels = map[string]string{
	ItemFullyDispensed:   "Item fully dispensed",
	ItemNotDispensed:     "Item not dispensed",
	ItemPartialDispensed: "Item dispensed - partial",
	ItemNotDispensedOwe:  "Item not dispensed owing",
	ItemCancelled:        "Item Cancelled",
	ItemExpired:          "Expired",
	ItemToBeDispensed:    "To Be Dispensed",
	ItemWithDispenser:    "Item with dispenser",
}

// StatusLabel returns the display name of a prescription status (16.35), or ""
// for an unknown code.
func StatusLabel(code string) string { return statusLabels[code] }

// ItemStatusLabel returns the display name of a line item status (17.23), or ""
// for an unknown code.
func ItemStatusLabel(code string) string { return itemLabels[code] }

// ShownStatus is the status a prescription shows outside the Spine: the
// internal 0000 "Awaiting Release Ready" is shown as 0001 (ESS
// fetch_release_response_parameters: "remap … for a '0000' (internal only)").
func ShownStatus(code string) string {
	if code == StatusAwaitingRelease {
		return StatusToBeDispensed
	}
	return code
}

// Set membership of prescription statuses (ESS statuses.py).
func isCompleted(s string) bool {
	switch s {
	case StatusExpired, StatusCancelled, StatusDispensed, StatusNotDispensed, StatusClaimed, StatusNoClaimed:
		return true
	}
	return false
}

func isWithDispenser(s string) bool { return s == StatusWithDispenser || s == StatusWithDispenserAct }

// isCancellable: CANCELLABLE_STATES (0000, 0001, 9000, 9001).
func isCancellable(s string) bool {
	switch s {
	case StatusAwaitingRelease, StatusToBeDispensed, StatusRepeatFuture, StatusFutureDated:
		return true
	}
	return false
}

// isActiveOrFuture: ACTIVE_STATES plus the future states (ESS
// specialCurrentInstanceReset looks for these).
func isActiveOrFuture(s string) bool {
	switch s {
	case StatusAwaitingRelease, StatusToBeDispensed, StatusWithDispenser, StatusWithDispenserAct,
		StatusRepeatFuture, StatusFutureDated:
		return true
	}
	return false
}

// itemIsActive: line items still to be dealt with (0003, 0004, 0007, 0008).
func itemIsActive(s string) bool {
	switch s {
	case ItemPartialDispensed, ItemNotDispensedOwe, ItemToBeDispensed, ItemWithDispenser:
		return true
	}
	return false
}

// validItemStates is ESS statuses.py LineItemStatus.VALID_STATES (table 2.3):
// the line item statuses allowed under each prescription status. 9005 has no
// entry in ESS (decision 7); a placeholder has no line items, so openeps gives
// it the empty set.
var validItemStates = map[string]map[string]bool{
	StatusAwaitingRelease:   set(ItemCancelled, ItemExpired, ItemToBeDispensed),
	StatusToBeDispensed:     set(ItemCancelled, ItemExpired, ItemToBeDispensed),
	StatusRepeatFuture:      set(ItemCancelled, ItemExpired, ItemToBeDispensed),
	StatusFutureDated:       set(ItemCancelled, ItemExpired, ItemToBeDispensed),
	StatusWithDispenser:     set(ItemCancelled, ItemExpired, ItemWithDispenser),
	StatusWithDispenserAct:  set(ItemFullyDispensed, ItemNotDispensed, ItemPartialDispensed, ItemNotDispensedOwe, ItemCancelled, ItemExpired, ItemWithDispenser),
	StatusExpired:           set(ItemCancelled, ItemExpired),
	StatusCancelled:         set(ItemCancelled, ItemExpired),
	StatusDispensed:         set(ItemFullyDispensed, ItemNotDispensed, ItemCancelled, ItemExpired),
	StatusClaimed:           set(ItemFullyDispensed, ItemNotDispensed, ItemCancelled, ItemExpired),
	StatusNoClaimed:         set(ItemFullyDispensed, ItemNotDispensed, ItemCancelled, ItemExpired),
	StatusNotDispensed:      set(ItemNotDispensed, ItemCancelled, ItemExpired),
	StatusPendingCancelHold: set(),
}

// ValidItemStatus reports whether a line item may be in item status under
// prescription status (table 2.3).
func ValidItemStatus(prescription, item string) bool { return validItemStates[prescription][item] }

func set(codes ...string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// expiredStatus is ESS statuses.py EXPIRY_LOOKUP for prescriptions (table 2.4):
// 0003 expires to 0006 Dispensed; completed statuses do not change.
func expiredStatus(s string) string {
	switch s {
	case StatusAwaitingRelease, StatusToBeDispensed, StatusWithDispenser, StatusRepeatFuture,
		StatusFutureDated, StatusPendingCancelHold:
		return StatusExpired
	case StatusWithDispenserAct:
		return StatusDispensed
	}
	return s
}

// expiredItemStatus is EXPIRY_LOOKUP for line items: 0007/0008 → 0006,
// 0003 → 0001, 0004 → 0002; the rest do not change.
func expiredItemStatus(s string) string {
	switch s {
	case ItemToBeDispensed, ItemWithDispenser:
		return ItemExpired
	case ItemPartialDispensed:
		return ItemFullyDispensed
	case ItemNotDispensedOwe:
		return ItemNotDispensed
	}
	return s
}

// Treatment types, 2.16.840.1.113883.2.1.3.2.4.16.36.
const (
	TreatmentAcute           = "0001"
	TreatmentRepeatPrescribe = "0002"
	TreatmentRepeatDispense  = "0003"
)

// recordType is the Spine's record type label (ESS types.py).
func recordType(treatment string) string {
	switch treatment {
	case TreatmentRepeatPrescribe:
		return "RepeatPrescribe"
	case TreatmentRepeatDispense:
		return "RepeatDispense"
	}
	return "Acute"
}
