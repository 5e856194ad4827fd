package ebxml

import (
	"errors"
	"fmt"
	"strings"
)

// ErrorCode is an ebMS 2.0 eb:errorCode (§4.2.3.4.1).
type ErrorCode string

// The ebMS 2.0 error codes.
const (
	ValueNotRecognized ErrorCode = "ValueNotRecognized" // element content or attribute value not recognised
	NotSupported       ErrorCode = "NotSupported"       // element or attribute not supported
	Inconsistent       ErrorCode = "Inconsistent"       // content inconsistent with other elements or attributes
	OtherXML           ErrorCode = "OtherXml"           // other error in an element or attribute
	DeliveryFailure    ErrorCode = "DeliveryFailure"    // the message could not be delivered
	TimeToLiveExpired  ErrorCode = "TimeToLiveExpired"  // eb:TimeToLive passed before delivery
	SecurityFailure    ErrorCode = "SecurityFailure"    // signature, certificate or authorisation failure
	MimeProblem        ErrorCode = "MimeProblem"        // the MIME structure is wrong, or a URI does not resolve
	Unknown            ErrorCode = "Unknown"            // anything else
	// OtherError is not an ebMS 2.0 code; some NHS documents use it for
	// "Unknown". It is read back as written and never produced here.
	OtherError ErrorCode = "OtherError"
)

// Severity is an eb:severity.
type Severity string

const (
	SeverityError   Severity = "Error"
	SeverityWarning Severity = "Warning"
)

// Rule names the check that failed. The Spine's own checks are named as its
// validation stylesheets name them (ebxmlReliableValidator.xsl and friends);
// checks the stylesheets do not show are named "openeps.…".
type Rule string

// Rules of the Spine's ebXML and sync SOAP validators.
const (
	RuleNotWellFormed        Rule = "ErrorBaseTms.MESSAGE_NOT_WELL_FORMED"
	RuleHeaderVersion        Rule = "ErrorBaseTms.INVALID_MESSAGE_HEADER_VERSION"
	RuleDuplicateElimination Rule = "ErrorBaseTms.DUPLICATE_ELIMINATION_INCONSISTENT_WITH_CONTRACT"
	RuleAckRequested         Rule = "ErrorBaseTms.ACK_REQUESTED_INCONSISTENT_WITH_CONTRACT"
	RuleAckRequestedVersion  Rule = "ErrorBaseTms.ACK_REQUESTED_VERSION_INVALID"
	RuleAckRequestedSigned   Rule = "ErrorBaseTms.ACK_REQUESTED_SIGNED_INVALID"
	RuleAckRequestedActor    Rule = "ErrorBaseTms.ACK_REQUESTED_ACTOR_INVALID"
	RuleSyncReply            Rule = "ErrorBaseTms.SYNCREPLY_INCONSISTENT_WITH_CONTRACT"
	RuleSyncReplyVersion     Rule = "ErrorBaseTms.SYNCREPLY_VERSION_INVALID"
	RuleSyncReplyActor       Rule = "ErrorBaseTms.SYNCREPLY_ACTOR_INVALID"
	RuleManifestReference    Rule = "ErrorBaseTms.INVALID_MANIFEST_REFERENCE"
	RuleAckInvalid           Rule = "ErrorBaseTms.EBXML_ACK_INVALID"
	RuleSOAPMessageID        Rule = "ErrorBaseTms.SOAP_MESSAGE_ID_ERROR"
	RuleSOAPAction           Rule = "ErrorBaseTms.SOAP_ACTION_ERROR"
	RuleSOAPTo               Rule = "ErrorBaseTms.SOAP_TO_ERROR"
	RuleSOAPCommFuncRcv      Rule = "ErrorBaseTms.SOAP_COMM_FUNC_RCV_ERROR"
	RuleSOAPCommFuncSnd      Rule = "ErrorBaseTms.SOAP_COMM_FUNC_SND_ERROR"
)

// Rules of openeps's own checks (MIME structure, limits, directory lookups).
const (
	RuleNotMultipart       Rule = "openeps.NOT_MULTIPART"
	RuleBoundary           Rule = "openeps.BOUNDARY"
	RulePartHeader         Rule = "openeps.PART_HEADER"
	RuleTransferEncoding   Rule = "openeps.TRANSFER_ENCODING"
	RuleCharset            Rule = "openeps.CHARSET"
	RuleTooLarge           Rule = "openeps.TOO_LARGE"
	RuleTooManyParts       Rule = "openeps.TOO_MANY_PARTS"
	RuleRootPart           Rule = "openeps.ROOT_PART"
	RuleUnresolvedRef      Rule = "openeps.UNRESOLVED_REFERENCE"
	RuleNoPayload          Rule = "openeps.NO_PAYLOAD"
	RulePayloadNotXML      Rule = "openeps.PAYLOAD_NOT_XML"
	RuleUnknownCPA         Rule = "openeps.UNKNOWN_CPA"
	RuleFromPartyType      Rule = "openeps.FROM_PARTY_TYPE"
	RuleToPartyType        Rule = "openeps.TO_PARTY_TYPE"
	RuleToParty            Rule = "openeps.TO_PARTY"
	RuleService            Rule = "openeps.SERVICE"
	RuleAction             Rule = "openeps.ACTION"
	RuleActionPayload      Rule = "openeps.ACTION_PAYLOAD_MISMATCH"
	RuleSOAPActionHeader   Rule = "openeps.SOAPACTION_MISMATCH"
	RuleTimeToLive         Rule = "openeps.TIME_TO_LIVE"
	RuleExpressContract    Rule = "openeps.EXPRESS_CONTRACT"
	RuleUnsupportedMessage Rule = "openeps.UNSUPPORTED_MESSAGE"
	RuleSystemFailure      Rule = "openeps.SYSTEM_FAILURE"
)

