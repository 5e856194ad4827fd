package rx

// Config holds every period and limit of the lifecycle (../shared/spec/lifecycle.md
// §3.11, hl7v3.md §6) and the policy flags chosen where the Spine's behaviour is
// not public or looks wrong (lifecycle.md §7). DefaultConfig gives the Spine's
// values; tests and `eps serve` flags may change them.
type Config struct {
	// Limits (ESS validation/constants.py).
	MaxLineItems       int // MAX_LINEITEMS = 4
	MaxRepeats         int // MAX_PRESCRIPTIONREPEATS = 99
	MaxDaysSupply      int // MAX_DAYSSUPPLY = 366
	DefaultDaysSupply  int // fields.py DEFAULT_DAYSSUPPLY = 28
	MaxFutureSupply    int // MAX_FUTURESUPPLYMONTHS = 12 (months)
	NominatedBatchSize int // prescriptions per nominated release response (design value 25)

	// Periods (ESS interactions/common.py, next_activity_generator.py).
	PrescriptionExpiryMonths      int // prescriptionExpiryPeriod: issue 1, 6 months
	RepeatDispenseExpiryMonths    int // repeatDispenseExpiryPeriod: issues > 1, 12 months
	WithDispenserActiveExpiryDays int // withDispenserActiveExpiryPeriod 180 d
	ExpiredDeleteDays             int // expiredDeletePeriod 90 d
	CancelledDeleteDays           int // cancelledDeletePeriod 180 d
	ClaimedDeleteDays             int // claimedDeletePeriod 36 d (decision 6)
	NotDispensedDeleteDays        int // notDispensedDeletePeriod 30 d
	NotificationDelayDays         int // notificationDelayPeriod 180 d (createNoClaim)
	PurgedDeleteDays              int // purgedDeletePeriod 365 d
	NominatedDownloadLeadDays     int // NOMINATED_DOWNLOAD_LEAD_DAYS 7
	FutureDatedToleranceDays      int // a prescription more than this in the future is 9001 (1 day)
	DispenseTimeToleranceDays     int // DN / claim / withdraw time may be this far ahead (1 day)
	ClaimAmendPeriodDays          int // claim amendments allowed this long after completion (decision: 180 d)
	// MaxSCN, when above 0, refuses (9999) a change that would take the SCN past
	// it: the loop guard ESS documents as SCN_MAX = 512 but never enforces
	// (decision 8). 0 = no limit, as the Spine behaves.
	MaxSCN                          int64
	NominatedDownloadFromPrescribed bool // ESS flag: next issue date from prescription date (true) or dispense date

	// Policy flags (lifecycle.md §7 decisions).

	// RejectDoubleRelease refuses a patient release of a prescription the same
	// dispenser already holds (0002) with 16.34/0004 (decision 14). When false
	// (the default) the release is answered again with the same prescription,
	// so a dispenser that lost the first response can recover.
	RejectDoubleRelease bool
	// CancelItemsWithPrescription sets every active line item to 0005 when a whole
	// prescription is cancelled (decision 16), so table 2.3 holds.
	CancelItemsWithPrescription bool
	// ExpireItemsOnNoClaim maps line items with the expiry mapping when a 0003
	// issue is no-claimed (decision 10), so table 2.3 holds.
	ExpireItemsOnNoClaim bool
	// CheckSuppliedQuantity refuses a dispense notification that would supply
	// more of an item than was prescribed (same unit), beyond the Spine's rules.
	CheckSuppliedQuantity bool
	// RequireSignature refuses a parent prescription without an XML-DSig
	// Signature element (the Spine's schematron: 17.22/0003).
	RequireSignature bool
}

// DefaultConfig returns the Spine's periods and limits and the decisions
// recorded in docs/decisions.md.
func DefaultConfig() Config {
	return Config{
		MaxLineItems:       4,
		MaxRepeats:         99,
		MaxDaysSupply:      366,
		DefaultDaysSupply:  28,
		MaxFutureSupply:    12,
		NominatedBatchSize: 25,

		PrescriptionExpiryMonths:        6,
		RepeatDispenseExpiryMonths:      12,
		WithDispenserActiveExpiryDays:   180,
		ExpiredDeleteDays:               90,
		CancelledDeleteDays:             180,
		ClaimedDeleteDays:               36,
		NotDispensedDeleteDays:          30,
		NotificationDelayDays:           180,
		PurgedDeleteDays:                365,
		NominatedDownloadLeadDays:       7,
		FutureDatedToleranceDays:        1,
		DispenseTimeToleranceDays:       1,
		ClaimAmendPeriodDays:            180,
		MaxSCN:                          0,
		NominatedDownloadFromPrescribed: true,

		RejectDoubleRelease:         false,
		CancelItemsWithPrescription: true,
		ExpireItemsOnNoClaim:        true,
		CheckSuppliedQuantity:       true,
		RequireSignature:            true,
	}
}
