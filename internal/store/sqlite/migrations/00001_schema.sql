-- The first schema of the SQLite store. Times are INTEGER microseconds since
-- the Unix epoch (UTC). Bodies marked "packed" start with an encoding byte
-- (see internal/store/internal/sqlkit): raw message bytes, responses, outbox
-- and inbox bodies are compressed; record and party bodies are small JSON
-- that is read and rewritten on every change, so they are kept plain.
-- Large columns come last in each table so that queries that skip them do not
-- read their overflow pages.

-- +goose Up
CREATE TABLE records (
    key              TEXT    NOT NULL PRIMARY KEY,
    scn              INTEGER NOT NULL,
    prescription_id  TEXT    NOT NULL,
    nhs_number       TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    treatment_type   TEXT    NOT NULL,
    nominated_ods    TEXT    NOT NULL,
    dispenser_ods    TEXT    NOT NULL,
    prescriber_ods   TEXT    NOT NULL,
    next_activity    TEXT    NOT NULL,
    next_activity_at TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    data             BLOB    NOT NULL
) STRICT;
CREATE INDEX records_by_nhs_number ON records (nhs_number, prescription_id, key);
-- Nominated release: the oldest prescriptions for a pharmacy in one status.
CREATE INDEX records_by_nominated ON records (nominated_ods, status, created_at, key);
CREATE INDEX records_by_prescriber ON records (prescriber_ods, prescription_id, key);
CREATE INDEX records_by_dispenser ON records (dispenser_ods, prescription_id, key);
-- The time-based sweep: only records with something due are indexed.
CREATE INDEX records_by_next_activity ON records (next_activity_at, key) WHERE next_activity_at <> '';

CREATE TABLE messages (
    id                   TEXT    NOT NULL PRIMARY KEY,
    interaction          TEXT    NOT NULL,
    record_key           TEXT    NOT NULL,
    sender               TEXT    NOT NULL,
    received_at          INTEGER NOT NULL,
    response_interaction TEXT    NOT NULL,
    outcome              TEXT    NOT NULL,
    raw                  BLOB    NOT NULL, -- packed
    response             BLOB    NOT NULL  -- packed
) STRICT;
CREATE INDEX messages_by_record ON messages (record_key, received_at);

CREATE TABLE outbox (
    seq             INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    destination     TEXT    NOT NULL,
    interaction     TEXT    NOT NULL,
    ref_to_message  TEXT    NOT NULL,
    conversation    TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL,
    body            BLOB    NOT NULL -- packed
) STRICT;
CREATE INDEX outbox_by_state ON outbox (state, created_at, seq);

CREATE TABLE receipts (
    message_id   TEXT    NOT NULL PRIMARY KEY,
    from_party   TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    content_type TEXT    NOT NULL,
    response     BLOB    NOT NULL -- packed
) STRICT;
CREATE INDEX receipts_by_received ON receipts (received_at);

-- AUTOINCREMENT: a Seq is never handed out twice, so a client's "after" cursor
-- can never skip a newer item that reused an old number.
CREATE TABLE inbox (
    seq            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    message_id     TEXT    NOT NULL UNIQUE,
    interaction    TEXT    NOT NULL,
    correlation_id TEXT    NOT NULL,
    ref_to_message TEXT    NOT NULL,
    received_at    INTEGER NOT NULL,
    state          TEXT    NOT NULL,
    data           BLOB    NOT NULL -- packed
) STRICT;
CREATE INDEX inbox_by_state ON inbox (state, seq);

CREATE TABLE parties (
    key  TEXT NOT NULL PRIMARY KEY,
    asid TEXT NOT NULL,
    ods  TEXT NOT NULL,
    data BLOB NOT NULL
) STRICT;
CREATE INDEX parties_by_asid ON parties (asid);
CREATE INDEX parties_by_ods ON parties (ods);

-- +goose Down
DROP TABLE parties;
DROP TABLE inbox;
DROP TABLE receipts;
DROP TABLE outbox;
DROP TABLE messages;
DROP TABLE records;
