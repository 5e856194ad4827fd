package ebxml

import (
	"fmt"
	"strings"
	"time"
)

// Contract is the reliability a CPA promises, which decides the header
// blocks a message must carry.
type Contract int

const (
	// ContractAny checks no reliability header blocks.
	ContractAny Contract = iota
	// ContractReliable is async reliable messaging: eb:DuplicateElimination,
	// eb:AckRequested (signed false, to-party MSH) and eb:SyncReply (next
	// actor), all version 2.0 — ebxmlReliableValidator.xsl.
	ContractReliable
	// ContractExpress is async express: no eb:DuplicateElimination and no
	// eb:AckRequested — ebxmlAsyncExpressValidator.xsl.
	ContractExpress
	// ContractForwardReliable is reliable messaging forwarded through the
	// Spine: as ContractReliable, but eb:SyncReply must be absent (the
	// assurance bench's SyncReply_Checker.xslt, EIS appendix C).
	ContractForwardReliable
)

// CheckOptions says what the receiver expects. Zero fields are not checked.
type CheckOptions struct {
	Contract Contract
	// MaxReferences bounds the manifest references: the Spine's EPS
	// validators accept exactly one (the HL7 payload, no attachments).
	MaxReferences int
	// Party is our party key: eb:To/eb:PartyId must be it.
	Party string
	// Service is the eb:Service expected (ServiceMM for the EPS).
	Service string
	// KnownCPA reports whether a CPA ID is known for the sender, service
	// and action; an unknown one is the Spine's 501319.
	KnownCPA func(h MessageHeader) bool
	// KnownAction reports whether the receiver handles the service and
	// action at all.
	KnownAction func(service, action string) bool
	// SOAPAction is the HTTP SOAPAction header received, to be matched
	// against eb:Service/eb:Action ("" skips the check).
	SOAPAction string
	// Now, when set, is checked against eb:TimeToLive.
	Now time.Time
}

// SpineEPS are the checks the Spine makes of an EPS request
// (ebxmlReliableValidator.xsl): reliable messaging, exactly one manifest
// reference, the mm service. Callers add Party, KnownCPA and Now.
var SpineEPS = CheckOptions{Contract: ContractReliable, MaxReferences: 1, Service: ServiceMM}

