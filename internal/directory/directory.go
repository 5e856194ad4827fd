// Package directory is openeps's stand-in for the Spine Directory Service
// (SDS): who is who among the message handling systems the service talks to.
// Each entry is one endpoint: its ebXML party key, ASID, ODS code, endpoint
// URL, CPA ID and reliability parameters — what SDS gives the real Spine
// (transport.md §4). The entries live in the store (store.Party), so `eps
// directory add --db …` and a running `eps serve` share them; a Directory
// caches them and reloads when a lookup misses or the cache is older than
// its TTL.
package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/openeps/openeps/internal/store"
)

// ErrUnknown is returned (wrapped) for a destination no entry matches.
var ErrUnknown = errors.New("not in the directory")

// Sync reply modes (SDS nhsMHSSyncReplyMode, the ebMS 2.0 syncReplyMode).
const (
	SyncReplyMSHSignalsOnly     = "MSHSignalsOnly"
	SyncReplySignalsOnly        = "SignalsOnly"
	SyncReplyResponseOnly       = "ResponseOnly"
	SyncReplySignalsAndResponse = "SignalsAndResponse"
	SyncReplyNone               = "None"
)

// Reliability is an endpoint's reliable-messaging contract (the SDS
// attributes of reliability.json).
type Reliability struct {
	// AckRequested and DuplicateElimination are SDS's "always" or "never"
	// as booleans.
	AckRequested         bool
	DuplicateElimination bool
	// Retries is how many times a message is sent again after the first
	// attempt failed; RetryInterval the wait before the first retry.
	Retries       int
	RetryInterval time.Duration
	// PersistDuration is how long the endpoint remembers message IDs for
	// duplicate elimination.
	PersistDuration time.Duration
	// SyncReplyMode says what comes back on the connection of a request
	// (one of the SyncReply constants; "" is MSHSignalsOnly).
	SyncReplyMode string
}

// DefaultReliability is what SDS gives the Spine's EPS endpoints
// (reliability.json): ack and duplicate elimination always, 2 retries a
// minute apart, IDs remembered for 5 minutes, MSH signals only on the
// connection.
func DefaultReliability() Reliability {
	return Reliability{AckRequested: true, DuplicateElimination: true, Retries: 2, RetryInterval: time.Minute,
		PersistDuration: 5 * time.Minute, SyncReplyMode: SyncReplyMSHSignalsOnly}
}

// AnswersOnConnection reports whether the business answer to a request
// from this endpoint travels back on the request's own connection (sync
// reply modes that include the response) rather than as a message of its own.
func (r Reliability) AnswersOnConnection() bool {
	switch strings.ToLower(r.SyncReplyMode) {
	case strings.ToLower(SyncReplyResponseOnly), strings.ToLower(SyncReplySignalsAndResponse):
		return true
	}
	return false
}

// Entry is one endpoint.
type Entry struct {
	// PartyKey is the ebXML party ID (eb:PartyId), e.g. YES-0000806: the
	// entry's key.
	PartyKey string
	ASID     string // its accredited system ID
	ODS      string // the organisation it serves
	Name     string // for people
	// Endpoint is the URL ebXML messages are POSTed to
	// (https://host/reliablemessaging/reliablerequest). Empty: the party
	// cannot be sent to; it receives its answers on its own connections.
	Endpoint string
	// FQDN is the host name its TLS certificate names (SDS nhsMhsFQDN).
	// Under mutual TLS a message from this party must come with a client
	// certificate valid for it.
	FQDN string
	// CPAIds are the collaboration agreements (eb:CPAId) agreed with the
	// party; a message from it naming another is refused (501319). The
	// first is used when sending to it. Empty: any is accepted.
	CPAIds []string
	// Roles name what the party is for beyond its key, so that an outbox
	// destination such as "pricing-authority" finds it.
	Roles []string
	// Interactions lists the interactions it takes (service:action or just
	// action). Empty: any.
	Interactions []string
	Reliability  Reliability
}

// CPAId returns the CPA ID used when sending to the party ("" if none).
func (e Entry) CPAId() string {
	if len(e.CPAIds) == 0 {
		return ""
	}
	return e.CPAIds[0]
}

