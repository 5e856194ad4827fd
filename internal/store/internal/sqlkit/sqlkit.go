package sqlkit

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openeps/openeps/internal/store"
)

// Times are kept to the microsecond (what PostgreSQL's timestamptz holds) and
// handed back in UTC, so both backends return the same value for the same
// input.

// Micros is t as microseconds since the Unix epoch. The zero time maps to its
// own (very negative) value, so it sorts before every real time: an outbox
// item with no NextAttemptAt is due at once.
func Micros(t time.Time) int64 { return t.UnixMicro() }

var zeroMicros = time.Time{}.UnixMicro()

// FromMicros reverses Micros; the zero time comes back as time.Time{}.
func FromMicros(us int64) time.Time {
	if us == zeroMicros {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// Stamp is t as stored by a backend with a native time type: truncated to the
// microsecond, in UTC.
func Stamp(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// Unstamp normalises a time read back from a backend with a native time type.
func Unstamp(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// ErrInvalid is store.ErrInvalid, short for the checks below.
var ErrInvalid = store.ErrInvalid

// CheckRecord checks a PutRecord call.
func CheckRecord(r store.Record, prevSCN int64) error {
	switch {
	case r.Key == "":
		return fmt.Errorf("put record: %w: empty key", ErrInvalid)
	case prevSCN < 0:
		return fmt.Errorf("put record %s: %w: negative previous SCN %d", r.Key, ErrInvalid, prevSCN)
	case r.SCN <= prevSCN:
		return fmt.Errorf("put record %s: %w: SCN %d must be greater than the previous %d", r.Key, ErrInvalid, r.SCN, prevSCN)
	}
	x := r.Index
	return CheckText("put record", r.Key, x.PrescriptionID, x.NHSNumber, x.Status, x.TreatmentType, x.NominatedODS,
		x.DispenserODS, x.PrescriberODS, x.NextActivity, x.NextActivityAt)
}

// CheckText refuses text PostgreSQL cannot hold in a TEXT column (invalid
// UTF-8, NUL). Both backends check, so that code tested on SQLite meets the
// same refusal it would meet in production on PostgreSQL, and meets it as
// ErrInvalid before a statement fails (which in PostgreSQL would abort the
// whole transaction).
func CheckText(what string, fields ...string) error {
	for _, f := range fields {
		if !Storable(f) {
			return fmt.Errorf("%s: %w: text %q is not valid UTF-8 without NUL", what, ErrInvalid, f)
		}
	}
	return nil
}

// Storable reports whether every string could have been stored. A lookup by
// a key that could not have been stored finds nothing, and says so without
// asking the database.
func Storable(fields ...string) bool {
	for _, f := range fields {
		if !utf8.ValidString(f) || strings.IndexByte(f, 0) >= 0 {
			return false
		}
	}
	return true
}

// CheckKey checks that a key a write needs is present.
func CheckKey(what, key string) error {
	if key == "" {
		return fmt.Errorf("%s: %w: empty key", what, ErrInvalid)
	}
	return nil
}

// OutboxState checks an outbox state. "" becomes pending when a default is
// allowed (Enqueue) and is refused when it is not (UpdateOutbox).
func OutboxState(s store.OutboxState, allowEmpty bool) (store.OutboxState, error) {
	switch s {
	case "":
		if allowEmpty {
			return store.OutboxPending, nil
		}
	case store.OutboxPending, store.OutboxDone, store.OutboxFailed:
		return s, nil
	}
	return "", fmt.Errorf("%w: unknown outbox state %q", ErrInvalid, s)
}

// InboxState checks an inbox state, like OutboxState; "" becomes new.
func InboxState(s store.InboxState, allowEmpty bool) (store.InboxState, error) {
	switch s {
	case "":
		if allowEmpty {
			return store.InboxNew, nil
		}
	case store.InboxNew, store.InboxDelivered:
		return s, nil
	}
	return "", fmt.Errorf("%w: unknown inbox state %q", ErrInvalid, s)
}

// NewCounts returns a Counts whose state maps hold every known state at zero,
// so that a gauge for an empty state reads 0 rather than disappearing.
func NewCounts() store.Counts {
	return store.Counts{
		Outbox: map[store.OutboxState]int{store.OutboxPending: 0, store.OutboxDone: 0, store.OutboxFailed: 0},
		Inbox:  map[store.InboxState]int{store.InboxNew: 0, store.InboxDelivered: 0},
	}
}

// NonNil returns b, or an empty slice for nil, for NOT NULL byte columns.
func NonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// RecordColumns are the columns of the records table, in the order
// ScanRecord-style code reads them.
const RecordColumns = "key, scn, data, prescription_id, nhs_number, status, treatment_type, " +
	"nominated_ods, dispenser_ods, prescriber_ods, next_activity, next_activity_at, created_at, updated_at"

// RecordSelect builds the SELECT for q. placeholder(n) spells the n-th
// (1-based) bind parameter in the backend's dialect.
//
// Ordering: OrderByCreated wins when set (nominated release hands out the
// oldest first even when it also filters on a date); otherwise DueBy orders
// by date; otherwise prescription ID. The key breaks ties so paging is stable.
func RecordSelect(q store.RecordQuery, placeholder func(n int) string) (string, []any) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.Replace(cond, "?", placeholder(len(args)), 1))
	}
	if q.NHSNumber != "" {
		add("nhs_number = ?", q.NHSNumber)
	}
	if q.NominatedODS != "" {
		add("nominated_ods = ?", q.NominatedODS)
	}
	if q.Status != "" {
		add("status = ?", q.Status)
	}
	if q.PrescriberODS != "" {
		add("prescriber_ods = ?", q.PrescriberODS)
	}
	if q.DispenserODS != "" {
		add("dispenser_ods = ?", q.DispenserODS)
	}
	if q.DueBy != "" {
		// The literal test lets both engines use the partial index on the date.
		where = append(where, "next_activity_at <> ''")
		add("next_activity_at <= ?", q.DueBy)
	}
	var sb strings.Builder
	sb.WriteString("SELECT ")
	sb.WriteString(RecordColumns)
	sb.WriteString(" FROM records")
	if len(where) > 0 {
		sb.WriteString(" WHERE ")
		sb.WriteString(strings.Join(where, " AND "))
	}
	switch {
	case q.OrderByCreated:
		sb.WriteString(" ORDER BY created_at, key")
	case q.DueBy != "":
		sb.WriteString(" ORDER BY next_activity_at, key")
	default:
		sb.WriteString(" ORDER BY prescription_id, key")
	}
	if q.Limit > 0 {
		sb.WriteString(" LIMIT ")
		sb.WriteString(strconv.Itoa(q.Limit))
	}
	return sb.String(), args
}

// Backoff is how long to wait before attempt n+1 (n counts from 1) after a
// conflict: exponential from base, capped, with full jitter so that writers
// that collided do not collide again in step.
func Backoff(n int, base, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}
