package rx

import (
	"fmt"
	"time"

	"github.com/openeps/openeps/internal/epserr"
)

// commit finishes a stored change (ESS increment_scn, add_event_to_change_log,
// return_next_activity_index): SCN + 1, the change log entry keyed by the
// inbound message ID with the answer given, and the next activities.
func (r *Record) commit(cfg Config, m Meta, now time.Time, issue int, from string, ans Answer) error {
	if cfg.MaxSCN > 0 && r.SCN+1 > cfg.MaxSCN {
		// Decision 8: the loop guard ESS documents but never enforces, on when configured.
		return epserr.Internal("commit", fmt.Errorf("record %s would pass SCN %d", r.Key(), cfg.MaxSCN))
	}
	r.SCN++
	r.refreshNextActivity(cfg, now)
	if r.ChangeLog == nil {
		r.ChangeLog = map[string]ChangeEntry{}
	}
	to := ""
	if is := r.issue(issue); is != nil {
		to = is.Status
	}
	if m.MessageID != "" {
		r.ChangeLog[m.MessageID] = ChangeEntry{
			SCN:         r.SCN,
			Interaction: m.Interaction,
			Time:        fmtTime(now),
			Issue:       issue,
			FromStatus:  from,
			ToStatus:    to,
			SenderASID:  m.SenderASID,
			SenderODS:   m.SenderODS,
			Answer:      ans.clone(),
		}
	}
	return nil
}

// history appends a dispensing history entry.
func (r *Record) history(h HistoryEntry) { r.History = append(r.History, h) }

// replayOf answers a message already in the change log (ESS check_for_replay):
// the stored answer again, nothing stored. Decision RP1: the same message ID
// on a different interaction is not a replay but a reused ID; it is refused
// with 17.32/202 "Duplicate HL7 ID Error", as processing it would overwrite
// the first message's entry and break that message's replay.
func replayOf(r *Record, m Meta) (Outcome, bool) {
	if r == nil || m.MessageID == "" {
		return Outcome{}, false
	}
	e, ok := r.ChangeLog[m.MessageID]
	if !ok {
		return Outcome{}, false
	}
	if e.Interaction != "" && m.Interaction != "" && canonicalInteraction(e.Interaction) != canonicalInteraction(m.Interaction) {
		return Outcome{Answer: refuse(epserr.DuplicateHL7ID)}, true
	}
	return Outcome{Answer: e.Answer.clone(), Replay: true}, true
}

// canonicalInteraction maps the SM spelling of an interaction ID to the MIM's
// UK spelling (PORX_IN020101SM31 → PORX_IN020101UK31).
func canonicalInteraction(id string) string {
	if len(id) == 17 && id[13:15] == "SM" {
		return id[:13] + "UK" + id[15:]
	}
	return id
}

func codePtr(c epserr.Code) *epserr.Code { return &c }

func historyItems(is *Issue) []HistoryItem {
	out := make([]HistoryItem, len(is.LineItems))
	for i, li := range is.LineItems {
		out[i] = HistoryItem{ID: li.ID, Status: li.Status}
	}
	return out
}

// NoteSignature adds the verdict on the prescription's signature, checked
// by the service on receipt (hl7v3.md §7.5), to the history: valid, or the
// first failure's code with every failure in detail. It changes no status:
// the Spine stores and releases a prescription whatever its signature, and
// the dispenser acts on a bad one. Call it on a record Create returned,
// before it is stored.
func (r *Record) NoteSignature(at time.Time, messageID string, code *epserr.Code, detail string) {
	r.history(HistoryEntry{Time: fmtTime(at), Kind: HistSignature, MessageID: messageID, Code: code, Detail: detail})
}
