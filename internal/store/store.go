// Package store is the narrow data-access layer of openeps. The Spine keeps
// one record per prescription with a serial change number (SCN) for optimistic
// locking, every inbound message (the legal record, and the key for replay
// detection), and an outbox of messages still to be delivered. Backends
// (store/sqlite, store/postgres) implement Store and must pass the contract
// suite in store/storetest.
//
// The store knows nothing of prescriptions: a record's body is bytes owned by
// the rx package, and the few values queries need travel beside it in Index.
//
// What every backend does alike (the contract suite checks it): times are
// kept to the microsecond and come back in UTC; bodies come back byte for
// byte, an empty one as nil; text fields must be valid UTF-8 without NUL
// (what PostgreSQL can hold), else the write fails with ErrInvalid and a
// lookup by such a key finds nothing.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every backend returns (wrapped with context) so callers can test with errors.Is.
var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the record changed since it was read (its SCN moved on), or a
	// record being created already exists. Update retries the whole function on it.
	ErrConflict = errors.New("conflict: record changed concurrently")
	// ErrDuplicate: a message with that ID is already stored.
	ErrDuplicate = errors.New("duplicate message id")
	// ErrInvalid: a write the store refuses before it reaches the database
	// (an empty key, an SCN that does not move forward, an unknown state).
	// It is a bug in the caller; Update does not retry it.
	ErrInvalid = errors.New("invalid write")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store closed")
)

// Store is a durable home for records, messages and the outbox.
type Store interface {
	// Update runs fn in a read-write transaction and commits it if fn returns
	// nil; a nil result means the writes are durable. fn must not call Update
	// on the same store. A panic in fn rolls its writes back and reaches the
	// caller. If fn or the commit fails with ErrConflict (or the engine reports a
	// serialisation failure), Update runs fn again in a new transaction, up to
	// a bounded number of attempts, so fn must be free of side effects outside tx.
	// Backends may commit several concurrent Updates in one transaction (group
	// commit); each fn still succeeds or fails on its own.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(tx ReadTx) error) error
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store; afterwards every method fails with
	// ErrClosed. Calling it again does nothing.
	Close() error
}

// ReadTx is what can be read inside a transaction.
type ReadTx interface {
	// Record returns the record with that key, or ErrNotFound.
	Record(ctx context.Context, key string) (Record, error)
	// FindRecords returns the records matching q, in a stable order
	// (Index.PrescriptionID ascending unless q says otherwise).
	FindRecords(ctx context.Context, q RecordQuery) ([]Record, error)
	// Message returns the inbound message with that ID, or ErrNotFound.
	Message(ctx context.Context, id string) (Message, error)
	// MessagesFor returns the messages stored against a record key, oldest first.
	// Raw and Response are filled only if withBodies is true.
	MessagesFor(ctx context.Context, recordKey string, withBodies bool) ([]Message, error)
	// Outbox returns outbox items in the given state ("" for any) whose
	// NextAttemptAt is at or before due (zero due: any; a zero NextAttemptAt
	// is always due), oldest CreatedAt first, at most limit (0: no limit).
	Outbox(ctx context.Context, state OutboxState, due time.Time, limit int) ([]OutboxItem, error)
	// Counts returns the number of rows of each kind (for /metrics and tests).
	Counts(ctx context.Context) (Counts, error)
	// Receipt returns what was answered to an ebXML message already received
	// (duplicate elimination that survives a restart), or ErrNotFound.
	Receipt(ctx context.Context, messageID string) (Receipt, error)
	// Inbox returns inbox items with Seq > afterSeq in the given state ("" for
	// any), in Seq order, at most limit (0: no limit).
	Inbox(ctx context.Context, afterSeq int64, state InboxState, limit int) ([]InboxItem, error)
	// Parties returns the directory entries matching q, ordered by key.
	Parties(ctx context.Context, q PartyQuery) ([]Party, error)
}

// Tx is a read-write transaction.
type Tx interface {
	ReadTx
	// PutRecord writes r. If prevSCN is 0 the record must not exist yet
	// (ErrConflict if it does); otherwise the stored SCN must equal prevSCN
	// (ErrConflict if not). r.SCN must be greater than prevSCN.
	PutRecord(ctx context.Context, r Record, prevSCN int64) error
	// DeleteRecord removes a record and the messages stored against it
	// (ErrNotFound, and nothing removed, if there is no such record).
	DeleteRecord(ctx context.Context, key string) error
	// PutMessage stores an inbound message; ErrDuplicate if its ID is taken.
	PutMessage(ctx context.Context, m Message) error
	// Enqueue adds an item to the outbox; its ID is assigned (a UUID) if
	// empty, its State defaults to pending and its CreatedAt to now.
	// ErrDuplicate if the ID is taken.
	Enqueue(ctx context.Context, item OutboxItem) error
	// UpdateOutbox rewrites an item's delivery state (state, attempts,
	// next attempt, last error), found by ID (ErrNotFound if absent); the
	// message itself is not changed.
	UpdateOutbox(ctx context.Context, item OutboxItem) error
	// PutReceipt remembers an ebXML message and the answer sent to it;
	// ErrDuplicate if its MessageId is already there.
	PutReceipt(ctx context.Context, r Receipt) error
	// PruneReceipts forgets receipts received before the given time (after the
	// sender's persist duration) and returns how many went.
	PruneReceipts(ctx context.Context, before time.Time) (int, error)
	// PutInbox adds a received message to the inbox and returns its Seq;
	// ErrDuplicate if an item with the same MessageID is there.
	PutInbox(ctx context.Context, item InboxItem) (int64, error)
	// SetInboxState moves an inbox item to a new state (ErrNotFound if absent).
	SetInboxState(ctx context.Context, seq int64, state InboxState) error
	// PutParty adds or replaces a directory entry.
	PutParty(ctx context.Context, p Party) error
	// DeleteParty removes a directory entry (ErrNotFound if absent).
	DeleteParty(ctx context.Context, key string) error
}

