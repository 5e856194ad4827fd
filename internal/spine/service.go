// Package spine is the Spine-side EPS service: it takes one HL7 V3
// interaction at a time, runs it through the prescription lifecycle and
// answers the way the Spine does. The flow of one message is
//
//	hl7v3.Decode → rxmsg.Input → (store: load record) → rx → (store: save record,
//	message, outbox — one transaction) → hl7v3 answer
//
// Transport (ebXML over HTTP) lives in http.go; this file knows nothing of it,
// so tests and the demo can drive the service directly.
package spine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/rxmsg"
	"github.com/openeps/openeps/internal/signature"
	"github.com/openeps/openeps/internal/store"
)

// The Spine's own identity in the fixtures (the receiver of every sample
// message). Both can be changed with Config.
const (
	DefaultASID     = "567456789789"
	DefaultPartyKey = "YES-0000806"
)

// Config is what a Service needs. Store is required; the rest have defaults.
type Config struct {
	Store store.Store
	// Now is the service's clock. nil means time.Now; `eps serve --now` fixes it.
	Now func() time.Time
	// ASID and PartyKey are the Spine's own system identifiers.
	ASID     string
	PartyKey string
	// Rx holds the lifecycle's periods and limits (rx.DefaultConfig if zero).
	Rx     *rx.Config
	Logger *slog.Logger
	// VerifySignatures checks each prescription's signature on receipt and
	// records the verdict in its history. Trust gives the roots and CRLs to
	// check the signer against (nil, or a nil store: signature and digest
	// only). RefuseBadSignatures refuses a prescription whose signature
	// fails, with the failure's code; off by default, as the Spine stores
	// and releases a prescription whatever its signature and the dispenser
	// acts on a bad one (hl7v3.md §7.5).
	VerifySignatures    bool
	Trust               func() *signature.TrustStore
	RefuseBadSignatures bool
}

// Service is the Spine-side EPS. It is safe for concurrent use.
type Service struct {
	store     store.Store
	now       func() time.Time
	asid      string
	partyKey  string
	rx        rx.Config
	log       *slog.Logger
	metrics   *metrics
	verify    bool
	trust     func() *signature.TrustStore
	refuseBad bool
}