// AcceptsCPA reports whether a message from the party may name cpa.
func (e Entry) AcceptsCPA(cpa string) bool {
	return len(e.CPAIds) == 0 || slices.Contains(e.CPAIds, cpa)
}

// Takes reports whether the party takes the interaction (service may be "").
func (e Entry) Takes(service, action string) bool {
	if len(e.Interactions) == 0 {
		return true
	}
	for _, i := range e.Interactions {
		if i == action || (service != "" && i == service+":"+action) {
			return true
		}
	}
	return false
}

// HasRole reports whether the entry carries role.
func (e Entry) HasRole(role string) bool { return slices.Contains(e.Roles, role) }

// maxField bounds every text field (SDS values are short).
const maxField = 512

// Validate checks an entry before it is stored.
func (e Entry) Validate() error {
	if strings.TrimSpace(e.PartyKey) == "" {
		return errors.New("directory: an entry needs a party key")
	}
	texts := append([]string{e.PartyKey, e.ASID, e.ODS, e.Name, e.Endpoint, e.FQDN, e.Reliability.SyncReplyMode},
		append(append(append([]string{}, e.CPAIds...), e.Roles...), e.Interactions...)...)
	for _, v := range texts {
		if len(v) > maxField || !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\r\n") {
			return fmt.Errorf("directory: %s: a value is too long or holds control characters", e.PartyKey)
		}
	}
	if strings.HasPrefix(e.PartyKey, "asid:") {
		return fmt.Errorf("directory: party key %q: the asid: prefix names ASIDs", e.PartyKey)
	}
	if e.Endpoint != "" {
		u, err := url.Parse(e.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("directory: %s: endpoint %q is not an http(s) URL", e.PartyKey, e.Endpoint)
		}
	}
	r := e.Reliability
	if r.Retries < 0 || r.Retries > 1000 {
		return fmt.Errorf("directory: %s: %d retries (0 to 1000)", e.PartyKey, r.Retries)
	}
	if r.RetryInterval < 0 || r.PersistDuration < 0 {
		return fmt.Errorf("directory: %s: negative interval", e.PartyKey)
	}
	switch strings.ToLower(r.SyncReplyMode) {
	case "", "mshsignalsonly", "signalsonly", "responseonly", "signalsandresponse", "none":
	default:
		return fmt.Errorf("directory: %s: unknown sync reply mode %q", e.PartyKey, r.SyncReplyMode)
	}
	return nil
}

// record is an entry's JSON in store.Party.Data: the fields the store does
// not index, with durations in ISO 8601 as SDS writes them.
type record struct {
	Name         string    `json:"name,omitempty"`
	Endpoint     string    `json:"endpoint,omitempty"`
	FQDN         string    `json:"fqdn,omitempty"`
	CPAIds       []string  `json:"cpaIds,omitempty"`
	Roles        []string  `json:"roles,omitempty"`
	Interactions []string  `json:"interactions,omitempty"`
	Reliability  sdsFields `json:"reliability"`
}

// sdsFields are the reliability attributes under their SDS names.
type sdsFields struct {
	AckRequested         string `json:"nhsMHSAckRequested"`
	DuplicateElimination string `json:"nhsMHSDuplicateElimination"`
	PersistDuration      string `json:"nhsMHSPersistDuration"`
	Retries              int    `json:"nhsMHSRetries"`
	RetryInterval        string `json:"nhsMHSRetryInterval"`
	SyncReplyMode        string `json:"nhsMHSSyncReplyMode"`
}

func always(b bool) string {
	if b {
		return "always"
	}
	return "never"
}

func (f sdsFields) reliability() (Reliability, error) {
	r := Reliability{
		AckRequested:         !strings.EqualFold(f.AckRequested, "never"),
		DuplicateElimination: !strings.EqualFold(f.DuplicateElimination, "never"),
		Retries:              f.Retries,
		SyncReplyMode:        f.SyncReplyMode,
	}
	var err error
	if f.RetryInterval != "" {
		if r.RetryInterval, err = ParseDuration(f.RetryInterval); err != nil {
			return r, fmt.Errorf("nhsMHSRetryInterval: %w", err)
		}
	}
	if f.PersistDuration != "" {
		if r.PersistDuration, err = ParseDuration(f.PersistDuration); err != nil {
			return r, fmt.Errorf("nhsMHSPersistDuration: %w", err)
		}
	}
	return r, nil
}

