// Package epserr is the one error type of openeps. An *Error carries the EPS
// code and code system the Spine would put on the wire, so a failure anywhere
// (a parser, a lifecycle rule, a store conflict) maps straight to the right
// HL7 V3 acknowledgement without a translation table at the edge.
package epserr

import (
	"errors"
	"fmt"
	"strings"
)

// Code systems used by the Spine for errors and outcomes (../shared/spec/lifecycle.md §6).
const (
	// SystemPrescribe is 2.16.840.1.113883.2.1.3.2.4.17.22: application errors for
	// prescribing and dispensing messages (notification, claim, return, withdraw, rebuild).
	SystemPrescribe = "2.16.840.1.113883.2.1.3.2.4.17.22"
	// SystemDispense is 2.16.840.1.113883.2.1.3.2.4.16.34: release rejection reasons and
	// the generic 5000 "Unable to process message".
	SystemDispense = "2.16.840.1.113883.2.1.3.2.4.16.34"
	// SystemCancel is 2.16.840.1.113883.2.1.3.2.4.17.19: cancellation response codes.
	SystemCancel = "2.16.840.1.113883.2.1.3.2.4.17.19"
	// SystemTransport is 2.16.840.1.113883.2.1.3.2.4.17.32: Spine acknowledgement
	// exception codes (wrapper and transport level).
	SystemTransport = "2.16.840.1.113883.2.1.3.2.4.17.32"
)

// Code is one coded outcome: a value in a code system with the display text the
// Spine sends with it.
type Code struct {
	System  string `json:"system"`
	Value   string `json:"code"`
	Display string `json:"display"`
}

func (c Code) String() string { return c.Value + " " + c.Display }

// IsZero reports whether c is the empty code.
func (c Code) IsZero() bool { return c.Value == "" }

// With returns c with extra text appended to its display, the way the Spine adds
// detail to 5000 "Unable to process message. Information missing or invalid - …".
func (c Code) With(detail string) Code {
	if detail == "" {
		return c
	}
	c.Display = c.Display + " - " + detail
	return c
}

// Kind classifies a failure so the edge picks the right acknowledgement type.
type Kind int

const (
	// KindBusiness is a well-formed message refused by a business rule: HL7 AE.
	KindBusiness Kind = iota
	// KindInvalid is a message that is malformed or fails validation: HL7 AR
	// at the wrapper level, AE with 5000 once the payload is understood.
	KindInvalid
	// KindUnsupported is an interaction this service does not handle.
	KindUnsupported
	// KindConflict is a lost optimistic-locking race; the caller retries.
	KindConflict
	// KindInternal is a fault of ours (store down, bug): never the sender's fault.
	KindInternal
	// KindRejected is a message refused as a whole before anything in it
	// could be used (not readable as an EPS interaction, a message ID reused
	// by another interaction): HL7 AR, where a rule broken is AE.
	KindRejected
)

func (k Kind) String() string {
	switch k {
	case KindBusiness:
		return "business"
	case KindInvalid:
		return "invalid"
	case KindUnsupported:
		return "unsupported"
	case KindConflict:
		return "conflict"
	case KindInternal:
		return "internal"
	case KindRejected:
		return "rejected"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a failure with an EPS code. Op says what was being done
// ("create 24F5DA-A83008-7EFE6Z"), Detail is free text for logs and the
// ack's display, Err is the underlying cause if any.
type Error struct {
	Op     string
	Kind   Kind
	Code   Code
	Detail string
	Err    error
}

func (e *Error) Error() string {
	msg := e.Code.Value + " " + e.Code.Display
	if e.Detail != "" && !strings.Contains(msg, e.Detail) {
		msg += ": " + e.Detail
	}
	if e.Op != "" {
		msg = e.Op + ": " + msg
	}
	if e.Err != nil && !strings.Contains(msg, e.Err.Error()) {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns a business error with code c.
func New(c Code, detail string) *Error {
	return &Error{Kind: KindBusiness, Code: c, Detail: detail}
}

// Invalid returns a validation error: 5000 "Unable to process message" with detail.
func Invalid(format string, args ...any) *Error {
	d := fmt.Sprintf(format, args...)
	return &Error{Kind: KindInvalid, Code: UnableToProcess.With(d), Detail: d}
}

// InvalidCode returns a validation error carrying a specific code.
func InvalidCode(c Code, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: c, Detail: fmt.Sprintf(format, args...)}
}

// Internal wraps a fault of ours.
func Internal(op string, err error) *Error {
	return &Error{Op: op, Kind: KindInternal, Code: FailureToProcess, Err: err}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// CodeOf returns the EPS code carried by err; a plain error maps to 9999
// "Failure to process message".
func CodeOf(err error) Code {
	if e := As(err); e != nil {
		return e.Code
	}
	return FailureToProcess
}

// KindOf returns the kind of err; a plain error is internal.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return KindInternal
}

// Wrap adds an operation to err, keeping its code. It is meant for deferred use:
//
//	defer epserr.Wrap(&err, "release %s", id)
func Wrap(errp *error, format string, args ...any) {
	if *errp == nil {
		return
	}
	op := fmt.Sprintf(format, args...)
	if e := As(*errp); e != nil {
		c := *e
		if c.Op == "" {
			c.Op = op
		} else {
			c.Op = op + ": " + c.Op
		}
		*errp = &c
		return
	}
	*errp = fmt.Errorf("%s: %w", op, *errp)
}
