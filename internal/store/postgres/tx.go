package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/internal/sqlkit"
)

var errFinished = errors.New("postgres store: transaction used after its function returned")

type readTx struct {
	tx pgx.Tx
	// forUpdate is appended to Record's SELECT in a read-write transaction.
	forUpdate string
	finished  atomic.Bool
}

type writeTx struct{ readTx }

var (
	_ store.ReadTx = (*readTx)(nil)
	_ store.Tx     = (*writeTx)(nil)
)

func (t *readTx) finish() { t.finished.Store(true) }

func ph(n int) string { return "$" + strconv.Itoa(n) }

func (t *readTx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	if t.finished.Load() {
		return 0, errFinished
	}
	tag, err := t.tx.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// query runs a SELECT and calls scan once for each row.
func (t *readTx) query(ctx context.Context, scan func(pgx.Rows) error, query string, args ...any) error {
	if t.finished.Load() {
		return errFinished
	}
	rows, err := t.tx.Query(ctx, query, args...)
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

func scanRecord(rows pgx.Rows) (store.Record, error) {
	var r store.Record
	x := &r.Index
	err := rows.Scan(&r.Key, &r.SCN, &r.Data, &x.PrescriptionID, &x.NHSNumber, &x.Status, &x.TreatmentType,
		&x.NominatedODS, &x.DispenserODS, &x.PrescriberODS, &x.NextActivity, &x.NextActivityAt, &x.CreatedAt, &x.UpdatedAt)
	x.CreatedAt, x.UpdatedAt = sqlkit.Unstamp(x.CreatedAt), sqlkit.Unstamp(x.UpdatedAt)
	return r, err
}

func (t *readTx) Record(ctx context.Context, key string) (store.Record, error) {
	if !sqlkit.Storable(key) {
		return store.Record{}, fmt.Errorf("record %q: %w", key, store.ErrNotFound)
	}
	var out []store.Record
	err := t.query(ctx, func(rows pgx.Rows) error {
		r, err := scanRecord(rows)
		out = append(out, r)
		return err
	}, "SELECT "+sqlkit.RecordColumns+" FROM records WHERE key = $1"+t.forUpdate, key)
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
	query, args := sqlkit.RecordSelect(q, ph)
	var out []store.Record
	err := t.query(ctx, func(rows pgx.Rows) error {
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

func scanMessage(rows pgx.Rows, withBodies bool) (store.Message, error) {
	var m store.Message
	dest := []any{&m.ID, &m.Interaction, &m.RecordKey, &m.Sender, &m.ReceivedAt, &m.ResponseInteraction, &m.Outcome}
	var raw, resp []byte
	if withBodies {
		dest = append(dest, &raw, &resp)
	}
	if err := rows.Scan(dest...); err != nil {
		return m, err
	}
	m.ReceivedAt = sqlkit.Unstamp(m.ReceivedAt)
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
	err := t.query(ctx, func(rows pgx.Rows) error {
		m, err := scanMessage(rows, true)
		out = append(out, m)
		return err
	}, "SELECT "+messageColumns+", raw, response FROM messages WHERE id = $1", id)
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
	err := t.query(ctx, func(rows pgx.Rows) error {
		m, err := scanMessage(rows, withBodies)
		out = append(out, m)
		return err
	}, "SELECT "+cols+" FROM messages WHERE record_key = $1 ORDER BY received_at, seq", recordKey)
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
		args = append(args, string(state))
		where = append(where, "state = "+ph(len(args)))
	}
	if !due.IsZero() {
		args = append(args, sqlkit.Stamp(due))
		where = append(where, "next_attempt_at <= "+ph(len(args)))
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
	if t.forUpdate != "" {
		// In a read-write transaction the items read are being claimed:
		// lock them, and pass over those another worker has claimed, so two
		// workers on one database never send the same item at once.
		query += " FOR UPDATE SKIP LOCKED"
	}
	var out []store.OutboxItem
	err := t.query(ctx, func(rows pgx.Rows) error {
		var it store.OutboxItem
		var body []byte
		var st string
		var attempts int32
		if err := rows.Scan(&it.ID, &it.CreatedAt, &it.Destination, &it.Interaction, &it.RefToMessage, &it.Conversation,
			&st, &attempts, &it.NextAttemptAt, &it.LastError, &body); err != nil {
			return err
		}
		it.State, it.Attempts = store.OutboxState(st), int(attempts)
		it.CreatedAt, it.NextAttemptAt = sqlkit.Unstamp(it.CreatedAt), sqlkit.Unstamp(it.NextAttemptAt)
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
	err := t.query(ctx, func(rows pgx.Rows) error {
		var kind, state string
		var n int64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return err
		}
		switch kind {
		case "records":
			c.Records = int(n)
		case "messages":
			c.Messages = int(n)
		case "receipts":
			c.Receipts = int(n)
		case "parties":
			c.Parties = int(n)
		case "outbox":
			c.Outbox[store.OutboxState(state)] = int(n)
		case "inbox":
			c.Inbox[store.InboxState(state)] = int(n)
		}
		return nil
	}, `SELECT 'records', '', count(*) FROM records
		UNION ALL SELECT 'messages', '', count(*) FROM messages
		UNION ALL SELECT 'receipts', '', count(*) FROM receipts
		UNION ALL SELECT 'parties', '', count(*) FROM parties
		UNION ALL SELECT 'outbox', state, count(*) FROM outbox GROUP BY state
		UNION ALL SELECT 'inbox', state, count(*) FROM inbox GROUP BY state`)
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
	err := t.query(ctx, func(rows pgx.Rows) error {
		var r store.Receipt
		var resp []byte
		if err := rows.Scan(&r.MessageID, &r.FromParty, &r.ReceivedAt, &r.ContentType, &resp); err != nil {
			return err
		}
		r.ReceivedAt = sqlkit.Unstamp(r.ReceivedAt)
		var err error
		r.Response, err = sqlkit.Unpack(resp)
		out = append(out, r)
		return err
	}, "SELECT message_id, from_party, received_at, content_type, response FROM receipts WHERE message_id = $1", messageID)
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
		"FROM inbox WHERE seq > $1"
	args := []any{afterSeq}
	if state != "" {
		query, args = query+" AND state = $2", append(args, string(state))
	}
	query += " ORDER BY seq"
	if limit > 0 {
		query += " LIMIT " + strconv.Itoa(limit)
	}
	var out []store.InboxItem
	err := t.query(ctx, func(rows pgx.Rows) error {
		var it store.InboxItem
		var st string
		var data []byte
		if err := rows.Scan(&it.Seq, &it.MessageID, &it.Interaction, &it.CorrelationID, &it.RefToMessage,
			&it.ReceivedAt, &st, &data); err != nil {
			return err
		}
		it.ReceivedAt, it.State = sqlkit.Unstamp(it.ReceivedAt), store.InboxState(st)
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
			args = append(args, f.v)
			where = append(where, f.col+" = "+ph(len(args)))
		}
	}
	query := "SELECT key, asid, ods, data FROM parties"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY key"
	var out []store.Party
	err := t.query(ctx, func(rows pgx.Rows) error {
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

// Writes. Expected refusals (a create that finds the key taken, a duplicate
// ID) are found with ON CONFLICT DO NOTHING and a row count, never with a
// failed statement: in PostgreSQL a failed statement aborts the whole
// transaction, and the caller may want to carry on after ErrDuplicate.

func (t *writeTx) PutRecord(ctx context.Context, r store.Record, prevSCN int64) error {
	if err := sqlkit.CheckRecord(r, prevSCN); err != nil {
		return err
	}
	x := r.Index
	args := []any{r.SCN, x.PrescriptionID, x.NHSNumber, x.Status, x.TreatmentType, x.NominatedODS, x.DispenserODS,
		x.PrescriberODS, x.NextActivity, x.NextActivityAt, sqlkit.Stamp(x.CreatedAt), sqlkit.Stamp(x.UpdatedAt),
		sqlkit.NonNil(r.Data), r.Key}
	var n int64
	var err error
	if prevSCN == 0 {
		n, err = t.exec(ctx, "INSERT INTO records (scn, prescription_id, nhs_number, status, treatment_type, "+
			"nominated_ods, dispenser_ods, prescriber_ods, next_activity, next_activity_at, created_at, updated_at, data, key) "+
			"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (key) DO NOTHING", args...)
	} else {
		n, err = t.exec(ctx, "UPDATE records SET scn = $1, prescription_id = $2, nhs_number = $3, status = $4, "+
			"treatment_type = $5, nominated_ods = $6, dispenser_ods = $7, prescriber_ods = $8, next_activity = $9, "+
			"next_activity_at = $10, created_at = $11, updated_at = $12, data = $13 WHERE key = $14 AND scn = $15",
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
	n, err := t.exec(ctx, "DELETE FROM records WHERE key = $1", key)
	if err != nil {
		return fmt.Errorf("delete record %s: %w", key, err)
	}
	if n == 0 {
		return fmt.Errorf("delete record %s: %w", key, store.ErrNotFound)
	}
	if _, err := t.exec(ctx, "DELETE FROM messages WHERE record_key = $1", key); err != nil {
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
	n, err := t.exec(ctx, "INSERT INTO messages (id, interaction, record_key, sender, received_at, "+
		"response_interaction, outcome, raw, response) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
		m.ID, m.Interaction, m.RecordKey, m.Sender, sqlkit.Stamp(m.ReceivedAt), m.ResponseInteraction, m.Outcome,
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
	n, err := t.exec(ctx, "INSERT INTO outbox (id, created_at, destination, interaction, ref_to_message, "+
		"conversation, state, attempts, next_attempt_at, last_error, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "+
		"ON CONFLICT (id) DO NOTHING",
		it.ID, sqlkit.Stamp(it.CreatedAt), it.Destination, it.Interaction, it.RefToMessage, it.Conversation,
		string(state), int32(it.Attempts), sqlkit.Stamp(it.NextAttemptAt), it.LastError, sqlkit.Pack(it.Body))
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
	n, err := t.exec(ctx, "UPDATE outbox SET state = $1, attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $5",
		string(state), int32(it.Attempts), sqlkit.Stamp(it.NextAttemptAt), it.LastError, it.ID)
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
	n, err := t.exec(ctx, "INSERT INTO receipts (message_id, from_party, received_at, content_type, response) "+
		"VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO NOTHING",
		r.MessageID, r.FromParty, sqlkit.Stamp(r.ReceivedAt), r.ContentType, sqlkit.Pack(r.Response))
	if err != nil {
		return fmt.Errorf("put receipt %s: %w", r.MessageID, err)
	}
	if n == 0 {
		return fmt.Errorf("put receipt %s: %w", r.MessageID, store.ErrDuplicate)
	}
	return nil
}

func (t *writeTx) PruneReceipts(ctx context.Context, before time.Time) (int, error) {
	n, err := t.exec(ctx, "DELETE FROM receipts WHERE received_at < $1", sqlkit.Stamp(before))
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
	// Look before taking the counter, so a duplicate does not queue behind
	// other inbox writers (the INSERT below still catches a racing twin).
	var exists []int64
	if err := t.query(ctx, func(rows pgx.Rows) error {
		var s int64
		err := rows.Scan(&s)
		exists = append(exists, s)
		return err
	}, "SELECT seq FROM inbox WHERE message_id = $1", it.MessageID); err != nil {
		return 0, fmt.Errorf("put inbox %s: %w", it.MessageID, err)
	}
	if len(exists) > 0 {
		return 0, fmt.Errorf("put inbox %s: %w", it.MessageID, store.ErrDuplicate)
	}
	var seqs []int64
	if err := t.query(ctx, func(rows pgx.Rows) error {
		var s int64
		err := rows.Scan(&s)
		seqs = append(seqs, s)
		return err
	}, "UPDATE inbox_seq SET last = last + 1 WHERE id = 1 RETURNING last"); err != nil {
		return 0, fmt.Errorf("put inbox %s: next seq: %w", it.MessageID, err)
	}
	if len(seqs) != 1 {
		return 0, fmt.Errorf("put inbox %s: the inbox_seq counter row is missing", it.MessageID)
	}
	n, err := t.exec(ctx, "INSERT INTO inbox (seq, message_id, interaction, correlation_id, ref_to_message, "+
		"received_at, state, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING",
		seqs[0], it.MessageID, it.Interaction, it.CorrelationID, it.RefToMessage, sqlkit.Stamp(it.ReceivedAt),
		string(state), sqlkit.Pack(it.Data))
	if err != nil {
		return 0, fmt.Errorf("put inbox %s: %w", it.MessageID, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("put inbox %s: %w", it.MessageID, store.ErrDuplicate)
	}
	return seqs[0], nil
}

func (t *writeTx) SetInboxState(ctx context.Context, seq int64, state store.InboxState) error {
	st, err := sqlkit.InboxState(state, false)
	if err != nil {
		return fmt.Errorf("set inbox %d state: %w", seq, err)
	}
	n, err := t.exec(ctx, "UPDATE inbox SET state = $1 WHERE seq = $2", string(st), seq)
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
	_, err := t.exec(ctx, "INSERT INTO parties (key, asid, ods, data) VALUES ($1, $2, $3, $4) "+
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
	n, err := t.exec(ctx, "DELETE FROM parties WHERE key = $1", key)
	if err != nil {
		return fmt.Errorf("delete party %s: %w", key, err)
	}
	if n == 0 {
		return fmt.Errorf("delete party %s: %w", key, store.ErrNotFound)
	}
	return nil
}
