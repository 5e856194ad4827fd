package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/internal/sqlkit"
)

// querier is what both a reader's *sql.Tx and the writer offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// errFinished: a function kept its tx and used it after returning.
var errFinished = errors.New("sqlite store: transaction used after its function returned")

type readTx struct {
	q querier
	// detach runs statements without the caller's cancellation: the driver
	// answers a cancelled context with sqlite3_interrupt, which would roll
	// back the whole batch, every other caller's writes included.
	detach   bool
	finished atomic.Bool
}

type writeTx struct{ readTx }

var (
	_ store.ReadTx = (*readTx)(nil)
	_ store.Tx     = (*writeTx)(nil)
)

func (t *readTx) finish() { t.finished.Store(true) }

func (t *readTx) ctx(ctx context.Context) (context.Context, error) {
	if t.finished.Load() {
		return nil, errFinished
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t.detach {
		return context.WithoutCancel(ctx), nil
	}
	return ctx, nil
}

func (t *readTx) exec(ctx context.Context, query string, args ...any) (int64, int64, error) {
	ctx, err := t.ctx(ctx)
	if err != nil {
		return 0, 0, err
	}
	res, err := t.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, 0, err
	}
	id, _ := res.LastInsertId() // only meaningful for inserts; callers that need it check n first
	return n, id, nil
}