// CheckHeader makes the checks the Spine makes of a received header
// (ebxmlReliableValidator.xsl and the directory lookups around it) and
// returns every failure, in the Spine's order: required elements present
// and single, version, reliability blocks for the contract, then party
// types, our party, service, action, CPA and time to live.
func CheckHeader(h MessageHeader, o CheckOptions) []*Error {
	var errs []*Error
	add := func(e *Error) { errs = append(errs, e) }
	required := func(loc, v string) {
		if strings.TrimSpace(v) == "" {
			add(notWellFormed(loc, "%s is missing or empty", loc))
		}
	}
	required("eb:From/eb:PartyId", h.From.ID)
	if len(h.From.OtherIDs) > 0 {
		add(notWellFormed("eb:From/eb:PartyId", "eb:From holds %d eb:PartyId elements; one is allowed", 1+len(h.From.OtherIDs)))
	}
	required("eb:To/eb:PartyId", h.To.ID)
	if len(h.To.OtherIDs) > 0 {
		add(notWellFormed("eb:To/eb:PartyId", "eb:To holds %d eb:PartyId elements; one is allowed", 1+len(h.To.OtherIDs)))
	}
	required("eb:CPAId", h.CPAId)
	required("eb:ConversationId", h.ConversationId)
	required("eb:Service", h.Service)
	required("eb:Action", h.Action)
	required("eb:MessageData/eb:MessageId", h.MessageId)
	required("eb:MessageData/eb:Timestamp", h.Timestamp)
	for _, name := range h.repeated {
		switch name {
		case "eb:AckRequested", "eb:SyncReply", "eb:DuplicateElimination":
			// Reported with the contract checks below.
		default:
			if strings.HasPrefix(name, "eb:") {
				add(notWellFormed(name, "%s appears more than once", name))
			}
		}
	}
	if h.Version != "" && h.Version != "2.0" {
		add(&Error{Code: ValueNotRecognized, Rule: RuleHeaderVersion, Location: "eb:MessageHeader/@eb:version",
			Text: fmt.Sprintf("eb:MessageHeader version %q is not 2.0", h.Version)})
	}
	errs = append(errs, checkContract(h, o.Contract)...)

	if h.From.ID != "" && h.From.Type != PartyType {
		add(&Error{Code: ValueNotRecognized, Rule: RuleFromPartyType, Location: "eb:From/eb:PartyId/@eb:type",
			Text: "Invalid From Party Type attribute"})
	}
	if h.To.ID != "" && h.To.Type != PartyType {
		add(&Error{Code: ValueNotRecognized, SpineCode: SpineInvalidToPartyType, Rule: RuleToPartyType,
			Location: "eb:To/eb:PartyId/@eb:type", Text: "Invalid To Party Type attribute"})
	}
	if o.Party != "" && h.To.ID != "" && h.To.ID != o.Party {
		add(&Error{Code: ValueNotRecognized, Rule: RuleToParty, Location: "eb:To/eb:PartyId",
			Text: fmt.Sprintf("Unknown eb:To PartyId %s: this is %s", h.To.ID, o.Party)})
	}
	if o.Service != "" && h.Service != "" && h.Service != o.Service {
		add(&Error{Code: ValueNotRecognized, Rule: RuleService, Location: "eb:Service",
			Text: fmt.Sprintf("Unknown eb:Service %s", h.Service)})
	}
	if o.KnownAction != nil && h.Service != "" && h.Action != "" && !o.KnownAction(h.Service, h.Action) {
		add(&Error{Code: NotSupported, Rule: RuleAction, Location: "eb:Action",
			Text: fmt.Sprintf("Unsupported eb:Action %s", h.Action)})
	}
	if o.SOAPAction != "" && h.Service != "" && h.Action != "" {
		sa := strings.Trim(strings.TrimSpace(o.SOAPAction), `"`)
		if sa != h.SOAPAction() {
			add(&Error{Code: Inconsistent, Rule: RuleSOAPActionHeader, Location: "SOAPAction",
				Text: fmt.Sprintf("the SOAPAction header %q does not match eb:Service/eb:Action %s", sa, h.SOAPAction())})
		}
	}
	if o.KnownCPA != nil && h.CPAId != "" && !o.KnownCPA(h) {
		add(&Error{Code: ValueNotRecognized, SpineCode: SpineUnknownCPAId, Rule: RuleUnknownCPA, Location: "eb:CPAId",
			Text: "Unknown eb:CPAId"})
	}
	if !o.Now.IsZero() && !h.ExpiresAt.IsZero() && o.Now.After(h.ExpiresAt) {
		add(&Error{Code: TimeToLiveExpired, Rule: RuleTimeToLive, Location: "eb:TimeToLive",
			Text: fmt.Sprintf("the message expired at %s", h.TimeToLive)})
	}
	return errs
}

func (h MessageHeader) isRepeated(name string) bool {
	for _, r := range h.repeated {
		if r == name {
			return true
		}
	}
	return false
}

func checkContract(h MessageHeader, c Contract) []*Error {
	var errs []*Error
	add := func(code ErrorCode, rule Rule, loc, text string) {
		errs = append(errs, &Error{Code: code, Rule: rule, Location: loc, Text: text})
	}
	switch c {
	case ContractReliable, ContractForwardReliable:
		if !h.DuplicateElimination || h.isRepeated("eb:DuplicateElimination") {
			add(Inconsistent, RuleDuplicateElimination, "eb:DuplicateElimination",
				"reliable messaging needs one eb:DuplicateElimination")
		}
		if !h.AckRequested || h.isRepeated("eb:AckRequested") {
			add(Inconsistent, RuleAckRequested, "eb:AckRequested", "reliable messaging needs one eb:AckRequested")
		} else {
			if h.AckVersion != "2.0" {
				add(ValueNotRecognized, RuleAckRequestedVersion, "eb:AckRequested/@eb:version",
					fmt.Sprintf("eb:AckRequested version %q is not 2.0", h.AckVersion))
			}
			if h.AckSigned || h.ackSignedMissing {
				add(ValueNotRecognized, RuleAckRequestedSigned, "eb:AckRequested/@eb:signed",
					`eb:AckRequested must have eb:signed="false"`)
			}
			if h.AckActor != ActorToPartyMSH {
				add(ValueNotRecognized, RuleAckRequestedActor, "eb:AckRequested/@SOAP:actor",
					"eb:AckRequested SOAP:actor must be "+ActorToPartyMSH)
			}
		}
		if c == ContractForwardReliable {
			if h.SyncReply {
				add(Inconsistent, RuleSyncReply, "eb:SyncReply", "forward reliable messaging must not ask for a synchronous reply")
			}
		} else if !h.SyncReply || h.isRepeated("eb:SyncReply") {
			add(Inconsistent, RuleSyncReply, "eb:SyncReply", "reliable messaging needs one eb:SyncReply")
		} else {
			if h.SyncReplyVersion != "2.0" {
				add(ValueNotRecognized, RuleSyncReplyVersion, "eb:SyncReply/@eb:version",
					fmt.Sprintf("eb:SyncReply version %q is not 2.0", h.SyncReplyVersion))
			}
			if h.SyncReplyActor != ActorNext {
				add(ValueNotRecognized, RuleSyncReplyActor, "eb:SyncReply/@SOAP:actor",
					"eb:SyncReply SOAP:actor must be "+ActorNext)
			}
		}
	case ContractExpress:
		if h.DuplicateElimination {
			add(Inconsistent, RuleDuplicateElimination, "eb:DuplicateElimination",
				"async express messaging must not ask for duplicate elimination")
		}
		if h.AckRequested {
			add(Inconsistent, RuleAckRequested, "eb:AckRequested",
				"async express messaging must not ask for an acknowledgement")
		}
	}
	return errs
}

