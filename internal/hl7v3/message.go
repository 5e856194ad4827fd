package hl7v3

import (
	"errors"
	"fmt"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/xmlt"
)

// Interaction IDs in the MIM's spelling.
const (
	ParentPrescriptionUrgent    = "PORX_IN020101UK31"
	ParentPrescriptionNonUrgent = "PORX_IN020102UK31"
	PatientReleaseRequest       = "PORX_IN132004UK30"
	PatientReleaseResponse      = "PORX_IN070103UK31"
	NominatedReleaseRequest     = "PORX_IN060102UK30"
	NominatedReleaseResponse    = "PORX_IN070101UK31"
	ReleaseRejection            = "PORX_IN110101UK30"
	DispenseProposalReturn      = "PORX_IN100101UK31"
	CancelRequest               = "PORX_IN030101UK32"
	CancelResponse              = "PORX_IN050101UK31"
	SubsequentCancelResponse    = "PORX_IN050102UK32"
	DispenseNotification        = "PORX_IN080101UK31"
	DispenseClaim               = "PORX_IN090101UK31"
	ReimbursementClaim          = "PORX_IN370101UK31"
	NoClaimNotification         = "PORX_IN460101UK31"
	DispenserWithdraw           = "PORX_IN510101UK31"
	RebuildDispenseHistory      = "PORX_IN540101UK31"
	ApplicationAcknowledgement  = "MCCI_IN010000UK13"
)

// Interactions lists every interaction this package reads and writes.
func Interactions() []string {
	return []string{ParentPrescriptionUrgent, ParentPrescriptionNonUrgent, PatientReleaseRequest,
		PatientReleaseResponse, NominatedReleaseRequest, NominatedReleaseResponse, ReleaseRejection,
		DispenseProposalReturn, CancelRequest, CancelResponse, SubsequentCancelResponse, DispenseNotification,
		DispenseClaim, ReimbursementClaim, NoClaimNotification, DispenserWithdraw, RebuildDispenseHistory,
		ApplicationAcknowledgement}
}

// Canonical maps a wire interaction ID to the MIM's: the SM forms current
// systems send (PORX_IN020101SM31) to the UK form (PORX_IN020101UK31).
// Unknown IDs come back unchanged.
func Canonical(id string) string {
	if len(id) == 17 && id[13:15] == "SM" {
		uk := id[:13] + "UK" + id[15:]
		if _, ok := rootTypes[uk]; ok {
			return uk
		}
	}
	return id
}

// WireName returns the SM spelling of a MIM interaction ID where current
// systems use one (PORX_IN020101UK31 → PORX_IN020101SM31), else the ID itself.
func WireName(uk string) string {
	if sm, ok := smForms[uk]; ok {
		return sm
	}
	return uk
}

// smForms are the SM spellings EPS-API codes.ts lists.
var smForms = map[string]string{
	ParentPrescriptionUrgent: "PORX_IN020101SM31",
	CancelRequest:            "PORX_IN030101SM32",
	DispenseNotification:     "PORX_IN080101SM31",
	DispenseClaim:            "PORX_IN090101SM31",
	NominatedReleaseRequest:  "PORX_IN060102SM30",
	PatientReleaseRequest:    "PORX_IN132004SM30",
	DispenserWithdraw:        "PORX_IN510101SM31",
	DispenseProposalReturn:   "PORX_IN100101SM31",
}

// Limits are the bounds applied to every document decoded.
var Limits = xmlt.Limits{MaxBytes: 8 << 20, MaxDepth: 64, MaxAttrs: 64}

// Message is one decoded interaction.
type Message struct {
	// Root is the root element's name as received (e.g. PORX_IN020101SM31);
	// Encode writes it back.
	Root string
	// Interaction is the MIM spelling (e.g. PORX_IN020101UK31).
	Interaction string
	// Body is a pointer to the generated type of the interaction, e.g.
	// *PORX_IN020101UK31_Message.
	Body any
}

// ErrUnknownInteraction is wrapped by Decode's error for a root element that
// is not an EPS interaction.
var ErrUnknownInteraction = errors.New("not an EPS interaction")

