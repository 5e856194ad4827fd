package spine

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/store"
)

// build turns the lifecycle's answer into the HL7 message the Spine sends:
// an acknowledgement, a release response or rejection, or a cancel
// response. Release responses carry the prescriptions as the prescriber
// sent them, read from the stored messages inside the transaction.
func (s *Service) build(ctx context.Context, tx store.ReadTx, m *hl7v3.Message, id string, a rx.Answer, now time.Time) (Reply, error) {
	h := m.Header()
	w := s.wrapper(h, id, now)
	typeCode := a.AckType
	if typeCode == "" {
		typeCode = hl7v3.AckAccepted
		if len(a.Codes) > 0 {
			typeCode = hl7v3.AckError
		}
	}
	var out *hl7v3.Message
	var err error
	switch a.Kind {
	case rx.AnswerReleaseResponse:
		interaction, batch := hl7v3.PatientReleaseResponse, hl7v3.BatchInfo{}
		if m.Interaction == hl7v3.NominatedReleaseRequest {
			interaction = hl7v3.NominatedReleaseResponse
			batch = hl7v3.BatchInfo{InResponse: len(a.Released), BatchSize: s.batchSize()}
		}
		items := make([]hl7v3.ReleasedPrescription, 0, len(a.Released))
		for _, r := range a.Released {
			pp, err := s.storedPrescription(ctx, tx, r.MessageRef)
			if err != nil {
				return Reply{}, fmt.Errorf("release %s: %w", r.PrescriptionID, err)
			}
			items = append(items, released(pp, r))
		}
		out, err = hl7v3.NewReleaseResponse(w, interaction, h.MessageID, a.RequestRef, items, batch)
	case rx.AnswerReleaseRejection:
		out = hl7v3.NewReleaseRejection(w, h.MessageID, a.RequestRef, a.Code(), performerODS(a.Performer))
	case rx.AnswerCancelResponse:
		req, ok := m.Payload().(*hl7v3.PORX_MT135001UK32_CancellationRequest)
		if !ok {
			return Reply{}, fmt.Errorf("cancel response to a %s", m.Root)
		}
		out, err = hl7v3.NewCancelResponse(w, h.MessageID, req, a.Code(), performerODS(a.Performer))
	default:
		out = hl7v3.NewAck(w, h.MessageID, typeCode, a.Codes...)
	}
	if err != nil {
		return Reply{}, err
	}
	if sent := out.Header().AckType; sent != "" {
		// The history says what the wire says (a release rejection's
		// acknowledgement is the error's level, not rx's AA).
		typeCode = sent
	}
	return Reply{ID: id, MessageID: h.MessageID, Interaction: out.Interaction, Body: out.Encode(),
		Outcome: outcome(typeCode, a.Codes)}, nil
}

func (s *Service) batchSize() int {
	if s.rx.NominatedBatchSize > 0 {
		return s.rx.NominatedBatchSize
	}
	return 25
}

// released says what a release response shows for one prescription.
func released(pp *hl7v3.PORX_MT132004UK31_ParentPrescription, r rx.Released) hl7v3.ReleasedPrescription {
	rp := hl7v3.ReleasedPrescription{
		Prescription:      pp,
		Status:            hl7v3.PrescriptionStatusOf(r.Status),
		ItemStatus:        map[string]hl7v3.Status{},
		LowerAgeLimit:     r.LowerAgeLimit,
		HigherAgeLimit:    r.HigherAgeLimit,
		PreviousIssueDate: r.PriorPreviousIssueDate,
	}
	if r.Repeat {
		rp.CurrentInstance, rp.MaxRepeats = r.Issue, r.MaxRepeats
	}
	for _, it := range r.Items {
		rp.ItemStatus[it.ID] = hl7v3.ItemStatusOf(it.Status)
	}
	return rp
}

func performerODS(p *rx.Party) string {
	if p == nil {
		return ""
	}
	return p.ODS
}

// storedMessage reads and decodes a message kept by the store.
func storedMessage(ctx context.Context, tx store.ReadTx, id string) (*hl7v3.Message, error) {
	msg, err := tx.Message(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("stored message %s: %w", id, err)
	}
	m, err := hl7v3.Decode(msg.Raw)
	if err != nil {
		return nil, fmt.Errorf("stored message %s no longer decodes: %w", id, err)
	}
	return m, nil
}