// Check makes CheckHeader's checks and the Spine's checks of the body: one
// eb:Manifest of version 2.0 whose references name something (and at most
// o.MaxReferences of them), every reference resolved, and eb:Action the
// interaction of the HL7 payload (SM and UK spellings of an interaction are
// the same interaction).
func (m *Message) Check(o CheckOptions) []*Error {
	errs := CheckHeader(m.Header, o)
	add := func(e *Error) { errs = append(errs, e) }
	if m.Kind != KindRequest {
		add(&Error{Code: NotSupported, Rule: RuleUnsupportedMessage, Location: "eb:Action",
			Text: fmt.Sprintf("the message (%s) is not a request", m.Kind)})
		return errs
	}
	if m.manifests > 1 {
		add(&Error{Code: OtherXML, Rule: RuleManifestReference, Location: "eb:Manifest", Text: "more than one eb:Manifest"})
	}
	if m.manifestVersion != "" && m.manifestVersion != "2.0" {
		add(&Error{Code: ValueNotRecognized, Rule: RuleManifestReference, Location: "eb:Manifest/@eb:version",
			Text: fmt.Sprintf("eb:Manifest version %q is not 2.0", m.manifestVersion)})
	}
	if o.MaxReferences > 0 && len(m.Manifest) > o.MaxReferences {
		add(&Error{Code: NotSupported, Rule: RuleManifestReference, Location: "eb:Manifest",
			Text: fmt.Sprintf("the manifest has %d references; %d allowed", len(m.Manifest), o.MaxReferences)})
	}
	if m.Header.Service != EbMSService && len(m.Manifest) == 0 {
		add(&Error{Code: MimeProblem, Rule: RuleManifestReference, Location: "eb:Manifest",
			Text: "the manifest has no reference"})
	}
	for _, r := range m.Manifest {
		if _, rest, ok := strings.Cut(r.Href, ":"); !ok || strings.TrimSpace(rest) == "" {
			add(&Error{Code: MimeProblem, Rule: RuleManifestReference, Location: "eb:Reference/@xlink:href",
				Text: fmt.Sprintf("the manifest reference %q names nothing", r.Href)})
		}
	}
	if len(m.Payload) > 0 && m.Header.Action != "" {
		if root, ok := payloadRoot(m.Payload); ok && !sameInteraction(root, m.Header.Action) {
			add(&Error{Code: Inconsistent, Rule: RuleActionPayload, Location: "eb:Action",
				Text: fmt.Sprintf("eb:Action %s does not match the HL7 payload's interaction %s", m.Header.Action, root)})
		}
	}
	return errs
}

// payloadRoot returns the local name of the payload's root element.
func payloadRoot(p []byte) (string, bool) {
	name, err := rootName(p)
	return name, err == nil
}

func sameInteraction(a, b string) bool {
	return a == b || ukForm(a) == ukForm(b)
}

// ukForm maps the SM spelling of an interaction ID that current systems
// send (PORX_IN020101SM31) to the MIM's UK spelling (PORX_IN020101UK31).
func ukForm(id string) string {
	if len(id) == 17 && id[13:15] == "SM" {
		return id[:13] + "UK" + id[15:]
	}
	return id
}