// query runs a SELECT and calls scan once for each row.
func (t *readTx) query(ctx context.Context, scan func(*sql.Rows) error, query string, args ...any) error {
	ctx, err := t.ctx(ctx)
	if err != nil {
		return err
	}
	rows, err := t.q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func scanRecord(rows *sql.Rows) (store.Record, error) {
	var r store.Record
	var created, updated int64
	x := &r.Index
	err := rows.Scan(&r.Key, &r.SCN, &r.Data, &x.PrescriptionID, &x.NHSNumber, &x.Status, &x.TreatmentType,
		&x.NominatedODS, &x.DispenserODS, &x.PrescriberODS, &x.NextActivity, &x.NextActivityAt, &created, &updated)
	x.CreatedAt, x.UpdatedAt = sqlkit.FromMicros(created), sqlkit.FromMicros(updated)
	return r, err
}

func (t *readTx) Record(ctx context.Context, key string) (store.Record, error) {
	if !sqlkit.Storable(key) {
		return store.Record{}, fmt.Errorf("record %q: %w", key, store.ErrNotFound)
	}
	var out []store.Record
	err := t.query(ctx, func(rows *sql.Rows) error {
		r, err := scanRecord(rows)
		out = append(out, r)
		return err
	}, "SELECT "+sqlkit.RecordColumns+" FROM records WHERE key = ?", key)
	if err != nil {
		return store.Record{}, fmt.Errorf("record %s: %w", key, err)
	}
	if len(out) == 0 {
		return store.Record{}, fmt.Errorf("record %s: %w", key, store.ErrNotFound)
	}
	return out[0], nil
}

func (t *readTx) FindRecords(ctx context.Context, q store.RecordQuery) ([]store.Record, error) {
	if !sqlkit.Storable(q.NHSNumber, q.NominatedODS, q.Status, q.PrescriberODS, q.DispenserODS, q.DueBy) {
		return nil, nil
	}
	query, args := sqlkit.RecordSelect(q, func(int) string { return "?" })
	var out []store.Record
	err := t.query(ctx, func(rows *sql.Rows) error {
		r, err := scanRecord(rows)
		out = append(out, r)
		return err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("find records: %w", err)
	}
	return out, nil
}

const messageColumns = "id, interaction, record_key, sender, received_at, response_interaction, outcome"

func scanMessage(rows *sql.Rows, withBodies bool) (store.Message, error) {
	var m store.Message
	var received int64
	dest := []any{&m.ID, &m.Interaction, &m.RecordKey, &m.Sender, &received, &m.ResponseInteraction, &m.Outcome}
	var raw, resp []byte
	if withBodies {
		dest = append(dest, &raw, &resp)
	}
	if err := rows.Scan(dest...); err != nil {
		return m, err
	}
	m.ReceivedAt = sqlkit.FromMicros(received)
	if withBodies {
		var err error
		if m.Raw, err = sqlkit.Unpack(raw); err != nil {
			return m, fmt.Errorf("message %s raw: %w", m.ID, err)
		}
		if m.Response, err = sqlkit.Unpack(resp); err != nil {
			return m, fmt.Errorf("message %s response: %w", m.ID, err)
		}
	}
	return m, nil
}

func (t *readTx) Message(ctx context.Context, id string) (store.Message, error) {
	if !sqlkit.Storable(id) {
		return store.Message{}, fmt.Errorf("message %q: %w", id, store.ErrNotFound)
	}
	var out []store.Message
	err := t.query(ctx, func(rows *sql.Rows) error {
		m, err := scanMessage(rows, true)
		out = append(out, m)
		return err
	}, "SELECT "+messageColumns+", raw, response FROM messages WHERE id = ?", id)
	if err != nil {
		return store.Message{}, fmt.Errorf("message %s: %w", id, err)
	}
	if len(out) == 0 {
		return store.Message{}, fmt.Errorf("message %s: %w", id, store.ErrNotFound)
	}
	return out[0], nil
}

func (t *readTx) MessagesFor(ctx context.Context, recordKey string, withBodies bool) ([]store.Message, error) {
	if !sqlkit.Storable(recordKey) {
		return nil, nil
	}
	cols := messageColumns
	if withBodies {
		cols += ", raw, response"
	}
	var out []store.Message
	// rowid breaks ties in arrival order.
	err := t.query(ctx, func(rows *sql.Rows) error {
		m, err := scanMessage(rows, withBodies)
		out = append(out, m)
		return err
	}, "SELECT "+cols+" FROM messages WHERE record_key = ? ORDER BY received_at, rowid", recordKey)
	if err != nil {
		return nil, fmt.Errorf("messages for %s: %w", recordKey, err)
	}
	return out, nil
}

func (t *readTx) Outbox(ctx context.Context, state store.OutboxState, due time.Time, limit int) ([]store.OutboxItem, error) {
	if !sqlkit.Storable(string(state)) {
		return nil, nil
	}
	var where []string
	var args []any
	if state != "" {
		where, args = append(where, "state = ?"), append(args, string(state))
	}
	if !due.IsZero() {
		where, args = append(where, "next_attempt_at <= ?"), append(args, sqlkit.Micros(due))
	}
	query := "SELECT id, created_at, destination, interaction, ref_to_message, conversation, state, attempts, " +
		"next_attempt_at, last_error, body FROM outbox"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at, seq"
	if limit > 0 {
		query += " LIMIT " + strconv.Itoa(limit)
	}
	var out []store.OutboxItem
	err := t.query(ctx, func(rows *sql.Rows) error {
		var it store.OutboxItem
		var created, next int64
		var body []byte
		var st string
		if err := rows.Scan(&it.ID, &created, &it.Destination, &it.Interaction, &it.RefToMessage, &it.Conversation,
			&st, &it.Attempts, &next, &it.LastError, &body); err != nil {
			return err
		}
		it.State = store.OutboxState(st)
		it.CreatedAt, it.NextAttemptAt = sqlkit.FromMicros(created), sqlkit.FromMicros(next)
		var err error
		if it.Body, err = sqlkit.Unpack(body); err != nil {
			return fmt.Errorf("outbox %s: %w", it.ID, err)
		}
		out = append(out, it)
		return nil
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return out, nil
}

func (t *readTx) Counts(ctx context.Context) (store.Counts, error) {
	c := sqlkit.NewCounts()
	err := t.query(ctx, func(rows *sql.Rows) error {
		return rows.Scan(&c.Records, &c.Messages, &c.Receipts, &c.Parties)
	}, "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM messages), "+
		"(SELECT count(*) FROM receipts), (SELECT count(*) FROM parties)")
	if err == nil {
		err = t.query(ctx, func(rows *sql.Rows) error {
			var st string
			var n int
			err := rows.Scan(&st, &n)
			c.Outbox[store.OutboxState(st)] = n
			return err
		}, "SELECT state, count(*) FROM outbox GROUP BY state")
	}
	if err == nil {
		err = t.query(ctx, func(rows *sql.Rows) error {
			var st string
			var n int
			err := rows.Scan(&st, &n)
			c.Inbox[store.InboxState(st)] = n
			return err
		}, "SELECT state, count(*) FROM inbox GROUP BY state")
	}
	if err != nil {
		return store.Counts{}, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}

func (t *readTx) Receipt(ctx context.Context, messageID string) (store.Receipt, error) {
	if !sqlkit.Storable(messageID) {
		return store.Receipt{}, fmt.Errorf("receipt %q: %w", messageID, store.ErrNotFound)
	}
	var out []store.Receipt
	err := t.query(ctx, func(rows *sql.Rows) error {
		var r store.Receipt
		var received int64
		var resp []byte
		if err := rows.Scan(&r.MessageID, &r.FromParty, &received, &r.ContentType, &resp); err != nil {
			return err
		}
		r.ReceivedAt = sqlkit.FromMicros(received)
		var err error
		r.Response, err = sqlkit.Unpack(resp)
		out = append(out, r)
		return err
	}, "SELECT message_id, from_party, received_at, content_type, response FROM receipts WHERE message_id = ?", messageID)
	if err != nil {
		return store.Receipt{}, fmt.Errorf("receipt %s: %w", messageID, err)
	}
	if len(out) == 0 {
		return store.Receipt{}, fmt.Errorf("receipt %s: %w", messageID, store.ErrNotFound)
	}
	return out[0], nil
}

func (t *readTx) Inbox(ctx context.Context, afterSeq int64, state store.InboxState, limit int) ([]store.InboxItem, error) {
	if !sqlkit.Storable(string(state)) {
		return nil, nil
	}
	query := "SELECT seq, message_id, interaction, correlation_id, ref_to_message, received_at, state, data " +
		"FROM inbox WHERE seq > ?"
	args := []any{afterSeq}
	if state != "" {
		query, args = query+" AND state = ?", append(args, string(state))
	}
	query += " ORDER BY seq"
	if limit > 0 {
		query += " LIMIT " + strconv.Itoa(limit)
	}
	var out []store.InboxItem
	err := t.query(ctx, func(rows *sql.Rows) error {
		var it store.InboxItem
		var received int64
		var st string
		var data []byte
		if err := rows.Scan(&it.Seq, &it.MessageID, &it.Interaction, &it.CorrelationID, &it.RefToMessage,
			&received, &st, &data); err != nil {
			return err
		}
		it.ReceivedAt, it.State = sqlkit.FromMicros(received), store.InboxState(st)
		var err error
		if it.Data, err = sqlkit.Unpack(data); err != nil {
			return fmt.Errorf("inbox %d: %w", it.Seq, err)
		}
		out = append(out, it)
		return nil
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return out, nil
}

func (t *readTx) Parties(ctx context.Context, q store.PartyQuery) ([]store.Party, error) {
	if !sqlkit.Storable(q.Key, q.ASID, q.ODS) {
		return nil, nil
	}
	var where []string
	var args []any
	for _, f := range []struct{ col, v string }{{"key", q.Key}, {"asid", q.ASID}, {"ods", q.ODS}} {
		if f.v != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.v)
		}
	}
	query := "SELECT key, asid, ods, data FROM parties"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY key"
	var out []store.Party
	err := t.query(ctx, func(rows *sql.Rows) error {
		var p store.Party
		err := rows.Scan(&p.Key, &p.ASID, &p.ODS, &p.Data)
		out = append(out, p)
		return err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("parties: %w", err)
	}
	return out, nil
}

// Writes.

func (t *writeTx) PutRecord(ctx context.Context, r store.Record, prevSCN int64) error {
	if err := sqlkit.CheckRecord(r, prevSCN); err != nil {
		return err
	}
	x := r.Index
	args := []any{r.SCN, x.PrescriptionID, x.NHSNumber, x.Status, x.TreatmentType, x.NominatedODS, x.DispenserODS,
		x.PrescriberODS, x.NextActivity, x.NextActivityAt, sqlkit.Micros(x.CreatedAt), sqlkit.Micros(x.UpdatedAt),
		sqlkit.NonNil(r.Data), r.Key}
	var n int64
	var err error
	if prevSCN == 0 {
		n, _, err = t.exec(ctx, "INSERT INTO records (scn, prescription_id, nhs_number, status, treatment_type, "+
			"nominated_ods, dispenser_ods, prescriber_ods, next_activity, next_activity_at, created_at, updated_at, data, key) "+
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING", args...)
	} else {
		n, _, err = t.exec(ctx, "UPDATE records SET scn = ?, prescription_id = ?, nhs_number = ?, status = ?, "+
			"treatment_type = ?, nominated_ods = ?, dispenser_ods = ?, prescriber_ods = ?, next_activity = ?, "+
			"next_activity_at = ?, created_at = ?, updated_at = ?, data = ? WHERE key = ? AND scn = ?",
			append(args, prevSCN)...)
	}
	switch {
	case err != nil:
		return fmt.Errorf("put record %s: %w", r.Key, err)
	case n == 0 && prevSCN == 0:
		return fmt.Errorf("put record %s: already exists: %w", r.Key, store.ErrConflict)
	case n == 0:
		return fmt.Errorf("put record %s: stored SCN is not %d: %w", r.Key, prevSCN, store.ErrConflict)
	}
	return nil
}

func (t *writeTx) DeleteRecord(ctx context.Context, key string) error {
	if !sqlkit.Storable(key) {
		return fmt.Errorf("delete record %q: %w", key, store.ErrNotFound)
	}
	n, _, err := t.exec(ctx, "DELETE FROM records WHERE key = ?", key)
	if err != nil {
		return fmt.Errorf("delete record %s: %w", key, err)
	}
	if n == 0 {
		return fmt.Errorf("delete record %s: %w", key, store.ErrNotFound)
	}
	if _, _, err := t.exec(ctx, "DELETE FROM messages WHERE record_key = ?", key); err != nil {
		return fmt.Errorf("delete messages of record %s: %w", key, err)
	}
	return nil
}

func (t *writeTx) PutMessage(ctx context.Context, m store.Message) error {
	if err := sqlkit.CheckKey("put message", m.ID); err != nil {
		return err
	}
	if err := sqlkit.CheckText("put message", m.ID, m.Interaction, m.RecordKey, m.Sender, m.ResponseInteraction, m.Outcome); err != nil {
		return err
	}
	n, _, err := t.exec(ctx, "INSERT INTO messages (id, interaction, record_key, sender, received_at, "+
		"response_interaction, outcome, raw, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
		m.ID, m.Interaction, m.RecordKey, m.Sender, sqlkit.Micros(m.ReceivedAt), m.ResponseInteraction, m.Outcome,
		sqlkit.Pack(m.Raw), sqlkit.Pack(m.Response))
	if err != nil {
		return fmt.Errorf("put message %s: %w", m.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("put message %s: %w", m.ID, store.ErrDuplicate)
	}
	return nil
}

func (t *writeTx) Enqueue(ctx context.Context, it store.OutboxItem) error {
	state, err := sqlkit.OutboxState(it.State, true)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", it.ID, err)
	}
	if err := sqlkit.CheckText("enqueue", it.ID, it.Destination, it.Interaction, it.RefToMessage, it.Conversation, it.LastError); err != nil {
		return err
	}
	if it.ID == "" {
		it.ID = ids.NewUUID()
	}
	if it.CreatedAt.IsZero() {
		it.CreatedAt = time.Now()
	}
	n, _, err := t.exec(ctx, "INSERT INTO outbox (id, created_at, destination, interaction, ref_to_message, "+
		"conversation, state, attempts, next_attempt_at, last_error, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "+
		"ON CONFLICT (id) DO NOTHING",
		it.ID, sqlkit.Micros(it.CreatedAt), it.Destination, it.Interaction, it.RefToMessage, it.Conversation,
		string(state), it.Attempts, sqlkit.Micros(it.NextAttemptAt), it.LastError, sqlkit.Pack(it.Body))
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", it.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("enqueue %s: %w", it.ID, store.ErrDuplicate)
	}
	return nil
}

func (t *writeTx) UpdateOutbox(ctx context.Context, it store.OutboxItem) error {
	state, err := sqlkit.OutboxState(it.State, false)
	if err != nil {
		return fmt.Errorf("update outbox %s: %w", it.ID, err)
	}
	if err := sqlkit.CheckText("update outbox", it.ID, it.LastError); err != nil {
		return err
	}
	n, _, err := t.exec(ctx, "UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
		string(state), it.Attempts, sqlkit.Micros(it.NextAttemptAt), it.LastError, it.ID)
	if err != nil {
		return fmt.Errorf("update outbox %s: %w", it.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update outbox %s: %w", it.ID, store.ErrNotFound)
	}
	return nil
}

func (t *writeTx) PutReceipt(ctx context.Context, r store.Receipt) error {
	if err := sqlkit.CheckKey("put receipt", r.MessageID); err != nil {
		return err
	}
	if err := sqlkit.CheckText("put receipt", r.MessageID, r.FromParty, r.ContentType); err != nil {
		return err
	}
	n, _, err := t.exec(ctx, "INSERT INTO receipts (message_id, from_party, received_at, content_type, response) "+
		"VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
		r.MessageID, r.FromParty, sqlkit.Micros(r.ReceivedAt), r.ContentType, sqlkit.Pack(r.Response))
	if err != nil {
		return fmt.Errorf("put receipt %s: %w", r.MessageID, err)
	}
	if n == 0 {
		return fmt.Errorf("put receipt %s: %w", r.MessageID, store.ErrDuplicate)
	}
	return nil
}

func (t *writeTx) PruneReceipts(ctx context.Context, before time.Time) (int, error) {
	n, _, err := t.exec(ctx, "DELETE FROM receipts WHERE received_at < ?", sqlkit.Micros(before))
	if err != nil {
		return 0, fmt.Errorf("prune receipts: %w", err)
	}
	return int(n), nil
}

func (t *writeTx) PutInbox(ctx context.Context, it store.InboxItem) (int64, error) {
	if err := sqlkit.CheckKey("put inbox", it.MessageID); err != nil {
		return 0, err
	}
	if err := sqlkit.CheckText("put inbox", it.MessageID, it.Interaction, it.CorrelationID, it.RefToMessage); err != nil {
		return 0, err
	}
	state, err := sqlkit.InboxState(it.State, true)
	if err != nil {
		return 0, fmt.Errorf("put inbox %s: %w", it.MessageID, err)
	}
	n, seq, err := t.exec(ctx, "INSERT INTO inbox (message_id, interaction, correlation_id, ref_to_message, "+
		"received_at, state, data) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
		it.MessageID, it.Interaction, it.CorrelationID, it.RefToMessage, sqlkit.Micros(it.ReceivedAt), string(state),
		sqlkit.Pack(it.Data))
	if err != nil {
		return 0, fmt.Errorf("put inbox %s: %w", it.MessageID, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("put inbox %s: %w", it.MessageID, store.ErrDuplicate)
	}
	return seq, nil
}

func (t *writeTx) SetInboxState(ctx context.Context, seq int64, state store.InboxState) error {
	st, err := sqlkit.InboxState(state, false)
	if err != nil {
		return fmt.Errorf("set inbox %d state: %w", seq, err)
	}
	n, _, err := t.exec(ctx, "UPDATE inbox SET state = ? WHERE seq = ?", string(st), seq)
	if err != nil {
		return fmt.Errorf("set inbox %d state: %w", seq, err)
	}
	if n == 0 {
		return fmt.Errorf("set inbox %d state: %w", seq, store.ErrNotFound)
	}
	return nil
}

func (t *writeTx) PutParty(ctx context.Context, p store.Party) error {
	if err := sqlkit.CheckKey("put party", p.Key); err != nil {
		return err
	}
	if err := sqlkit.CheckText("put party", p.Key, p.ASID, p.ODS); err != nil {
		return err
	}
	_, _, err := t.exec(ctx, "INSERT INTO parties (key, asid, ods, data) VALUES (?, ?, ?, ?) "+
		"ON CONFLICT (key) DO UPDATE SET asid = excluded.asid, ods = excluded.ods, data = excluded.data",
		p.Key, p.ASID, p.ODS, sqlkit.NonNil(p.Data))
	if err != nil {
		return fmt.Errorf("put party %s: %w", p.Key, err)
	}
	return nil
}

func (t *writeTx) DeleteParty(ctx context.Context, key string) error {
	if !sqlkit.Storable(key) {
		return fmt.Errorf("delete party %q: %w", key, store.ErrNotFound)
	}
	n, _, err := t.exec(ctx, "DELETE FROM parties WHERE key = ?", key)
	if err != nil {
		return fmt.Errorf("delete party %s: %w", key, err)
	}
	if n == 0 {
		return fmt.Errorf("delete party %s: %w", key, store.ErrNotFound)
	}
	return nil
}
