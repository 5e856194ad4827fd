package epserr

// The code tables of ../shared/spec/lifecycle.md §6. Display texts are the
// Spine's own where a real answer shows them (nhs-test-bench/spine-answers,
// EPS-API spine-responses); otherwise the EPS-API translation table.

func p(v, d string) Code { return Code{System: SystemPrescribe, Value: v, Display: d} }
func d(v, t string) Code { return Code{System: SystemDispense, Value: v, Display: t} }
func c(v, t string) Code { return Code{System: SystemCancel, Value: v, Display: t} }
func t(v, d string) Code { return Code{System: SystemTransport, Value: v, Display: d} }

// Application errors, 2.16.840.1.113883.2.1.3.2.4.17.22 (table 6.1).
var (
	PatientDead               = p("0001", "Patient is recorded as dead")
	DuplicatePrescription     = p("0002", "Duplicate prescription ID exists")
	SignatureNotFound         = p("0003", "Digital Signature not found")
	PrescriptionNotFound      = p("0005", "Prescription not found")
	PrescriptionNotFoundClaim = p("0006", "Prescription not found. Contact Reimbursement Agency")
	InvalidResourceID         = p("0007", "Invalid resource ID")
	MissingValue              = p("0008", "Missing value")
	InvalidMessage            = p("0009", "Invalid message")
	ItemCountOutOfRange       = p("0010", "Number of items on a prescription should be between 1 and 4")
	ClaimAlreadyMade          = p("0011", "Invalid claim. Claim already made for the prescription")
	InvalidPrescriptionState  = p("0012", "Invalid State Transition for Prescription")
	InvalidItemState          = p("0013", "Invalid State Transition for Item")
	ItemNotFound              = p("0014", "Prescription Item Not Found")
	ClaimNotDispensed         = p("0015", "Invalid Claim. Prescription is not Dispensed")
	ClaimAlreadySentToPPA     = p("0016", "Invalid Claim As Claim Notification Has Already Been Sent To The PPA")
	RepeatCountMismatch       = p("0018", "Mismatch in authorised repeat counts")
	RepeatCountOutOfRange     = p("0019", "Repeat count should be between 1 and 99")
	NotLastDispense           = p("0021", "Dispense Amendment/Cancellation Request does not pertain to Last Dispense")
	NoDispenseMessages        = p("0022", "No Dispense Messages found for Prescription")
	InvalidDispenseHistory    = p("0023", "Invalid Dispense History")
	ResourceVersionMismatch   = p("0099", "Resource version mismatch")
	ClaimAmendOutsidePeriod   = p("0100", "Claim amendment is not permitted outside of the claim period")
	DuplicateItemID           = p("5008", "Duplicate item ID exists")
	CheckDigitError           = p("5009", "Error in check digit")
	InvalidMessageWrapper     = p("7002", "Invalid message")
	InvalidDateFormat         = p("9006", "Format of date passed is invalid")
	FailureToProcess          = p("9999", "Failure to process message")
)

// Release rejection reasons and generic dispense errors,
// 2.16.840.1.113883.2.1.3.2.4.16.34 (table 6.2).
var (
	RejectCancelled          = d("0001", "Prescription has been cancelled")
	RejectExpired            = d("0002", "Prescription has expired")
	RejectNotFound           = d("0003", "Prescription can not be found. Contact prescriber")
	RejectWithAnother        = d("0004", "Prescription is with another dispenser")
	RejectDispensed          = d("0005", "Prescription has been dispensed/not dispensed")
	RejectNoMoreNominated    = d("0006", "No more nominated prescriptions available")
	RejectFunctionalityOff   = d("0007", "Functionality disabled in spine")
	RejectVersionMismatch    = d("0099", "Resource version mismatch")
	UnableToProcess          = d("5000", "Unable to process message. Information missing or invalid")
	InvalidMessageDispense   = d("5888", "Invalid message")
	InvalidDateFormatRelease = d("9006", "Invalid date format")
)

// Cancellation response codes, 2.16.840.1.113883.2.1.3.2.4.17.19 (table 6.3).
var (
	CancelDone                = c("0001", "Prescription/item was cancelled")
	CancelWithDispenser       = c("0002", "Prescription/item was not cancelled. With dispenser. Marked for cancellation")
	CancelWithDispenserActive = c("0003", "Prescription/item was not cancelled. With dispenser active. Marked for cancellation")
	CancelDispensed           = c("0004", "Prescription/item was not cancelled. Prescription has been dispensed.")
	CancelExpired             = c("0005", "Prescription/item had expired")
	CancelAlreadyCancelled    = c("0006", "Prescription/item had already been cancelled")
	CancelByAnotherPrescriber = c("0007", "Cancellation requested by another prescriber")
	CancelNotFound            = c("0008", "Prescription/item not found")
	CancelFunctionalityOff    = c("0009", "Cancellation functionality disabled in Spine")
	CancelNotDispensed        = c("0010", "Prescription/item was not cancelled. Prescription has been not dispensed")
	CancelUnableToProcess     = c("5000", "Unable to process message")
	CancelInvalidMessage      = c("5888", "Invalid message")
)

// Spine acknowledgement exception codes, 2.16.840.1.113883.2.1.3.2.4.17.32.
var (
	DuplicateHL7ID = t("202", "Duplicate HL7 ID Error")
)
