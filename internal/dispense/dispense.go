// Package dispense builds the messages a pharmacy system sends to the Spine —
// nominated and patient release requests (PORX_IN060102SM30,
// PORX_IN132004SM30), dispense notifications (PORX_IN080101SM31), claims
// (PORX_IN090101SM31), dispense proposal returns (PORX_IN100101SM31),
// withdraws (PORX_IN510101SM31) and rebuilds of the dispense history
// (PORX_IN540101UK31) — and reads what the Spine answers a release request
// with (ReadRelease).
//
// Each builder writes the interaction from an embedded template in the shape
// of the real messages in ../shared/fixtures/hl7v3 (the EPS FHIR API's output
// for the transmission wrapper, the NHS dispenser test bench's payloads for
// what pharmacy systems put inside), every value XML-escaped, then reads the
// result back with hl7v3.Decode: whatever a builder returns has passed the
// codec's structural checks.
package dispense

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
)

// SpineASID is the Spine's ASID in the real messages (communicationFunctionRcv
// of every request in the fixtures); WithReceiver sends elsewhere.
const SpineASID = "567456789789"

// The pricing authority, primaryInformationRecipient of every notification
// and claim: NHS Business Services Authority in the EPS FHIR API's messages
// (the test bench writes "PPA"). WithRecipient changes it.
const (
	PricingAuthorityODS  = "T1450"
	PricingAuthorityName = "NHS BUSINESS SERVICES AUTHORITY"
)

// Dispenser is the pharmacy and the person at it who sends a message.
type Dispenser struct {
	ODS       string // the pharmacy's ODS code (representedOrganization)
	Name      string // the pharmacy's name
	Telephone string // "01234567890"
	Address   []string
	Postcode  string
	// The user, as SDS knows them: SDS user ID (…0.2.0.65), role profile
	// (…0.2.0.67) and job role code (…0.2.1.104, e.g. R8003).
	SDSUserID, RoleProfileID, JobRole string
	// ProfessionalCode is the pharmacist's GPhC registration. It is not put
	// on the wire: pharmacy systems identify the person in
	// AgentPerson/agentPerson/id by SDS user ID (every test bench message
	// does), and no dispensing message has another place for it.
	ProfessionalCode string
	PersonName       string
	ASID             string // the pharmacy system (communicationFunctionSnd, author1)
}

// Example returns a fictional community pharmacy with plausible test
// identifiers. FA565 is the pharmacy prescribe.Example nominates in the demo.
func Example() Dispenser {
	return Dispenser{
		ODS: "FA565", Name: "TRINITY STREET PHARMACY", Telephone: "01325468912",
		Address: []string{"12 TRINITY STREET", "DARLINGTON", "COUNTY DURHAM"}, Postcode: "DL3 7BN",
		SDSUserID: "555086689106", RoleProfileID: "555086690109", JobRole: "R8003",
		ProfessionalCode: "2083469", PersonName: "Ravi Patel", ASID: "230811201324",
	}
}

func (d Dispenser) check() error {
	switch {
	case ids.CheckODS(d.ODS) != nil:
		return fmt.Errorf("dispenser: %w", ids.CheckODS(d.ODS))
	case ids.CheckASID(d.ASID) != nil:
		return fmt.Errorf("dispenser: %w", ids.CheckASID(d.ASID))
	case d.SDSUserID == "" || d.RoleProfileID == "" || d.JobRole == "":
		return errors.New("dispenser: the SDS user ID, role profile ID and job role are required")
	}
	return nil
}

// Option adjusts what a builder writes.
type Option func(*options)

type options struct {
	messageID    string
	receiver     string
	replaces     string
	exemption    *Exemption
	status       string
	recipientODS string
	recipientNm  string
}

// WithMessageID sets the message ID (an upper-case UUID) instead of a new
// one; the payload of a notification, claim, return, withdraw or rebuild
// carries the same ID, so this is also the ID a withdraw or amendment names.
func WithMessageID(id string) Option { return func(o *options) { o.messageID = id } }

// WithReceiver addresses the message to another ASID than SpineASID.
func WithReceiver(asid string) Option { return func(o *options) { o.receiver = asid } }

// Amends makes a notification or claim an amendment of the earlier one with
// that ID (replacementOf/priorMessageRef).
func Amends(messageID string) Option { return func(o *options) { o.replaces = messageID } }

// WithExemption writes the patient's charge exemption into a claim
// (coverage/coveringChargeExempt).
func WithExemption(e Exemption) Option { return func(o *options) { o.exemption = &e } }

// WithPrescriptionStatus writes code as the prescription status instead of
// the one the line item statuses give (PrescriptionStatus), to send what a
// faulty system would.
func WithPrescriptionStatus(code string) Option { return func(o *options) { o.status = code } }