// Record is one prescription as stored.
type Record struct {
	// Key is the prescription ID without its check character (the Spine's key).
	Key string
	// SCN is the serial change number; it rises by at least one on every write.
	SCN int64
	// Data is the record body (JSON, owned by package rx).
	Data []byte
	// Index holds the values queries search on.
	Index Index
}

// Index holds the searchable values of a record, derived from its body.
type Index struct {
	PrescriptionID string // short form with check character
	NHSNumber      string
	Status         string // current issue's prescription status, e.g. "0001"
	TreatmentType  string
	NominatedODS   string // nominated dispenser, "" if none
	DispenserODS   string // who holds it now, "" if nobody
	PrescriberODS  string // prescribing organisation
	NextActivity   string // expire, ready, createNoClaim, delete, purge or ""
	NextActivityAt string // YYYYMMDD, "" if none
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// RecordQuery selects records. Zero fields do not filter. Limit 0 means no limit.
type RecordQuery struct {
	NHSNumber     string
	NominatedODS  string
	Status        string
	PrescriberODS string
	DispenserODS  string
	// DueBy selects records whose NextActivityAt is not empty and at or before
	// this date (YYYYMMDD), ordered by NextActivityAt then key.
	DueBy string
	// OrderByCreated orders by CreatedAt then key (oldest first): the order
	// nominated release hands prescriptions out in. It takes precedence over
	// the order DueBy implies.
	OrderByCreated bool
	Limit          int
}

// Message is an inbound message as stored: the raw bytes as received (the
// legal record) and the answer that was sent, so that a replay of the same
// message ID gets the same answer and changes nothing.
type Message struct {
	ID          string // HL7 message id (upper-case UUID)
	Interaction string // e.g. PORX_IN020101SM31
	RecordKey   string // the record it was applied to, "" if none
	Sender      string // sender ASID (or party key)
	ReceivedAt  time.Time
	// Raw is the HL7 payload exactly as received. Backends store it compressed.
	Raw []byte
	// Response is the HL7 answer sent back (an acknowledgement or a response
	// message), "" if none. ResponseInteraction names it.
	Response            []byte
	ResponseInteraction string
	// Outcome summarises the result for history views: "AA", or "AE <code> <text>".
	Outcome string
}

// OutboxState is where an outbox item is in its delivery.
type OutboxState string

const (
	OutboxPending OutboxState = "pending" // waiting to be sent or retried
	OutboxDone    OutboxState = "done"    // acknowledged by the receiver
	OutboxFailed  OutboxState = "failed"  // gave up after the retries allowed
)

// OutboxItem is a message to deliver, committed in the same transaction as the
// state change that produced it.
type OutboxItem struct {
	ID            string // unique; the ebXML MessageId it goes out with
	CreatedAt     time.Time
	Destination   string // party key or URL of the receiver
	Interaction   string
	RefToMessage  string // the message it answers, if any
	Conversation  string
	Body          []byte // the HL7 payload
	State         OutboxState
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
}

// Receipt is an ebXML message already received and the answer sent to it, kept
// so that a duplicate gets the original acknowledgement again (ebMS 2.0 §6.5).
type Receipt struct {
	MessageID   string // ebXML MessageId
	FromParty   string
	ReceivedAt  time.Time
	ContentType string // of Response
	Response    []byte // the HTTP body answered (ack, NACK or sync reply)
}

// InboxState is where an inbox item is in its hand-over to the client system.
type InboxState string

const (
	InboxNew       InboxState = "new"       // not yet taken by the client
	InboxDelivered InboxState = "delivered" // the client (or its callback) accepted it
)

// InboxItem is a message received by the MHS adaptor for its client system.
type InboxItem struct {
	Seq           int64 // assigned by PutInbox, increasing
	MessageID     string
	Interaction   string
	CorrelationID string
	RefToMessage  string
	ReceivedAt    time.Time
	State         InboxState
	// Data is the item's body (payload, attachments, ebXML header fields),
	// JSON owned by package mhs; kept byte for byte.
	Data []byte
}

// Party is a directory entry: one endpoint known to the service, found by its
// party key, ASID or ODS code (what SDS gives the real Spine).
type Party struct {
	Key  string // party key, e.g. YES-0000806
	ASID string
	ODS  string
	// Data holds the rest (endpoint URL, CPA ID, reliability), JSON owned by
	// package directory.
	Data []byte
}

// PartyQuery selects directory entries; zero fields do not filter.
type PartyQuery struct {
	Key  string
	ASID string
	ODS  string
}

// Counts is the number of rows of each kind.
type Counts struct {
	Records  int
	Messages int
	Outbox   map[OutboxState]int
	Receipts int
	Inbox    map[InboxState]int
	Parties  int
}