// Decode reads a whole HL7 V3 interaction and checks its structure against
// the schema (required elements and attributes, single elements not
// repeated, no stray text). Validate applies the Spine's further checks.
//
// Errors are *epserr.Error of kind Invalid whose Detail names the element
// (its path) and the rule broken, and whose Code is what the Spine answers
// with: "unable to process" in the interaction's code system (17.19/5000
// for a cancellation request, 16.34/5000 for the rest; see UnableToProcess).
// A root element that is not one of the 17 EPS interactions or the
// acknowledgement gives kind Unsupported, wrapping ErrUnknownInteraction.
func Decode(b []byte) (*Message, error) {
	m, problems, err := DecodeLenient(b)
	if err != nil {
		return nil, err
	}
	if err := firstError(problems, m.Interaction); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeLenient reads a whole interaction as far as it can: it fails only on
// XML that cannot be read or a root that is not an EPS interaction, and
// returns every schema problem found beside the value (which keeps whatever
// the problems concerned, so Encode gives it back).
func DecodeLenient(b []byte) (*Message, []Problem, error) {
	d := xmlt.NewDecoder(b, Limits)
	k, err := d.Next()
	if err != nil {
		return nil, nil, invalid(err, "")
	}
	if k != xmlt.StartElement {
		return nil, nil, epserr.Invalid("no root element")
	}
	root := d.Name.Local
	if d.Name.Space != NS {
		return nil, nil, epserr.Invalid("root element %s is not in the HL7 V3 namespace (%s)", root, NS)
	}
	in := Canonical(root)
	mk, ok := rootTypes[in]
	if !ok {
		e := epserr.Invalid("root element %s", root)
		e.Kind = epserr.KindUnsupported
		e.Err = ErrUnknownInteraction
		return nil, nil, e
	}
	body := mk()
	problems, err := decodeInto(d, d.Name.Space, root, body.(node), in)
	if err != nil {
		return nil, nil, err
	}
	return &Message{Root: root, Interaction: in, Body: body}, problems, nil
}

// decodeInto fills body from the document. It returns the schema problems
// found, and an error only for what cannot be read at all.
// interaction names the interaction whose code system errors are reported in.
func decodeInto(d *xmlt.Decoder, ns, root string, body node, interaction string) ([]Problem, error) {
	// ns is the root's own namespace string: the tokenizer hands every
	// element in that namespace the same string, so comparing is cheap.
	c := &decoder{d: d, ns: ns, path: make([]string, 1, 24)}
	c.path[0] = root
	if err := c.element(body); err != nil {
		return nil, invalid(err, interaction)
	}
	// Nothing may follow the root.
	if k, err := d.Next(); err != nil || k != xmlt.EOF {
		if err == nil {
			err = fmt.Errorf("content after the root element")
		}
		return nil, invalid(err, interaction)
	}
	return c.problems, nil
}

// firstError turns the first problem that is not a warning into the decode
// error, with its rule's code or the interaction's "unable to process".
func firstError(problems []Problem, interaction string) error {
	for _, p := range problems {
		if p.Warning {
			continue
		}
		detail := p.String()
		code := p.Code
		if code.IsZero() {
			code = UnableToProcess(interaction, detail)
		}
		return &epserr.Error{Kind: epserr.KindInvalid, Code: code, Detail: detail,
			Err: &DecodeError{Path: p.Path, Msg: p.Msg}}
	}
	return nil
}

func invalid(err error, interaction string) error {
	detail := err.Error()
	var de *DecodeError
	var xe *xmlt.Error
	switch {
	case errors.As(err, &de):
		detail = de.Error()
	case errors.As(err, &xe):
		detail = xe.Error()
	}
	return &epserr.Error{Kind: epserr.KindInvalid, Code: UnableToProcess(interaction, detail), Detail: detail, Err: err}
}

// Encode writes the message as an XML document with an XML declaration, the
// HL7 namespace as default namespace and two-space indentation.
func (m *Message) Encode() []byte {
	return encodeRoot(m.Root, m.Body)
}

func encodeRoot(root string, body any) []byte {
	e := &encoder{b: make([]byte, 0, 16<<10)}
	e.b = append(e.b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"...)
	e.element(root, body.(node), 0, true)
	e.b = append(e.b, '\n')
	return e.b
}

// payloadTypes maps each payload (message type) root element to its Go type,
// for documents that carry a payload alone (the dispenser test bench's
// messages, the signature test vectors).
var payloadTypes = map[string]func() node{
	"ParentPrescription":                  func() node { return new(PORX_MT132004UK31_ParentPrescription) },
	"CancellationRequest":                 func() node { return new(PORX_MT135001UK32_CancellationRequest) },
	"CancellationResponse":                func() node { return new(PORX_MT135201UK31_CancellationResponse) },
	"NominatedPrescriptionReleaseRequest": func() node { return new(PORX_MT121001UK30_NominatedPrescriptionReleaseRequest) },
	"PatientPrescriptionReleaseRequest":   func() node { return new(PORX_MT121002UK30_PatientPrescriptionReleaseRequest) },
	"PrescriptionReleaseResponse":         func() node { return new(PORX_MT122002UK31_PrescriptionReleaseResponse) },
	"PrescriptionReleaseReject":           func() node { return new(PORX_MT121201UK30_PrescriptionReleaseReject) },
	"DispenseProposalReturn":              func() node { return new(PORX_MT121301UK31_DispenseProposalReturn) },
	"DispenseNotification":                func() node { return new(PORX_MT024001UK31_DispenseNotification) },
	"DispenseClaim":                       func() node { return new(PORX_MT142001UK31_DispenseClaim) },
	"ReimbursmentClaim":                   func() node { return new(PORX_MT142006UK31_ReimbursmentClaim) },
	"ETPWithdraw":                         func() node { return new(PORX_MT136001UK31_ETPWithdraw) },
	"RebuildDispenseHistory":              func() node { return new(PORX_MT136002UK31_RebuildDispenseHistory) },
}

// Payload is a decoded payload document (a message type without its
// transmission wrapper).
type Payload struct {
	Root string
	Body any // pointer to the generated payload type, e.g. *PORX_MT024001UK31_DispenseNotification
}

// DecodePayload reads a document whose root is a payload element
// (ParentPrescription, DispenseNotification, …). Such documents are often
// written without a namespace declaration (the test bench's, the signature
// vectors); then elements in no namespace are read as HL7.
func DecodePayload(b []byte) (*Payload, error) {
	p, problems, err := DecodePayloadLenient(b)
	if err != nil {
		return nil, err
	}
	if err := firstError(problems, payloadInteraction[p.Root]); err != nil {
		return nil, err
	}
	return p, nil
}

// payloadInteraction names an interaction that carries each payload, for
// the code system of its errors and the rules that apply to it.
var payloadInteraction = map[string]string{
	"ParentPrescription":                  ParentPrescriptionUrgent,
	"CancellationRequest":                 CancelRequest,
	"CancellationResponse":                CancelResponse,
	"NominatedPrescriptionReleaseRequest": NominatedReleaseRequest,
	"PatientPrescriptionReleaseRequest":   PatientReleaseRequest,
	"PrescriptionReleaseResponse":         NominatedReleaseResponse,
	"PrescriptionReleaseReject":           ReleaseRejection,
	"DispenseProposalReturn":              DispenseProposalReturn,
	"DispenseNotification":                DispenseNotification,
	"DispenseClaim":                       DispenseClaim,
	"ReimbursmentClaim":                   ReimbursementClaim,
	"ETPWithdraw":                         DispenserWithdraw,
	"RebuildDispenseHistory":              RebuildDispenseHistory,
}

// DecodePayloadLenient is DecodePayload returning the schema problems found
// instead of failing on them (see DecodeLenient).
func DecodePayloadLenient(b []byte) (*Payload, []Problem, error) {
	d := xmlt.NewDecoder(b, Limits)
	k, err := d.Next()
	if err != nil {
		return nil, nil, invalid(err, "")
	}
	if k != xmlt.StartElement {
		return nil, nil, epserr.Invalid("no root element")
	}
	root := d.Name.Local
	mk, ok := payloadTypes[root]
	if !ok || (d.Name.Space != NS && d.Name.Space != "") {
		e := epserr.Invalid("root element %s: not an EPS payload", root)
		e.Kind = epserr.KindUnsupported
		return nil, nil, e
	}
	body := mk()
	in := payloadInteraction[root]
	problems, err := decodeInto(d, d.Name.Space, root, body, in)
	if err != nil {
		return nil, nil, err
	}
	return &Payload{Root: root, Body: body}, problems, nil
}

// Encode writes the payload as a document of its own.
func (p *Payload) Encode() []byte { return encodeRoot(p.Root, p.Body) }

// EncodeElement writes a generated value (a pointer to one of this
// package's types, e.g. *PORX_MT132004UK31_ParentPrescription) as an element
// named name, with the HL7 namespace declared on it and no XML declaration.
// It panics if v is not such a pointer: that is a programming error.
func EncodeElement(name string, v any) []byte {
	n, ok := v.(node)
	if !ok {
		panic(fmt.Sprintf("hl7v3.EncodeElement: %T is not a pointer to an HL7 V3 type", v))
	}
	e := &encoder{}
	e.element(name, n, 0, true)
	return e.b
}

// message is what every interaction's generated type implements.
type message interface {
	node
	header() Header
	wrapper() wrapperFields
	setDevices(rcv, snd string)
	payload() any
	controlAct() *controlActFields
}

// wrapperFields points at the transmission-wrapper fields of a message.
type wrapperFields struct {
	id, interactionID                                              *II
	creationTime                                                   *TS
	versionCode, processingCode, processingModeCode, acceptAckCode *CD
	ack                                                            *MCCI_MT020101UK12_Acknowledgement // nil for requests
}

// controlActFields points at the ControlActEvent of a message.
type controlActFields struct {
	classCode, moodCode *string
	author              **MCAI_MT040101UK03_Author
	author1             *[]MCAI_MT040101UK03_Author2
	reason              *[]MCAI_MT040101UK03_Reason
}

func setDevice(classCode, determinerCode *string, ids *[]II, asid string) {
	*classCode, *determinerCode = "DEV", "INSTANCE"
	*ids = []II{{Root: RootASID, Extension: asid}}
}

// Header is what every interaction's transmission wrapper says.
type Header struct {
	MessageID     string // id/@root
	CreationTime  string // YYYYMMDDHHMMSS
	InteractionID string // interactionId/@extension as sent
	VersionCode   string
	ReceiverASID  string // first communicationFunctionRcv
	SenderASID    string
	// Acknowledgement is set on answers (MCCI_MT020101UK12 wrappers).
	AckType       string // AA, AE, AR
	AckMessageRef string // the message answered
}

// Header returns the wrapper fields of the message.
func (m *Message) Header() Header { return m.Body.(message).header() }

// Payload returns a pointer to the message's payload (the element under
// ControlActEvent/subject), or nil for an acknowledgement.
func (m *Message) Payload() any { return m.Body.(message).payload() }