// WithRecipient names another organisation than the pricing authority as the
// notification's or claim's primaryInformationRecipient.
func WithRecipient(ods, name string) Option {
	return func(o *options) { o.recipientODS, o.recipientNm = ods, name }
}

func buildOptions(opts []Option) (options, error) {
	o := options{receiver: SpineASID, recipientODS: PricingAuthorityODS, recipientNm: PricingAuthorityName}
	for _, f := range opts {
		f(&o)
	}
	if o.messageID == "" {
		o.messageID = ids.NewUUID()
	} else if !ids.IsUpperUUID(o.messageID) {
		return o, fmt.Errorf("message ID %q is not an upper-case UUID", o.messageID)
	}
	if err := ids.CheckASID(o.receiver); err != nil {
		return o, fmt.Errorf("receiver: %w", err)
	}
	if err := ids.CheckODS(o.recipientODS); err != nil {
		return o, fmt.Errorf("recipient: %w", err)
	}
	if o.status != "" && !code4.MatchString(o.status) {
		return o, fmt.Errorf("prescription status %q: want a four-digit code (16.35)", o.status)
	}
	if o.replaces != "" && !ids.IsUUID(o.replaces) {
		return o, fmt.Errorf("the message amended, %q, is not a UUID", o.replaces)
	}
	o.replaces = strings.ToUpper(o.replaces)
	return o, nil
}

// Code tables the builders fill display names from (EPS FHIR API value sets
// and ../shared/spec/lifecycle.md §2.5).
var (
	// ReturnReasons are the dispense proposal return reasons (16.28).
	ReturnReasons = map[string]string{
		"0001": "Patient non-attendance", "0002": "Unable to dispense medication on prescriptions",
		"0003": "Patient requested release", "0004": "Another dispenser requested release on behalf of the patient",
		"0005": "Invalid digital signature", "0006": "Rejected due to version problem",
		"0007": "Prescription otherwise invalid or unreadable", "0008": "Prescription expired",
	}
	// WithdrawTypes are the withdraw types (17.109).
	WithdrawTypes = map[string]string{"LD": "Last Dispense", "AD": "All Dispenses"}
	// WithdrawReasons are the withdraw reasons (17.110).
	WithdrawReasons = map[string]string{
		"QU": "Quantity Update", "MU": "Medication Update", "DA": "Dosage Amendments",
		"PA": "Patient Details Amendments", "OC": "Other Clinical", "ONC": "Other Non-Clinical",
	}
	// NotDispensedReasons are the reasons an item is not dispensed (16.31).
	NotDispensedReasons = map[string]string{
		"0001": "Not required as instructed by the patient", "0002": "Clinically unsuitable",
		"0003": "Owings note issued to patient", "0004": "Prescription cancellation",
		"0005": "Prescription cancellation due to death", "0006": "Illegal NHS prescription",
		"0007": "Prescribed out of scope item", "0008": "Item or prescription expired",
		"0009": "Not allowed on FP10", "0010": "Patient did not collect medication",
		"0011": "Patient purchased medication over the counter",
	}
)

// Interaction root names on the wire: the SM forms current systems send
// (hl7v3.WireName); the rebuild has none and goes as the MIM names it.
var (
	rootNominatedRelease = hl7v3.WireName(hl7v3.NominatedReleaseRequest)
	rootPatientRelease   = hl7v3.WireName(hl7v3.PatientReleaseRequest)
	rootNotification     = hl7v3.WireName(hl7v3.DispenseNotification)
	rootClaim            = hl7v3.WireName(hl7v3.DispenseClaim)
	rootReturn           = hl7v3.WireName(hl7v3.DispenseProposalReturn)
	rootWithdraw         = hl7v3.WireName(hl7v3.DispenserWithdraw)
	rootRebuild          = hl7v3.RebuildDispenseHistory
)

// frame is what the transmission wrapper and ControlActEvent carry.
type frame struct {
	Root, MessageID, Created, Receiver string
	D                                  Dispenser
	Payload                            string
}

// message wraps a rendered payload and checks the result decodes as the
// interaction it says it is.
func message(root string, o options, d Dispenser, at time.Time, payload string) ([]byte, error) {
	var buf bytes.Buffer
	f := frame{Root: root, MessageID: o.messageID, Created: stamp(at), Receiver: o.receiver, D: d,
		Payload: payload}
	if err := templates.ExecuteTemplate(&buf, "wrapper", f); err != nil {
		return nil, fmt.Errorf("%s: %w", root, err)
	}
	out := buf.Bytes()
	m, err := hl7v3.Decode(out)
	if err != nil {
		return nil, fmt.Errorf("%s: the built message does not decode: %w", root, err)
	}
	if m.Root != root {
		return nil, fmt.Errorf("%s: decoded as %s", root, m.Root)
	}
	return out, nil
}

