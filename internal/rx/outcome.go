package rx

import "github.com/openeps/openeps/internal/epserr"

// Outcome is what one message (or sweep) does: the record to store, the answer
// and the messages to send afterwards.
type Outcome struct {
	// Record is the record to store; nil = nothing to store (refused, replayed,
	// or nothing changed).
	Record *Record
	// Delete says to remove the record (sweep).
	Delete bool
	// Answer is what to answer the sender.
	Answer Answer
	// Events are further messages to send, e.g. a subsequent cancellation
	// response to a prescriber.
	Events []Event
	// Replay is true when the message ID was already in the record's change
	// log: Answer is the first answer again and nothing changed.
	Replay bool
}

// AnswerKind says which HL7 answer to build.
type AnswerKind string

// Answer kinds.
const (
	AnswerNone             AnswerKind = ""                 // nothing to answer (sweeps)
	AnswerAck              AnswerKind = "ack"              // MCCI_IN010000UK13
	AnswerReleaseResponse  AnswerKind = "releaseResponse"  // PORX_IN070103 (patient) / PORX_IN070101 (nominated)
	AnswerReleaseRejection AnswerKind = "releaseRejection" // PORX_IN110101
	AnswerCancelResponse   AnswerKind = "cancelResponse"   // PORX_IN050101
)

// Acknowledgement type codes.
const (
	AckAccepted = "AA"
	AckError    = "AE"
	AckRejected = "AR"
)

// Answer is what to answer the sender.
type Answer struct {
	Kind    AnswerKind    `json:"kind"`
	AckType string        `json:"ackType"` // AA, AE or AR
	Codes   []epserr.Code `json:"codes,omitempty"`
	Text    string        `json:"text,omitempty"` // e.g. "Prescription upload successful"

	// RequestRef is the payload id of the request answered (release responses'
	// priorDownloadRequestRef, cancel responses' cancellationRequestRef).
	RequestRef string `json:"requestRef,omitempty"`

	// Release responses: the prescriptions released, with the statuses to
	// show (lifecycle.md §3.3 "Response content").
	Released []Released `json:"released,omitempty"`
	// Nominated release: more prescriptions are waiting after this batch.
	More bool `json:"more,omitempty"`

	// Cancel responses (and release rejections naming who holds it).
	PrescriptionID string `json:"prescriptionId,omitempty"`
	LineItemID     string `json:"lineItemId,omitempty"`
	// Performer is the dispenser holding the prescription, when the status is
	// one that names it (ESS INCLUDE_PERFORMER_STATES: 0002, 0003, 0006–0009).
	Performer *Party `json:"performer,omitempty"`
}

// Party is an organisation and person acting on a prescription (the
// performer of a cancel response: the dispenser holding it).
type Party struct {
	ODS         string `json:"ods"`
	ASID        string `json:"asid,omitempty"`
	RoleProfile string `json:"roleProfile,omitempty"`
	SDSUser     string `json:"sdsUser,omitempty"`
	Name        string `json:"name,omitempty"`
	Time        string `json:"time,omitempty"` // when it took the prescription (release time)
}

// Code returns the first code of the answer, or the zero code.
func (a Answer) Code() epserr.Code {
	if len(a.Codes) == 0 {
		return epserr.Code{}
	}
	return a.Codes[0]
}

func (a Answer) clone() Answer {
	c := a
	c.Codes = append([]epserr.Code(nil), a.Codes...)
	if a.Performer != nil {
		p := *a.Performer
		c.Performer = &p
	}
	if a.Released != nil {
		c.Released = make([]Released, len(a.Released))
		for i, r := range a.Released {
			r.Items = append([]ReleasedItem(nil), r.Items...)
			c.Released[i] = r
		}
	}
	return c
}

// Released is one prescription handed out by a release, with the values the
// release response rewrites in the stored signed prescription.
type Released struct {
	RecordKey      string `json:"recordKey"`
	PrescriptionID string `json:"prescriptionId"`
	UUID           string `json:"uuid,omitempty"`
	// MessageRef is the message ID of the parent prescription: the stored
	// document the response carries.
	MessageRef string `json:"messageRef"`
	// Status is the prescription status to show: the previous status, with
	// 0000 shown as 0001 (Spine-1 compatibility, ESS fetch_release_response_parameters).
	Status                 string         `json:"status"`
	Issue                  int            `json:"issue"`
	MaxRepeats             int            `json:"maxRepeats"`
	Repeat                 bool           `json:"repeat,omitempty"` // not acute: send repeat numbers
	PriorPreviousIssueDate string         `json:"priorPreviousIssueDate,omitempty"`
	LowerAgeLimit          string         `json:"lowerAgeLimit,omitempty"`
	HigherAgeLimit         string         `json:"higherAgeLimit,omitempty"`
	Items                  []ReleasedItem `json:"items"`
}

// ReleasedItem is a line item in a release response.
type ReleasedItem struct {
	ID     string `json:"id"`
	Status string `json:"status"` // previous status when now 0008
	// MaxRepeats and CurrentInstance are the item's repeat numbers (the item's
	// current instance is capped at its max repeats).
	MaxRepeats      int `json:"maxRepeats"`
	CurrentInstance int `json:"currentInstance"`
}

// EventKind names a further message to send.
type EventKind string

// Event kinds.
const (
	// EventSubsequentCancellation is PORX_IN050102UK32: a pending cancellation
	// was finally applied (or failed) and the canceller is told. Decision 15:
	// the immediate answer to a cancel is PORX_IN050101UK31 (AnswerCancelResponse),
	// the later unsolicited one PORX_IN050102UK32 (ESS CANCEL_INTERACTION):
	// two messages, so both IDs are right.
	EventSubsequentCancellation EventKind = "subsequentCancellation"
	// EventNoClaimNotification is PORX_IN460101: an issue was no-claimed; the
	// pricing authority is told.
	EventNoClaimNotification EventKind = "noClaimNotification"
)

// Event is a further message to send after the answer.
type Event struct {
	Kind EventKind `json:"kind"`
	// Recipient.
	ToODS  string `json:"toOds,omitempty"`
	ToASID string `json:"toAsid,omitempty"`

	RecordKey      string `json:"recordKey"`
	PrescriptionID string `json:"prescriptionId"`
	Issue          int    `json:"issue,omitempty"`
	// RefMessageID is the message this follows up (the cancel request's
	// message id); RequestRef its payload id.
	RefMessageID string `json:"refMessageId,omitempty"`
	RequestRef   string `json:"requestRef,omitempty"`
	// Code is the outcome (17.19 for a subsequent cancellation).
	Code       epserr.Code `json:"code"`
	Text       string      `json:"text,omitempty"`
	LineItemID string      `json:"lineItemId,omitempty"`
	// Performer is the dispenser that held the prescription, if any.
	Performer *Party `json:"performer,omitempty"`
	// Cancellation is the cancel request being answered.
	Cancellation *Cancellation `json:"cancellation,omitempty"`
}

// NominatedOutcome is the result of a nominated release request.
type NominatedOutcome struct {
	// Records are the released records to store, in the order released.
	Records []*Record
	// Answer is a release response with up to Config.NominatedBatchSize
	// prescriptions, or a release rejection 16.34/0006 when none are left.
	Answer Answer
}

func ack(text string) Answer {
	return Answer{Kind: AnswerAck, AckType: AckAccepted, Text: text}
}

func refuse(c epserr.Code) Answer {
	return Answer{Kind: AnswerAck, AckType: AckError, Codes: []epserr.Code{c}, Text: c.Display}
}