// Spine codes (the number before the colon of an eb:Description, or a TMS
// errorCode in a SOAP fault) seen in real Spine answers.
const (
	SpineUnknownCPAId        = "501319" // "Unknown eb:CPAId" (ebxml_response_error_*.xml)
	SpineInvalidToPartyType  = "501314" // "Invalid To Party Type attribute" (expected_messages/ebxml_nack.xml)
	TMSSystemFailure         = "200"    // "System failure to process message" (soapfault_response_*.xml)
	TMSNotWellFormed         = "201"    // "The message is not well formed"
	TMSRoutingDeliveryFailed = "206"    // routing delivery failure (retriable)
	TMSStorageFailure        = "208"    // failure storing a variable in memo (retriable)
)

// Error is one ebXML error: what goes into an eb:Error of an eb:ErrorList.
// Parse, CheckHeader and friends return it, and ParseErrorList reads it back.
type Error struct {
	Code     ErrorCode // eb:errorCode
	Severity Severity  // eb:severity; "" means Error
	// SpineCode is the Spine's number for the error ("501319"), "" if the
	// Spine has none this package knows.
	SpineCode string
	Text      string // what is wrong, in words
	// Location is the eb:location: the element or MIME part concerned.
	Location string
	// CodeContext is the eb:codeContext; "" means ErrorCodeContext.
	CodeContext string
	// Rule names the check that failed (not sent on the wire).
	Rule Rule
	// Err is the underlying cause, if any (not sent on the wire).
	Err error
}

// Description is the eb:Description: "<Spine code>:<text>" where the Spine
// has a code, else the text.
func (e *Error) Description() string {
	if e.SpineCode != "" {
		return e.SpineCode + ":" + e.Text
	}
	return e.Text
}

func (e *Error) Error() string {
	msg := "ebxml " + string(e.Code) + ": " + e.Description()
	if e.Location != "" {
		msg += " (at " + e.Location + ")"
	}
	if e.Err != nil && !strings.Contains(msg, e.Err.Error()) {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches a target *Error by Rule (and Code when the target sets one), so
// errors.Is(err, &ebxml.Error{Rule: ebxml.RuleNoPayload}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Rule == "" {
		return false
	}
	return t.Rule == e.Rule && (t.Code == "" || t.Code == e.Code)
}

func (e *Error) severity() Severity {
	if e.Severity == "" {
		return SeverityError
	}
	return e.Severity
}

func (e *Error) codeContext() string {
	if e.CodeContext == "" {
		return ErrorCodeContext
	}
	return e.CodeContext
}

// Errorf returns an error with the given code and rule and no Spine code.
func Errorf(code ErrorCode, rule Rule, format string, args ...any) *Error {
	return &Error{Code: code, Rule: rule, Text: fmt.Sprintf(format, args...)}
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ErrorOf returns err as an ebXML error, ready for ErrorList: the *Error in
// its chain, or for any other failure (a store that is down, a bug) the
// Spine's catch-all, Unknown with "200:System failure to process message".
func ErrorOf(err error) *Error {
	if e := AsError(err); e != nil {
		return e
	}
	return &Error{Code: Unknown, SpineCode: TMSSystemFailure, Rule: RuleSystemFailure,
		Text: "System failure to process message", Err: err}
}

// RuleOf returns the rule of the *Error in err's chain, or "".
func RuleOf(err error) Rule {
	if e := AsError(err); e != nil {
		return e.Rule
	}
	return ""
}

// Retriable reports whether a send that failed with err may succeed if it is
// repeated unchanged, by the MHS adaptor's rules: a SOAP fault is retriable
// when every Spine error code in it is 200, 206 or 208 (see Fault.Retriable);
// an ebXML error list never is (the receiver read the message and refused
// it). Any other error (a network failure, say) is for the caller to judge
// and reports false here.
func Retriable(err error) bool {
	var f *Fault
	if errors.As(err, &f) {
		return f.Retriable()
	}
	return false
}

// notWellFormed is the Spine's MESSAGE_NOT_WELL_FORMED with detail.
func notWellFormed(location, format string, args ...any) *Error {
	return &Error{Code: OtherXML, SpineCode: TMSNotWellFormed, Rule: RuleNotWellFormed, Location: location,
		Text: "The message is not well formed - " + fmt.Sprintf(format, args...)}
}

func mimeProblem(rule Rule, location, format string, args ...any) *Error {
	return &Error{Code: MimeProblem, Rule: rule, Location: location, Text: fmt.Sprintf(format, args...)}
}