func render(name string, data any) (string, error) {
	var b strings.Builder
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return b.String(), nil
}

// indentBy puts n spaces after every line break between elements, so a
// block rendered from column 0 lines up under the line that called it (its
// first line goes where the call is). A line break inside a text value is
// content, not layout, and is left alone: a notification restated in a
// rebuild keeps its text byte for byte.
func indentBy(s string, n int) string {
	s = strings.TrimRight(strings.TrimLeft(s, "\n "), "\n ")
	pad := "\n" + strings.Repeat(" ", n)
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	inTag := false
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '<' || c == '>':
			inTag = c == '<'
			b.WriteByte(c)
			i++
		case inTag:
			b.WriteByte(c)
			i++
		default:
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s) - i
			}
			run := s[i : i+j]
			if strings.TrimSpace(run) == "" {
				run = strings.ReplaceAll(run, "\n", pad)
			}
			b.WriteString(run)
			i += j
		}
	}
	return b.String()
}

// stamp is an HL7 timestamp (YYYYMMDDHHMMSS, UTC).
func stamp(t time.Time) string { return t.UTC().Format(hl7v3.TimeFormat) }

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// code4 is a four-digit code (statuses, reasons).
var code4 = regexp.MustCompile(`^[0-9]{4}$`)

// quantityPattern is a decimal quantity as messages write them.
var quantityPattern = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,6})?$`)

//go:embed templates.xml.tmpl
var templatesText string

// templates holds every message's template; nest (a template rendered inside
// another, indented to the call) needs the set itself, hence init.
var templates *template.Template

func init() {
	nest := func(name string, data any, n int) (string, error) {
		var b strings.Builder
		if err := templates.ExecuteTemplate(&b, name, data); err != nil {
			return "", err
		}
		return indentBy(b.String(), n), nil
	}
	templates = template.Must(template.New("dispense").Funcs(template.FuncMap{
		"x": esc, "nest": nest, "indent": indentBy, "inc": func(i int) int { return i + 1 },
	}).Parse(templatesText))
}

// IDOf returns the message ID (the transmission wrapper's id) of a message
// built here — the ID a withdraw or an amendment names.
func IDOf(msg []byte) (string, error) {
	m, err := hl7v3.Decode(msg)
	if err != nil {
		return "", err
	}
	return m.Header().MessageID, nil
}

// NominatedRelease builds a nominated release request (PORX_IN060102SM30):
// every prescription nominated to the pharmacy, up to the Spine's batch size.
func NominatedRelease(d Dispenser, at time.Time, opts ...Option) ([]byte, error) {
	return releaseRequest(rootNominatedRelease, "nominatedRelease", d, "", at, opts)
}

// PatientRelease builds a patient release request (PORX_IN132004SM30) for one
// prescription, by its short-form ID (or an R1 long-form ID), as scanned from
// the patient's token.
func PatientRelease(d Dispenser, prescriptionID string, at time.Time, opts ...Option) ([]byte, error) {
	prescriptionID = strings.ToUpper(strings.TrimSpace(prescriptionID))
	if ids.CheckShortID(prescriptionID) != nil && ids.CheckLongID(prescriptionID) != nil {
		return nil, fmt.Errorf("patient release: %w", ids.CheckShortID(prescriptionID))
	}
	return releaseRequest(rootPatientRelease, "patientRelease", d, prescriptionID, at, opts)
}

type releaseData struct {
	ID, Time       string
	D              Dispenser
	PrescriptionID prescriptionRef
}

func releaseRequest(root, tmpl string, d Dispenser, prescriptionID string, at time.Time, opts []Option) ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", root, err)
	}
	if at.IsZero() {
		return nil, fmt.Errorf("%s: the time is required", root)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", root, err)
	}
	// The payload has its own id: the release response's inFulfillmentOf
	// names it (the EPS FHIR API's release requests do the same).
	p, err := render(tmpl, releaseData{ID: ids.NewUUID(), Time: stamp(at), D: d,
		PrescriptionID: refOf(prescriptionID)})
	if err != nil {
		return nil, err
	}
	return message(root, o, d, at, p)
}

// prescriptionRef is how a prescription ID is written in a value element:
// a short-form ID as the extension of root …18.8, an R1 long-form ID as the
// root itself (the test bench's R1 messages).
type prescriptionRef struct{ Root, Extension string }

func refOf(id string) prescriptionRef {
	if ids.CheckShortID(id) == nil {
		return prescriptionRef{Root: hl7v3.RootShortID, Extension: id}
	}
	return prescriptionRef{Root: id}
}