// storedPrescription reads the parent prescription a record was created from.
func (s *Service) storedPrescription(ctx context.Context, tx store.ReadTx, messageID string) (*hl7v3.PORX_MT132004UK31_ParentPrescription, error) {
	m, err := storedMessage(ctx, tx, messageID)
	if err != nil {
		return nil, err
	}
	pp, ok := m.Payload().(*hl7v3.PORX_MT132004UK31_ParentPrescription)
	if !ok {
		return nil, fmt.Errorf("stored message %s is a %s, not a prescription", messageID, m.Root)
	}
	return pp, nil
}

// Outbox destinations. The delivery worker resolves them through the
// directory to an endpoint.
const (
	// PricingAuthority receives reimbursement claims and no-claim
	// notifications (NHSBSA in England).
	PricingAuthority = "pricing-authority"
)

// DestinationASID is the outbox destination of a system known by its ASID.
func DestinationASID(asid string) string { return "asid:" + asid }

// enqueueEvents builds the further messages the lifecycle asked for and puts
// them in the outbox, in the transaction of the change that caused them.
func (s *Service) enqueueEvents(ctx context.Context, tx store.Tx, events []rx.Event, now time.Time) error {
	for _, ev := range events {
		w := hl7v3.Wrapper{MessageID: ids.NewUUID(), Created: now, SenderASID: s.asid, ReceiverASID: ev.ToASID}
		var out *hl7v3.Message
		dest := DestinationASID(ev.ToASID)
		switch ev.Kind {
		case rx.EventSubsequentCancellation:
			m, err := storedMessage(ctx, tx, ev.RefMessageID)
			if err != nil {
				s.log.Warn("subsequent cancellation not sent", "prescription", ev.PrescriptionID, "err", err)
				continue
			}
			req, ok := m.Payload().(*hl7v3.PORX_MT135001UK32_CancellationRequest)
			if !ok {
				continue
			}
			if out, err = hl7v3.NewSubsequentCancelResponse(w, req, ev.Code, performerODS(ev.Performer)); err != nil {
				return err
			}
		case rx.EventNoClaimNotification:
			docs, err := s.claimDocuments(ctx, tx, ev.RecordKey)
			if err != nil {
				s.log.Warn("no-claim notification not sent", "prescription", ev.PrescriptionID, "err", err)
				continue
			}
			if out, err = hl7v3.NewNoClaimNotification(w, docs); err != nil {
				return err
			}
			dest = PricingAuthority
		default:
			s.log.Warn("event with no message", "kind", ev.Kind, "prescription", ev.PrescriptionID)
			continue
		}
		if err := tx.Enqueue(ctx, store.OutboxItem{ID: w.MessageID, CreatedAt: now, Destination: dest,
			Interaction: out.Interaction, RefToMessage: ev.RefMessageID, Body: out.Encode(),
			State: store.OutboxPending, NextAttemptAt: now}); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	return nil
}

// claimDocuments gathers what a no-claim notification carries: the
// prescription as prescribed.
func (s *Service) claimDocuments(ctx context.Context, tx store.ReadTx, key string) (hl7v3.ClaimDocuments, error) {
	rec, _, err := loadRecord(ctx, tx, key)
	if err != nil {
		return hl7v3.ClaimDocuments{}, err
	}
	if rec == nil {
		return hl7v3.ClaimDocuments{}, errors.New("no record")
	}
	pp, err := s.storedPrescription(ctx, tx, rec.MessageRef)
	if err != nil {
		return hl7v3.ClaimDocuments{}, err
	}
	return hl7v3.ClaimDocuments{Prescription: pp}, nil
}

// answerOutboxID is the outbox ID of the asynchronous answer to the ebXML
// message ebxmlID (fallback when there is none): derived from it, so that
// however often that message comes — resent after a crash between the
// commit and the receipt, or replayed — its answer is queued once.
func answerOutboxID(ebxmlID, fallback string) string {
	if ebxmlID == "" {
		return fallback
	}
	return derivedID(ebxmlID, "answer")
}

// derivedID is a UUID made from an ID and a purpose, the same every time,
// so that a resend of the same message queues nothing new.
func derivedID(id, purpose string) string {
	sum := sha256.Sum256([]byte(purpose + "\x00" + id))
	sum[6] = sum[6]&0x0f | 0x50 // version 5 style: name-based
	sum[8] = sum[8]&0x3f | 0x80
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i, c := range sum[:16] {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b.WriteByte('-')
		}
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&0xf])
	}
	return b.String()
}