// New returns a service over cfg.Store.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("spine: no store")
	}
	s := &Service{store: cfg.Store, now: cfg.Now, asid: cfg.ASID, partyKey: cfg.PartyKey, log: cfg.Logger,
		metrics: newMetrics(), verify: cfg.VerifySignatures, trust: cfg.Trust, refuseBad: cfg.RefuseBadSignatures}
	if s.now == nil {
		s.now = time.Now
	}
	if s.asid == "" {
		s.asid = DefaultASID
	}
	if s.partyKey == "" {
		s.partyKey = DefaultPartyKey
	}
	if cfg.Rx != nil {
		s.rx = *cfg.Rx
	} else {
		s.rx = rx.DefaultConfig()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Now returns the service's current time (the fixed time under --now).
func (s *Service) Now() time.Time { return s.now() }

// ASID returns the service's own ASID.
func (s *Service) ASID() string { return s.asid }

// PartyKey returns the service's own ebXML party key.
func (s *Service) PartyKey() string { return s.partyKey }

// Inbound is one HL7 V3 interaction as received, with what the transport
// said about it.
type Inbound struct {
	// Payload is the HL7 V3 document exactly as received.
	Payload []byte
	// FromParty is the sender's ebXML party key, if the transport had one.
	FromParty string
	// ReplyAsync says the sender takes its answer as a message of its own,
	// later (ebXML without SyncReply): the answer goes to the outbox, for
	// FromParty, referring to EbxmlMessageID in ConversationID.
	ReplyAsync     bool
	EbxmlMessageID string
	ConversationID string
}

// Reply is the service's answer to one interaction.
type Reply struct {
	// ID is the answer's own message id.
	ID string
	// MessageID is the HL7 id of the message answered ("" if it could not be read).
	MessageID string
	// Interaction is the answer's interaction ID (e.g. MCCI_IN010000UK13).
	Interaction string
	// Body is the HL7 V3 answer document.
	Body []byte
	// Outcome is "AA", or the ack type and the first code: "AE 0002 Duplicate prescription ID exists".
	Outcome string
	// Replay is true when the message had been handled before: Body is the
	// original answer and nothing changed.
	Replay bool
}

// Handle processes one interaction. It returns an error only when the
// service itself failed (the store is down): then nothing was stored and
// the sender should retry. Everything wrong with the message is answered
// in HL7 terms in the Reply.
func (s *Service) Handle(ctx context.Context, in Inbound) (reply Reply, err error) {
	start := time.Now()
	now := s.now()
	interaction := "unknown"
	defer func() {
		s.metrics.latency.WithLabelValues(interaction).Observe(time.Since(start).Seconds())
		if err != nil {
			s.metrics.storeErrs.Inc()
			return
		}
		outcome := reply.Outcome
		if len(outcome) > 2 {
			outcome = outcome[:2]
		}
		s.metrics.messages.WithLabelValues(interaction, outcome).Inc()
		if reply.Replay {
			s.metrics.replays.Inc()
		}
	}()

	m, derr := hl7v3.Decode(in.Payload)
	if derr != nil {
		lenient, _, lerr := hl7v3.DecodeLenient(in.Payload)
		if lerr != nil {
			// A document that cannot be read as an EPS interaction at all is
			// answered AR (referring to its id if one can be found) and not
			// stored: the store stays as it was.
			ref, root := sniff(in.Payload)
			if root != "" {
				interaction = hl7v3.Canonical(root)
			}
			return s.nack(hl7v3.Header{MessageID: ref, SenderASID: sniffSender(in.Payload)}, ids.NewUUID(),
				rejected(derr), now), nil
		}
		// Readable but breaking a rule of its schema (or the Spine's own
		// checks, e.g. no signature): AE with that rule's code, as the Spine
		// answers; the message is kept with its answer.
		interaction = lenient.Interaction
		h := lenient.Header()
		if r, ok, err := s.replay(ctx, h); err != nil || ok {
			return r, err
		}
		return s.refuse(ctx, in, h.MessageID, interaction, lenient, derr, now)
	}
	h := m.Header()
	interaction = m.Interaction
	if h.MessageID == "" {
		return s.refuse(ctx, in, "", interaction, m, epserr.Invalid("id: the message has no id"), now)
	}

	// A message ID already handled is a replay: answer as the first time
	// and change nothing (lifecycle.md §1.7).
	if r, ok, err := s.replay(ctx, h); err != nil || ok {
		return r, err
	}

	if spineSends[m.Interaction] {
		return s.refuse(ctx, in, h.MessageID, interaction, m,
			epserr.Invalid("interaction %s is one the Spine sends; it does not accept it", m.Root), now)
	}
	input, err := rxmsg.Input(m, now)
	if err != nil {
		return s.refuse(ctx, in, h.MessageID, interaction, m, err, now)
	}
	if req, ok := input.(rx.NominatedReleaseRequest); ok {
		return s.nominatedRelease(ctx, in, m, req, now)
	}
	var verdict *signature.Result
	if p, ok := input.(rx.Prescription); ok && s.verify && p.Signed {
		// Outside the transaction: verification is CPU work that must not
		// hold the store's writer.
		res := s.checkSignature(in.Payload, now)
		if s.refuseBad && !res.Valid() {
			return s.refuse(ctx, in, h.MessageID, interaction, m, res.Err(), now)
		}
		verdict = &res
	}
	return s.applyOne(ctx, in, m, input, verdict, now)
}

// checkSignature verifies a prescription's signature against the current
// trust material.
func (s *Service) checkSignature(payload []byte, now time.Time) signature.Result {
	var ts *signature.TrustStore
	if s.trust != nil {
		ts = s.trust()
	}
	res := signature.Verify(payload, ts, signature.VerifyOptions{Now: now})
	result := "valid"
	if !res.Valid() {
		result = res.Failures[0].Reason.Name()
	}
	s.metrics.signatures.WithLabelValues(result).Inc()
	return res
}

// applyOne runs a message about one prescription through the lifecycle:
// load its record, apply, store the result, the message and what is to be
// sent, in one transaction.
func (s *Service) applyOne(ctx context.Context, in Inbound, m *hl7v3.Message, input any, verdict *signature.Result, now time.Time) (Reply, error) {
	h := m.Header()
	key := rx.KeyOf(rx.PrescriptionIDOf(input))
	ackID := ids.NewUUID()
	var reply Reply
	err := s.store.Update(ctx, func(tx store.Tx) error {
		var rec *rx.Record
		var prevSCN int64
		if key != "" {
			var err error
			if rec, prevSCN, err = loadRecord(ctx, tx, key); err != nil {
				return err
			}
		}
		out, err := rx.Apply(s.rx, rec, input, now)
		if err != nil {
			if epserr.KindOf(err) == epserr.KindInternal {
				return err
			}
			// Content the lifecycle cannot process: answered, kept, no change.
			reply = s.refusal(m, ackID, err, now)
			return s.finish(ctx, tx, m, in, key, reply, now)
		}
		if reply, err = s.build(ctx, tx, m, ackID, out.Answer, now); err != nil {
			return err
		}
		if out.Record != nil && !out.Replay {
			if verdict != nil && (rec == nil || !rec.PrescriptionPresent) {
				noteSignature(out.Record, *verdict, h.MessageID, now)
			}
			if err := putRecord(ctx, tx, out.Record, prevSCN, now); err != nil {
				return err
			}
		}
		if out.Delete {
			if err := tx.DeleteRecord(ctx, key); err != nil {
				return err
			}
		}
		if err := s.enqueueEvents(ctx, tx, out.Events, now); err != nil {
			return err
		}
		return s.finish(ctx, tx, m, in, key, reply, now)
	})
	return s.committed(ctx, h, reply, err)
}

// nominatedRelease hands the sender the prescriptions nominated to it that
// are ready, oldest first, up to the batch size (lifecycle.md §3.3). The
// candidates are read and released in one transaction: a record another
// dispenser released meanwhile fails its SCN check and the whole batch is
// tried again, so no prescription goes to two dispensers.
func (s *Service) nominatedRelease(ctx context.Context, in Inbound, m *hl7v3.Message, req rx.NominatedReleaseRequest, now time.Time) (Reply, error) {
	h := m.Header()
	ackID := ids.NewUUID()
	var reply Reply
	err := s.store.Update(ctx, func(tx store.Tx) error {
		batch := s.rx.NominatedBatchSize
		if batch <= 0 {
			batch = 25
		}
		// One more than a batch, so rx can tell whether more are waiting.
		found, err := tx.FindRecords(ctx, store.RecordQuery{NominatedODS: req.SenderODS, Status: "0001",
			OrderByCreated: true, Limit: batch + 1})
		if err != nil {
			return err
		}
		cands := make([]*rx.Record, 0, len(found))
		prev := map[string]int64{}
		for _, r := range found {
			rec, err := decodeRecord(r)
			if err != nil {
				return err
			}
			cands = append(cands, rec)
			prev[r.Key] = r.SCN
		}
		out, err := rx.ReleaseNominated(s.rx, cands, req, now)
		if err != nil {
			if epserr.KindOf(err) == epserr.KindInternal {
				return err
			}
			reply = s.refusal(m, ackID, err, now)
			return s.finish(ctx, tx, m, in, "", reply, now)
		}
		if reply, err = s.build(ctx, tx, m, ackID, out.Answer, now); err != nil {
			return err
		}
		for _, rec := range out.Records {
			if err := putRecord(ctx, tx, rec, prev[rec.Key()], now); err != nil {
				return err
			}
		}
		return s.finish(ctx, tx, m, in, "", reply, now)
	})
	return s.committed(ctx, h, reply, err)
}

// finish stores the inbound message with its answer and, when the sender
// takes its answers asynchronously, puts the answer in the outbox — in the
// same transaction as the state change.
func (s *Service) finish(ctx context.Context, tx store.Tx, m *hl7v3.Message, in Inbound, key string, reply Reply, now time.Time) error {
	if in.ReplyAsync {
		if err := tx.Enqueue(ctx, store.OutboxItem{
			ID: answerOutboxID(in.EbxmlMessageID, reply.ID), CreatedAt: now, Destination: in.FromParty, Interaction: reply.Interaction,
			RefToMessage: in.EbxmlMessageID, Conversation: in.ConversationID, Body: reply.Body,
			State: store.OutboxPending, NextAttemptAt: now,
		}); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	return s.putMessage(ctx, tx, m, in, key, reply, now)
}

// committed turns the transaction's result into the reply. A message ID that
// raced in on another connection and won is answered as it was.
func (s *Service) committed(ctx context.Context, h hl7v3.Header, reply Reply, err error) (Reply, error) {
	if errors.Is(err, store.ErrDuplicate) {
		if r, ok, rerr := s.replay(ctx, h); rerr != nil || ok {
			return r, rerr
		}
	}
	if err != nil {
		return Reply{}, fmt.Errorf("message %s: %w", h.MessageID, err)
	}
	s.log.Info("message", "id", h.MessageID, "interaction", h.InteractionID, "outcome", reply.Outcome)
	return reply, nil
}

// replay returns the stored answer to a message ID handled before. The
// same ID on another interaction is no replay but a reused ID (decision
// RP1, as rx decides within a record): it is refused AR 17.32/202
// "Duplicate HL7 ID Error", the Spine's own answer to it, and not stored —
// the ID belongs to the first message, whose replays must still get its
// answer.
func (s *Service) replay(ctx context.Context, h hl7v3.Header) (Reply, bool, error) {
	id := h.MessageID
	var msg store.Message
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		msg, err = tx.Message(ctx, id)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Reply{}, false, nil
	case err != nil:
		return Reply{}, false, fmt.Errorf("replay check %s: %w", id, err)
	}
	if msg.Interaction != "" && h.InteractionID != "" && hl7v3.Canonical(msg.Interaction) != hl7v3.Canonical(h.InteractionID) {
		return s.nack(h, ids.NewUUID(), rejected(epserr.New(epserr.DuplicateHL7ID,
			fmt.Sprintf("message ID %s was used by a %s", id, msg.Interaction))), s.now()), true, nil
	}
	return Reply{MessageID: id, Interaction: msg.ResponseInteraction, Body: msg.Response,
		Outcome: msg.Outcome, Replay: true}, true, nil
}

// noteSignature records a signature verdict in a new record's history.
func noteSignature(rec *rx.Record, res signature.Result, messageID string, now time.Time) {
	if res.Valid() {
		detail := "valid"
		if !res.TrustChecked {
			detail = "valid (signature and digest; the signer's chain was not checked: no trust material configured)"
		}
		rec.NoteSignature(now, messageID, nil, detail)
		return
	}
	code := res.Failures[0].Reason.Code()
	rec.NoteSignature(now, messageID, &code, res.String())
}

// refuse stores a decoded message that could not be processed together with
// its negative acknowledgement — the legal record of what was received, and
// what a replay is answered with — and returns the acknowledgement. No record
// changes.
func (s *Service) refuse(ctx context.Context, in Inbound, ref, interaction string, m *hl7v3.Message, cause error, now time.Time) (Reply, error) {
	h := m.Header()
	reply := s.refusal(m, ids.NewUUID(), cause, now)
	if ref == "" {
		// Nothing to key a replay on: answer without storing.
		return reply, nil
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		return s.finish(ctx, tx, m, in, "", reply, now)
	})
	if errors.Is(err, store.ErrDuplicate) {
		if r, ok, err := s.replay(ctx, h); err != nil || ok {
			return r, err
		}
	}
	if err != nil {
		return Reply{}, fmt.Errorf("store refused message %s: %w", ref, err)
	}
	s.log.Info("refused", "message", ref, "interaction", interaction, "outcome", reply.Outcome)
	return reply, nil
}

// loadRecord reads a record for update; a missing record is (nil, 0, nil).
func loadRecord(ctx context.Context, tx store.ReadTx, key string) (*rx.Record, int64, error) {
	r, err := tx.Record(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	rec, err := decodeRecord(r)
	if err != nil {
		return nil, 0, err
	}
	return rec, r.SCN, nil
}

// putMessage stores the inbound message with the answer sent to it.
func (s *Service) putMessage(ctx context.Context, tx store.Tx, m *hl7v3.Message, in Inbound, key string, reply Reply, now time.Time) error {
	h := m.Header()
	sender := h.SenderASID
	if sender == "" {
		sender = in.FromParty
	}
	return tx.PutMessage(ctx, store.Message{
		ID:                  h.MessageID,
		Interaction:         m.Root,
		RecordKey:           key,
		Sender:              sender,
		ReceivedAt:          now,
		Raw:                 in.Payload,
		Response:            reply.Body,
		ResponseInteraction: reply.Interaction,
		Outcome:             reply.Outcome,
	})
}
