package hl7v3

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

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
// the schema (required elements, single elements not repeated, no stray
// text). Errors are *epserr.Error: kind Invalid with code 5000 (16.34) and a
// text naming the element and the rule, or kind Unsupported (wrapping
// ErrUnknownInteraction) for a root element that is not one of the 17 EPS
// interactions or the acknowledgement.
func Decode(b []byte) (*Message, error) {
	m, problems, err := DecodeLenient(b)
	if err != nil {
		return nil, err
	}
	if err := firstError(problems); err != nil {
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
		return nil, nil, invalid(err)
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
	problems, err := decodeInto(d, NS, root, body)
	if err != nil {
		return nil, nil, err
	}
	return &Message{Root: root, Interaction: in, Body: body}, problems, nil
}

// decodeInto fills body from the document. It returns the schema problems
// found, and an error only for what cannot be read at all.
func decodeInto(d *xmlt.Decoder, ns, root string, body any) ([]Problem, error) {
	v := reflect.ValueOf(body).Elem()
	c := &decoder{d: d, ns: ns, path: []string{root}}
	if err := c.decodeElement(v, planFor(v.Type())); err != nil {
		return nil, invalid(err)
	}
	// Nothing may follow the root.
	if k, err := d.Next(); err != nil || k != xmlt.EOF {
		if err == nil {
			err = fmt.Errorf("content after the root element")
		}
		return nil, invalid(err)
	}
	return c.problems, nil
}

// firstError turns the first non-warning problem into the decode error.
func firstError(problems []Problem) error {
	for _, p := range problems {
		if !p.Warning {
			return invalid(&DecodeError{Path: p.Path, Msg: p.Msg})
		}
	}
	return nil
}

func invalid(err error) error {
	var de *DecodeError
	var xe *xmlt.Error
	switch {
	case errors.As(err, &de):
		// Strip the xmlt prefix inside a decode error for a tidy message.
		return &epserr.Error{Kind: epserr.KindInvalid, Code: epserr.UnableToProcess.With(de.Error()), Detail: de.Error(), Err: err}
	case errors.As(err, &xe):
		return &epserr.Error{Kind: epserr.KindInvalid, Code: epserr.UnableToProcess.With(xe.Error()), Detail: xe.Error(), Err: err}
	}
	return &epserr.Error{Kind: epserr.KindInvalid, Code: epserr.UnableToProcess.With(err.Error()), Detail: err.Error(), Err: err}
}

// Encode writes the message as an XML document with an XML declaration, the
// HL7 namespace as default namespace and two-space indentation.
func (m *Message) Encode() []byte {
	return encodeRoot(m.Root, m.Body)
}

func encodeRoot(root string, body any) []byte {
	v := reflect.ValueOf(body).Elem()
	e := &encoder{b: make([]byte, 0, 16<<10)}
	e.b = append(e.b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"...)
	e.encodeElement(root, v, planFor(v.Type()), 0, true)
	e.b = append(e.b, '\n')
	return e.b
}

// payloadTypes maps each payload (message type) root element to its Go type,
// for documents that carry a payload alone (the dispenser test bench's
// messages, the signature test vectors).
var payloadTypes = map[string]reflect.Type{
	"ParentPrescription":                  reflect.TypeOf(PORX_MT132004UK31_ParentPrescription{}),
	"CancellationRequest":                 reflect.TypeOf(PORX_MT135001UK32_CancellationRequest{}),
	"CancellationResponse":                reflect.TypeOf(PORX_MT135201UK31_CancellationResponse{}),
	"NominatedPrescriptionReleaseRequest": reflect.TypeOf(PORX_MT121001UK30_NominatedPrescriptionReleaseRequest{}),
	"PatientPrescriptionReleaseRequest":   reflect.TypeOf(PORX_MT121002UK30_PatientPrescriptionReleaseRequest{}),
	"PrescriptionReleaseResponse":         reflect.TypeOf(PORX_MT122002UK31_PrescriptionReleaseResponse{}),
	"PrescriptionReleaseReject":           reflect.TypeOf(PORX_MT121201UK30_PrescriptionReleaseReject{}),
	"DispenseProposalReturn":              reflect.TypeOf(PORX_MT121301UK31_DispenseProposalReturn{}),
	"DispenseNotification":                reflect.TypeOf(PORX_MT024001UK31_DispenseNotification{}),
	"DispenseClaim":                       reflect.TypeOf(PORX_MT142001UK31_DispenseClaim{}),
	"ReimbursmentClaim":                   reflect.TypeOf(PORX_MT142006UK31_ReimbursmentClaim{}),
	"ETPWithdraw":                         reflect.TypeOf(PORX_MT136001UK31_ETPWithdraw{}),
	"RebuildDispenseHistory":              reflect.TypeOf(PORX_MT136002UK31_RebuildDispenseHistory{}),
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
	if err := firstError(problems); err != nil {
		return nil, err
	}
	return p, nil
}

// DecodePayloadLenient is DecodePayload returning the schema problems found
// instead of failing on them (see DecodeLenient).
func DecodePayloadLenient(b []byte) (*Payload, []Problem, error) {
	d := xmlt.NewDecoder(b, Limits)
	k, err := d.Next()
	if err != nil {
		return nil, nil, invalid(err)
	}
	if k != xmlt.StartElement {
		return nil, nil, epserr.Invalid("no root element")
	}
	root := d.Name.Local
	t, ok := payloadTypes[root]
	if !ok || (d.Name.Space != NS && d.Name.Space != "") {
		e := epserr.Invalid("root element %s: not an EPS payload", root)
		e.Kind = epserr.KindUnsupported
		return nil, nil, e
	}
	body := reflect.New(t).Interface()
	problems, err := decodeInto(d, d.Name.Space, root, body)
	if err != nil {
		return nil, nil, err
	}
	return &Payload{Root: root, Body: body}, problems, nil
}

// Encode writes the payload as a document of its own.
func (p *Payload) Encode() []byte { return encodeRoot(p.Root, p.Body) }

// EncodeElement writes any generated value as an element named name, with the
// HL7 namespace declared on it and no XML declaration.
func EncodeElement(name string, v any) []byte {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	e := &encoder{}
	e.encodeElement(name, rv, planFor(rv.Type()), 0, true)
	return e.b
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
func (m *Message) Header() Header {
	v := reflect.ValueOf(m.Body).Elem()
	var h Header
	h.MessageID = v.FieldByName("ID").Interface().(II).Root
	h.CreationTime = v.FieldByName("CreationTime").Interface().(TS).Value
	h.InteractionID = v.FieldByName("InteractionID").Interface().(II).Extension
	h.VersionCode = v.FieldByName("VersionCode").Interface().(CD).Code
	deviceASID := func(dev reflect.Value) string {
		if ids, ok := dev.FieldByName("ID").Interface().([]II); ok && len(ids) > 0 {
			return ids[0].Extension
		}
		return ""
	}
	if rcv := v.FieldByName("CommunicationFunctionRcv"); rcv.Len() > 0 {
		h.ReceiverASID = deviceASID(rcv.Index(0).FieldByName("Device"))
	}
	h.SenderASID = deviceASID(v.FieldByName("CommunicationFunctionSnd").FieldByName("Device"))
	if ack := v.FieldByName("Acknowledgement"); ack.IsValid() {
		if ack.Kind() == reflect.Pointer {
			ack = ack.Elem()
		}
		if ack.IsValid() {
			h.AckType = ack.FieldByName("TypeCode").String()
			h.AckMessageRef = ack.FieldByName("MessageRef").FieldByName("ID").Interface().(II).Root
		}
	}
	return h
}

// Payload returns a pointer to the message's payload (the element under
// ControlActEvent/subject), or nil for an acknowledgement.
func (m *Message) Payload() any {
	v := reflect.ValueOf(m.Body).Elem()
	cae := v.FieldByName("ControlActEvent")
	if !cae.IsValid() {
		return nil
	}
	if cae.Kind() == reflect.Pointer {
		if cae.IsNil() {
			return nil
		}
		cae = cae.Elem()
	}
	subj := cae.FieldByName("Subject")
	if !subj.IsValid() {
		return nil
	}
	if subj.Kind() == reflect.Pointer {
		if subj.IsNil() {
			return nil
		}
		subj = subj.Elem()
	}
	p := planFor(subj.Type())
	for _, fi := range p.elems {
		if fi.kind == kElem && fi.name != "" && strings.ToUpper(fi.name[:1]) == fi.name[:1] {
			return subj.Field(fi.index).Addr().Interface()
		}
	}
	return nil
}