func fieldsOf(r Reliability) sdsFields {
	return sdsFields{AckRequested: always(r.AckRequested), DuplicateElimination: always(r.DuplicateElimination),
		Retries: r.Retries, RetryInterval: FormatDuration(r.RetryInterval),
		PersistDuration: FormatDuration(r.PersistDuration), SyncReplyMode: r.SyncReplyMode}
}

// party turns an entry into its stored form.
func (e Entry) party() (store.Party, error) {
	data, err := json.Marshal(record{Name: e.Name, Endpoint: e.Endpoint, FQDN: e.FQDN, CPAIds: e.CPAIds,
		Roles: e.Roles, Interactions: e.Interactions, Reliability: fieldsOf(e.Reliability)})
	if err != nil {
		return store.Party{}, err
	}
	return store.Party{Key: e.PartyKey, ASID: e.ASID, ODS: e.ODS, Data: data}, nil
}

// entryOf reads a stored party.
func entryOf(p store.Party) (Entry, error) {
	e := Entry{PartyKey: p.Key, ASID: p.ASID, ODS: p.ODS}
	if len(p.Data) == 0 {
		e.Reliability = DefaultReliability()
		return e, nil
	}
	var r record
	if err := json.Unmarshal(p.Data, &r); err != nil {
		return e, fmt.Errorf("directory entry %s: %w", p.Key, err)
	}
	rel, err := r.Reliability.reliability()
	if err != nil {
		return e, fmt.Errorf("directory entry %s: %w", p.Key, err)
	}
	e.Name, e.Endpoint, e.FQDN, e.CPAIds, e.Roles, e.Interactions, e.Reliability =
		r.Name, r.Endpoint, r.FQDN, r.CPAIds, r.Roles, r.Interactions, rel
	return e, nil
}

// Directory reads and writes entries in a store, with a cache for lookups.
// It is safe for concurrent use.
type Directory struct {
	store store.Store
	ttl   time.Duration

	mu       sync.RWMutex
	loadedAt time.Time
	byKey    map[string]Entry
	byASID   map[string][]string // ASID → party keys
	byODS    map[string][]string
	byRole   map[string][]string
}

// DefaultTTL is how long a Directory trusts its cache.
const DefaultTTL = 5 * time.Second

// missReload bounds how often a lookup that finds nothing reloads the cache.
const missReload = 250 * time.Millisecond

// New returns a directory over st; ttl 0 means DefaultTTL.
func New(st store.Store, ttl time.Duration) *Directory {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Directory{store: st, ttl: ttl}
}

// Put adds or replaces an entry.
func (d *Directory) Put(ctx context.Context, e Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	p, err := e.party()
	if err != nil {
		return err
	}
	err = d.store.Update(ctx, func(tx store.Tx) error { return tx.PutParty(ctx, p) })
	d.invalidate()
	if err != nil {
		return fmt.Errorf("directory: put %s: %w", e.PartyKey, err)
	}
	return nil
}

// Remove deletes an entry; ErrUnknown if there is none.
func (d *Directory) Remove(ctx context.Context, partyKey string) error {
	err := d.store.Update(ctx, func(tx store.Tx) error { return tx.DeleteParty(ctx, partyKey) })
	d.invalidate()
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("directory: %s: %w", partyKey, ErrUnknown)
	}
	if err != nil {
		return fmt.Errorf("directory: remove %s: %w", partyKey, err)
	}
	return nil
}

// List returns every entry, ordered by party key, read from the store.
func (d *Directory) List(ctx context.Context) ([]Entry, error) {
	var parties []store.Party
	err := d.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		parties, err = tx.Parties(ctx, store.PartyQuery{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("directory: list: %w", err)
	}
	out := make([]Entry, 0, len(parties))
	for _, p := range parties {
		e, err := entryOf(p)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PartyKey < out[j].PartyKey })
	return out, nil
}

