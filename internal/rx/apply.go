package rx

import (
	"fmt"
	"time"

	"github.com/openeps/openeps/internal/epserr"
)

// Apply applies one inbound message to rec, the record stored under the
// message's prescription ID (nil if none): any input type but
// NominatedReleaseRequest, which needs the candidate records (ReleaseNominated).
// It never changes rec; the new record, if any, is in the Outcome. A message
// whose ID is in rec's change log is a replay and gets its first answer again
// (ESS check_for_replay).
func Apply(cfg Config, rec *Record, in any, now time.Time) (out Outcome, err error) {
	in = deref(in)
	if p, ok := in.(Prescription); ok {
		return Create(cfg, rec, p, now)
	}
	m, ok := in.(Input)
	if !ok {
		return Outcome{}, unsupported(in)
	}
	meta := m.meta()
	defer epserr.Wrap(&err, "%s %s", meta.Interaction, prescriptionIDOf(in))
	if o, ok := replayOf(rec, meta); ok {
		return o, nil
	}
	if rec != nil && rec.Current() == nil {
		// A record whose current issue is missing (a damaged or migrated
		// record, ESS _handle_missing_issue): ours to fix, not the sender's.
		return Outcome{}, epserr.Internal("apply", fmt.Errorf("record %s has no issue %d", rec.Key(), rec.CurrentIssue))
	}
	switch v := in.(type) {
	case CancelRequest:
		return cancel(cfg, rec, v, now)
	case PatientReleaseRequest:
		return patientRelease(cfg, rec, v, now)
	case DispenseProposalReturn:
		return proposalReturn(cfg, rec, v, now)
	case DispenseNotification:
		return dispense(cfg, rec, v, now)
	case DispenseClaim:
		return claim(cfg, rec, v, now)
	case DispenserWithdraw:
		return withdraw(cfg, rec, v, now)
	case RebuildDispenseHistory:
		return rebuild(cfg, rec, v, now)
	case NominatedReleaseRequest:
		return Outcome{}, &epserr.Error{Kind: epserr.KindUnsupported, Code: epserr.InvalidMessage,
			Detail: "rx: a nominated release request goes to ReleaseNominated"}
	}
	return Outcome{}, unsupported(in)
}

func unsupported(in any) error {
	return &epserr.Error{Kind: epserr.KindUnsupported, Code: epserr.InvalidMessage,
		Detail: fmt.Sprintf("rx: no lifecycle rule for %T", in)}
}

// deref lets callers pass pointers to the input types.
func deref(in any) any {
	switch v := in.(type) {
	case *Prescription:
		if v != nil {
			return *v
		}
	case *CancelRequest:
		if v != nil {
			return *v
		}
	case *PatientReleaseRequest:
		if v != nil {
			return *v
		}
	case *NominatedReleaseRequest:
		if v != nil {
			return *v
		}
	case *DispenseProposalReturn:
		if v != nil {
			return *v
		}
	case *DispenseNotification:
		if v != nil {
			return *v
		}
	case *DispenseClaim:
		if v != nil {
			return *v
		}
	case *DispenserWithdraw:
		if v != nil {
			return *v
		}
	case *RebuildDispenseHistory:
		if v != nil {
			return *v
		}
	}
	return in
}

// PrescriptionIDOf returns the prescription ID an input is about ("" for a
// nominated release request, which names none): the service loads the record
// under KeyOf of it.
func PrescriptionIDOf(in any) string { return prescriptionIDOf(deref(in)) }

func prescriptionIDOf(in any) string {
	switch v := in.(type) {
	case Prescription:
		return v.ID
	case CancelRequest:
		return v.PrescriptionID
	case PatientReleaseRequest:
		return v.PrescriptionID
	case DispenseProposalReturn:
		return v.PrescriptionID
	case DispenseNotification:
		return v.PrescriptionID
	case DispenseClaim:
		return v.PrescriptionID
	case DispenserWithdraw:
		return v.PrescriptionID
	case RebuildDispenseHistory:
		return v.PrescriptionID
	}
	return ""
}

// MetaOf returns an input's Meta.
func MetaOf(in any) (Meta, bool) {
	if m, ok := deref(in).(Input); ok {
		return m.meta(), true
	}
	return Meta{}, false
}
