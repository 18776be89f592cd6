package query

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/domain/access"
)

// TrailStore reads a tenant's audit trail from the log.
type TrailStore interface {
	// TrailPage is the governance events and refusals after a seq (every
	// event but completed requests and passing guardrail verdicts).
	TrailPage(ctx context.Context, tenantID string, f TrailFilter, after int64, limit int) ([]EventView, error)
	// StreamHistory is the earlier events of some streams, before a seq.
	StreamHistory(ctx context.Context, tenantID string, streams []string, beforeSeq int64) ([]EventView, error)
	Traffic(ctx context.Context, tenantID string, from, to time.Time) (Traffic, error)
}

// TrailFilter narrows the trail: a time range, an actor, an event type
// (or a family: "key" is every key.* event).
type TrailFilter struct {
	From, To *time.Time
	Actor    string
	Type     string
}

// Traffic summarises a range's requests, which the trail does not list.
type Traffic struct {
	Completed int64 // requests answered (GET …/requests lists them)
	Rejected  int64 // requests refused, listed in the trail
	Verdicts  int64 // guardrail verdicts; those that did not pass are listed
}

// AuditTrail asks for a page of a tenant's audit trail.
type AuditTrail struct {
	Principal access.Principal
	TenantID  string
	Filter    TrailFilter
	After     int64 // the seq after which the page starts
	Limit     int
}

// Resource is what an event is about: its stream's kind and id.
type Resource struct {
	Type string
	ID   string
}

// TrailEntry is one event as an auditor reads it: who, when, what, on
// which resource, the state before and after for a change, and how it
// ended.
type TrailEntry struct {
	Seq        int64
	OccurredAt time.Time
	Type       string
	Actor      string
	Role       string
	TraceID    string
	Resource   Resource
	Outcome    string
	Before     json.RawMessage // the resource before a change, JSON null when it is created; empty when not a change
	After      json.RawMessage // the resource after a change; empty when not a change
	Data       json.RawMessage // the event as recorded
}

// TrailPage is a page of the trail, the cursor for the next, and the
// range's traffic.
type TrailPage struct {
	Entries   []TrailEntry
	NextAfter int64
	Traffic   Traffic
}

// AuditTrailHandler answers AuditTrail.
type AuditTrailHandler struct {
	tenants Tenants
	store   TrailStore
	now     func() time.Time
}

// NewAuditTrailHandler wires the handler.
func NewAuditTrailHandler(tenants Tenants, store TrailStore, now func() time.Time) AuditTrailHandler {
	if tenants == nil || store == nil || now == nil {
		panic("query.NewAuditTrailHandler: nil dependency")
	}
	return AuditTrailHandler{tenants: tenants, store: store, now: now}
}

// notChanges are the event types that change no resource: refusals,
// verdicts, alerts and exports.
var notChanges = map[string]string{
	"request.rejected": "refused", "guardrail.verdict": "", "budget.alerted": "alerted", "budget.exceeded": "exceeded",
	"price.missing": "noted", "audit.exported": "exported", "admin.signin_failed": "failed",
	"audit.key_rotated": "rotated",
}

// Handle reads the page and works out each change's before and after.
func (h AuditTrailHandler) Handle(ctx context.Context, q AuditTrail) (TrailPage, error) {
	if err := allowedTenant(h.tenants, q.Principal.CanAudit(q.TenantID), q.TenantID); err != nil {
		return TrailPage{}, err
	}
	if err := pageOf(&q.Limit, q.After); err != nil {
		return TrailPage{}, err
	}
	if f := q.Filter; f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return TrailPage{}, fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	evs, err := h.store.TrailPage(ctx, q.TenantID, q.Filter, q.After, q.Limit)
	if err != nil {
		return TrailPage{}, err
	}
	page := TrailPage{NextAfter: q.After, Entries: make([]TrailEntry, 0, len(evs))}
	states, err := h.earlier(ctx, q.TenantID, evs)
	if err != nil {
		return TrailPage{}, err
	}
	for _, e := range evs {
		kind, id, _ := strings.Cut(e.StreamID, ":")
		entry := TrailEntry{Seq: e.Seq, OccurredAt: e.OccurredAt, Type: e.Type, Actor: e.Actor, Role: e.Role, TraceID: e.TraceID,
			Resource: Resource{Type: kind, ID: id}, Data: e.Data, Outcome: "succeeded"}
		if outcome, ok := notChanges[e.Type]; ok {
			entry.Outcome = outcome
			if e.Type == "guardrail.verdict" {
				var v struct{ Action string }
				json.Unmarshal(e.Data, &v)
				entry.Outcome = v.Action
			}
		} else {
			st := states[e.StreamID]
			entry.Before = json.RawMessage("null") // created here
			if st != nil {
				entry.Before = st.json()
			} else {
				st = &resourceState{}
				states[e.StreamID] = st
			}
			st.merge(e.Data)
			entry.After = st.json()
		}
		page.Entries = append(page.Entries, entry)
		page.NextAfter = e.Seq
	}
	from, to := time.Time{}, h.now().Add(time.Hour)
	if q.Filter.From != nil {
		from = *q.Filter.From
	}
	if q.Filter.To != nil {
		to = *q.Filter.To
	}
	if page.Traffic, err = h.store.Traffic(ctx, q.TenantID, from, to); err != nil {
		return TrailPage{}, err
	}
	return page, nil
}

// earlier folds, for each resource changed on the page, the events before
// the page's first event on it.
func (h AuditTrailHandler) earlier(ctx context.Context, tenantID string, evs []EventView) (map[string]*resourceState, error) {
	states := map[string]*resourceState{}
	first := map[string]int64{}
	for _, e := range evs {
		if _, ok := notChanges[e.Type]; !ok {
			if _, seen := first[e.StreamID]; !seen {
				first[e.StreamID] = e.Seq
			}
		}
	}
	if len(first) == 0 {
		return states, nil
	}
	streams := slices.Sorted(maps.Keys(first))
	history, err := h.store.StreamHistory(ctx, tenantID, streams, evs[0].Seq)
	if err != nil {
		return nil, err
	}
	for _, e := range history {
		if e.Seq >= first[e.StreamID] {
			continue
		}
		st := states[e.StreamID]
		if st == nil {
			st = &resourceState{}
			states[e.StreamID] = st
		}
		st.merge(e.Data)
	}
	return states, nil
}

// resourceState is a resource as its events have set it: the members of
// each event's data, later ones replacing earlier ones.
type resourceState struct{ members map[string]json.RawMessage }

func (s *resourceState) merge(data json.RawMessage) {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return
	}
	if s.members == nil {
		s.members = map[string]json.RawMessage{}
	}
	for k, v := range m {
		if k != "v" {
			s.members[k] = v
		}
	}
}

func (s *resourceState) json() json.RawMessage {
	b, _ := json.Marshal(s.members)
	return b
}