func (d *Directory) invalidate() {
	d.mu.Lock()
	d.loadedAt = time.Time{}
	d.mu.Unlock()
}

// reload reads every entry into the cache.
func (d *Directory) reload(ctx context.Context) error {
	entries, err := d.List(ctx)
	if err != nil {
		return err
	}
	byKey := make(map[string]Entry, len(entries))
	byASID, byODS, byRole := map[string][]string{}, map[string][]string{}, map[string][]string{}
	for _, e := range entries {
		byKey[e.PartyKey] = e
		if e.ASID != "" {
			byASID[e.ASID] = append(byASID[e.ASID], e.PartyKey)
		}
		if e.ODS != "" {
			byODS[e.ODS] = append(byODS[e.ODS], e.PartyKey)
		}
		for _, r := range e.Roles {
			byRole[r] = append(byRole[r], e.PartyKey)
		}
	}
	d.mu.Lock()
	d.byKey, d.byASID, d.byODS, d.byRole, d.loadedAt = byKey, byASID, byODS, byRole, time.Now()
	d.mu.Unlock()
	return nil
}

// lookup runs find on the cache, reloading it first when stale and again
// when find misses (an entry added by `eps directory add` meanwhile).
func (d *Directory) lookup(ctx context.Context, find func() (Entry, bool)) (Entry, bool, error) {
	d.mu.RLock()
	age := time.Since(d.loadedAt)
	fresh := !d.loadedAt.IsZero() && age < d.ttl
	var e Entry
	var ok bool
	if fresh {
		e, ok = find()
	}
	d.mu.RUnlock()
	if ok {
		return e, true, nil
	}
	if fresh && age < missReload {
		return Entry{}, false, nil
	}
	if err := d.reload(ctx); err != nil {
		return Entry{}, false, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, ok = find()
	return e, ok, nil
}

// ByPartyKey finds the entry of a party key.
func (d *Directory) ByPartyKey(ctx context.Context, key string) (Entry, bool, error) {
	return d.lookup(ctx, func() (Entry, bool) {
		e, ok := d.byKey[key]
		return e, ok
	})
}

// ByASID finds the entry of an ASID (the first by party key if several).
func (d *Directory) ByASID(ctx context.Context, asid string) (Entry, bool, error) {
	return d.lookup(ctx, func() (Entry, bool) { return d.first(d.byASID[asid]) })
}

// ByODS finds the entry of an ODS code (the first by party key if several).
func (d *Directory) ByODS(ctx context.Context, ods string) (Entry, bool, error) {
	return d.lookup(ctx, func() (Entry, bool) { return d.first(d.byODS[ods]) })
}

func (d *Directory) first(keys []string) (Entry, bool) {
	if len(keys) == 0 {
		return Entry{}, false
	}
	k := slices.Min(keys)
	e, ok := d.byKey[k]
	return e, ok
}

// Resolve finds where an outbox destination goes. A destination is a party
// key, "asid:<ASID>", "ods:<ODS code>", or a role (e.g. "pricing-authority").
func (d *Directory) Resolve(ctx context.Context, dest string) (Entry, error) {
	var e Entry
	var ok bool
	var err error
	switch {
	case strings.HasPrefix(dest, "asid:"):
		e, ok, err = d.ByASID(ctx, strings.TrimPrefix(dest, "asid:"))
	case strings.HasPrefix(dest, "ods:"):
		e, ok, err = d.ByODS(ctx, strings.TrimPrefix(dest, "ods:"))
	default:
		e, ok, err = d.lookup(ctx, func() (Entry, bool) {
			if e, ok := d.byKey[dest]; ok {
				return e, true
			}
			return d.first(d.byRole[dest])
		})
	}
	if err != nil {
		return Entry{}, fmt.Errorf("directory: resolve %s: %w", dest, err)
	}
	if !ok {
		return Entry{}, fmt.Errorf("directory: %s: %w", dest, ErrUnknown)
	}
	return e, nil
}
