package journeys

// expected is what the Spine answers at each step of each journey and the
// statuses after it (see Journey.Want). Where a journey dispenses with no
// release in it, the nominated pharmacy's release request comes first; a
// cancel whose prescription was sent in another example folder has that
// Send first.
//
// Each step is "<kind> <ack> <code> → <issue statuses>", the code "" for none.
var expected = map[string][]string{
	"primary-care/acute-and-repeat-prescribing#1":                                                              {"Send AA  → 0001"},
	"primary-care/acute/no-nominated-pharmacy/medical-prescriber/author/gmc/responsible-party/din#1":           {"Send AA  → 0001"},
	"primary-care/acute/no-nominated-pharmacy/medical-prescriber/author/gmc/responsible-party/spurious-code#1": {"Send AA  → 0001"},
	"primary-care/acute/no-nominated-pharmacy/medical-prescriber/author/unknown#1":                             {"Send AA  → 0001"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber#1":                                               {"Send AA  → 0001"},
	// Cancels of prescriptions no example sends: held in a placeholder, 0008 (decision 17).
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#1": {"Cancel AE 0008 → 9005"},
	// 24F5DA-A83008-7EFE6Z was sent by primary-care/acute/nominated-pharmacy/medical-prescriber,
	// for patient 5839945242; the cancel names 9449304130: not that patient's
	// prescription, 0008 (decision C3), nothing cancelled.
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#2": {"Send AA  → 0001", "Cancel AE 0008 → 0001"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#3": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#4": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#5": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#6": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#7": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#8": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/medical-prescriber/cancellations#9": {"Cancel AE 0008 → 9005"},
	"primary-care/acute/nominated-pharmacy/responsible-party-org#3":            {"Send AA  → 0001"},
	// The same cancel again; it also breaks the schema (MANIFEST: an unexpected
	// representedOrganization), which internal/hl7v3 may refuse first (5000).
	"primary-care/acute/nominated-pharmacy/responsible-party-org/cancellations#3": {"Send AA  → 0001",
		"Cancel AE 0008 → 0001 || Cancel ERR 5000 → 0001"},
	"primary-care/acute/nominated-pharmacy/responsible-party-org/separate-telecom#1": {"Send AA  → 0001"},
	"primary-care/repeat-dispensing/nominated-pharmacy/medical-prescriber/author/gmc/responsible-party/medication-list/din#1": {
		"Send AA  → 0001,9000,9000,9000,9000,9000"},
	"primary-care/repeat-dispensing/nominated-pharmacy/medical-prescriber/author/gmc/responsible-party/medication-list/spurious-code#1": {
		"Send AA  → 0001,9000,9000,9000,9000,9000"},
	"primary-care/repeat-prescribing#1":                                                                                                     {"Send AA  → 0001"},
	"secondary-care/community/acute/no-nominated-pharmacy/clinical-practitioner#1":                                                          {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner#1":                                                             {"Send AA  → 0001", "Cancel AA 0001 → 0005"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/controlled-drugs#1":                                            {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/controlled-drugs#2":                                            {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/multiple-drugs#1":                                              {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/multiple-drugs#2":                                              {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/prescription-refactor#1":                                       {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/health-professional#1":                                                               {"Send AA  → 0001", "Cancel AA 0001 → 0005"},
	"secondary-care/community/acute/nominated-pharmacy/health-professional#6":                                                               {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/health-professional/controlled-drugs#1":                                              {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/medication-reference#1":                                                        {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/multiple-medications#1":                                                        {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/prescribing-and-professional-codes#1":                                          {"Send AA  → 0001", "Cancel AA 0001 → 0005"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/prescribing-and-professional-codes/controlled-drugs#1":                         {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/prescribing-and-professional-codes/controlled-drugs/additional-instructions#1": {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/prescribing-and-professional-codes/controlled-drugs/additional-instructions#2": {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/nurse/professional-code#1":                                                           {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/paramedic#1":                                                                         {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/pharmacist/prescriber-endorsed#1":                                                    {"Send AA  → 0001"},
	"secondary-care/community/acute/nominated-pharmacy/pharmacist/prescriber-endorsed#2":                                                    {"Send AA  → 0001"},
	"secondary-care/community/repeat-dispensing/nominated-pharmacy/clinical-practitioner/multiple-medication-requests/non-prescriber-endorsed#1": {
		"Send AA  → 0001,9000,9000,9000,9000,9000"},
	"secondary-care/community/repeat-dispensing/nominated-pharmacy/clinical-practitioner/multiple-medication-requests/prescriber-endorsed#1": {
		// Released to the nominated pharmacy (FCG71); the example's DN comes
		// from VNE51, so it is with another dispenser.
		"Send AA  → 0001,9000,9000,9000,9000,9000", "NominatedRelease AA  → 0002,9000,9000,9000,9000,9000",
		"Dispense AE 0004 → 0002,9000,9000,9000,9000,9000"},
	"secondary-care/community/repeat-dispensing/nominated-pharmacy/clinical-practitioner/single-medication-request#1": {
		"Send AA  → 0001,9000,9000,9000,9000,9000", "Release AA  → 0002,9000,9000,9000,9000,9000",
		"Dispense AA  → 0006,0001,9000,9000,9000,9000", "Claim AA  → 0008,0001,9000,9000,9000,9000"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#1": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0006", "Claim AA  → 0008"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#2": {
		"Send AA  → 0001", "Release AA  → 0002", "Return AA  → 0001"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#3": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0003", "Withdraw AA  → 0002"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#4": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0006", "Claim AA  → 0008"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#5": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0006", "DispenseAmend AA  → 0006"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#6": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0006", "Claim AA  → 0008", "Amend AA  → 0008"},
	"secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner#7": {
		"Send AA  → 0001", "Release AA  → 0002", "Dispense AA  → 0006", "Claim AA  → 0008"},
	// Unsigned prescriptions (their IDs also fail the check character): the
	// Spine's schematron refuses them first with Digital Signature not found;
	// the DN then finds no prescription.
	"secondary-care/homecare/acute/nominated-pharmacy/concurrent-dosage-instructions#1": {
		"Send ERR 0003 → -", "NominatedRelease AE 0006 → -", "Dispense AE 0005 → -"},
	"secondary-care/homecare/acute/nominated-pharmacy/consecutive-and-concurrent-dosage-instructions#1": {
		"Send ERR 0003 → -", "NominatedRelease AE 0006 → -", "Dispense AE 0005 → -"},
	"secondary-care/homecare/acute/nominated-pharmacy/consecutive-dosage-instructions#1": {
		"Send ERR 0003 → -", "NominatedRelease AE 0006 → -", "Dispense AE 0005 → -"},
}
