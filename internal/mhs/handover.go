package mhs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/openeps/openeps/internal/store"
)

// Inbox listing bounds.
const (
	defaultInboxLimit = 100
	maxInboxLimit     = 1000
	maxLongPoll       = 60 * time.Second
)

// InboxPage is the JSON of GET /inbox.
type InboxPage struct {
	Messages []Message `json:"messages"`
	// Next is the seq to pass as ?after= to read on from here.
	Next int64 `json:"next"`
}

// handleInbox is GET /inbox[?after=SEQ][&limit=N][&wait=DURATION]: the
// messages not yet acknowledged, oldest first. With wait, an empty answer
// is held until a message arrives or the wait is over (long poll).
func (a *Adaptor) handleInbox(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := int64Param(q.Get("after"), 0)
	if err != nil || after < 0 {
		textError(w, http.StatusBadRequest, "after: want a sequence number")
		return
	}
	limit, err := int64Param(q.Get("limit"), defaultInboxLimit)
	if err != nil || limit < 1 || limit > maxInboxLimit {
		textError(w, http.StatusBadRequest, fmt.Sprintf("limit: want 1 to %d", maxInboxLimit))
		return
	}
	var wait time.Duration
	if s := q.Get("wait"); s != "" {
		if wait, err = time.ParseDuration(s); err != nil {
			secs, serr := strconv.Atoi(s)
			if serr != nil || secs < 0 {
				textError(w, http.StatusBadRequest, "wait: want a duration such as 30s")
				return
			}
			wait = time.Duration(secs) * time.Second
		}
		wait = min(max(wait, 0), maxLongPoll)
	}
	deadline := time.Now().Add(wait)
	for {
		a.mu.Lock()
		arrival := a.arrival
		a.mu.Unlock()
		msgs, err := a.pending(r.Context(), after, int(limit))
		if err != nil {
			textError(w, http.StatusServiceUnavailable, "the inbox is unavailable")
			return
		}
		left := time.Until(deadline)
		if len(msgs) > 0 || left <= 0 {
			page := InboxPage{Messages: msgs, Next: after}
			if len(msgs) > 0 {
				page.Next = msgs[len(msgs)-1].Seq
			}
			writeJSON(w, http.StatusOK, page)
			return
		}
		t := time.NewTimer(left)
		select {
		case <-arrival:
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

// pending reads the new inbox messages after seq, leaving out those being
// handed to a waiting call.
func (a *Adaptor) pending(ctx context.Context, after int64, limit int) ([]Message, error) {
	var items []store.InboxItem
	err := a.cfg.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		items, err = tx.Inbox(ctx, after, store.InboxNew, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(items))
	a.mu.Lock()
	claimed := make(map[int64]bool, len(a.claimed))
	for k := range a.claimed {
		claimed[k] = true
	}
	a.mu.Unlock()
	for _, it := range items {
		if claimed[it.Seq] {
			continue
		}
		m, err := inboxMessage(it)
		if err != nil {
			a.log.Error("inbox: unreadable item", "seq", it.Seq, "err", err)
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// handleInboxItem is GET /inbox/{seq}: one message, whatever its state.
func (a *Adaptor) handleInboxItem(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || seq < 1 {
		textError(w, http.StatusBadRequest, "want a sequence number")
		return
	}
	var items []store.InboxItem
	err = a.cfg.Store.View(r.Context(), func(tx store.ReadTx) error {
		var err error
		items, err = tx.Inbox(r.Context(), seq-1, "", 1)
		return err
	})
	if err != nil {
		textError(w, http.StatusServiceUnavailable, "the inbox is unavailable")
		return
	}
	if len(items) == 0 || items[0].Seq != seq {
		textError(w, http.StatusNotFound, "no inbox message "+strconv.FormatInt(seq, 10))
		return
	}
	m, err := inboxMessage(items[0])
	if err != nil {
		textError(w, http.StatusInternalServerError, "the inbox message is unreadable")
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// handleInboxAck is POST /inbox/{seq}/ack (or DELETE /inbox/{seq}): the
// client has the message; it is no longer offered. Acknowledging twice is
// fine.
func (a *Adaptor) handleInboxAck(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || seq < 1 {
		textError(w, http.StatusBadRequest, "want a sequence number")
		return
	}
	err = a.cfg.Store.Update(r.Context(), func(tx store.Tx) error {
		return tx.SetInboxState(r.Context(), seq, store.InboxDelivered)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		textError(w, http.StatusNotFound, "no inbox message "+strconv.FormatInt(seq, 10))
	case err != nil:
		textError(w, http.StatusServiceUnavailable, "the inbox is unavailable")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func int64Param(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		textError(w, http.StatusInternalServerError, "encode: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// RunCallback hands every new inbox message to the callback URL, oldest
// first, until ctx ends: POST of the message's JSON with its Message-Id,
// Correlation-Id and Interaction-Id as headers; a 2xx answer marks it
// delivered, anything else is tried again after a backoff. It does nothing
// when no callback is configured.
func (a *Adaptor) RunCallback(ctx context.Context) {
	if a.cfg.CallbackURL == "" {
		return
	}
	backoff := time.Duration(0)
	for {
		a.mu.Lock()
		arrival := a.arrival
		a.mu.Unlock()
		msgs, err := a.pending(ctx, 0, 50)
		if err != nil && ctx.Err() == nil {
			a.log.Error("callback: read the inbox", "err", err)
		}
		failed := false
		for _, m := range msgs {
			if err := a.push(ctx, m); err != nil {
				if ctx.Err() != nil {
					return
				}
				a.log.Warn("callback refused", "seq", m.Seq, "message", m.MessageID, "err", err)
				failed = true
				break
			}
			a.delivered(m.Seq)
		}
		wait := 5 * time.Second
		if failed {
			backoff = min(max(2*backoff, 500*time.Millisecond), time.Minute)
			wait = backoff
		} else {
			backoff = 0
			if len(msgs) > 0 {
				continue
			}
		}
		t := time.NewTimer(wait)
		if failed {
			// A new message does not cut a backoff short.
			arrival = nil
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-arrival:
		case <-t.C:
		}
		t.Stop()
	}
}

// push POSTs one message to the callback.
func (a *Adaptor) push(ctx context.Context, m Message) error {
	body, err := marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.SendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderMessageID, m.MessageID)
	req.Header.Set(HeaderCorrelationID, m.CorrelationID)
	req.Header.Set(HeaderInteractionID, m.InteractionID)
	resp, err := a.cfg.CallbackClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}
