package query

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/access"
)

// EventView is one event of the raw feed, as a SIEM reads it: every field
// but Position comes from the stored record, which is included so that the
// chain can be verified from the feed alone.
type EventView struct {
	Position   int64
	ID         uuid.UUID
	Seq        int64
	StreamID   string
	Version    int
	Type       string
	TenantID   string
	OccurredAt time.Time
	Actor      string
	Role       string
	TraceID    string
	PrevHash   string
	Hash       string
	Data       json.RawMessage // the event's data exactly as stored
	Record     []byte          // the exact bytes the hash covers
}

// EventFeed pages through a tenant's events by position.
type EventFeed interface {
	TenantFeed(ctx context.Context, tenantID string, after int64, limit int) ([]EventView, error)
}

// Events asks for a page of a tenant's raw event feed.
type Events struct {
	Principal access.Principal
	TenantID  string
	After     int64
	Limit     int
}

// EventPage is a page and the cursor for the next one.
type EventPage struct {
	Events    []EventView
	NextAfter int64
}

// MaxEventPage bounds a page of the feed.
const MaxEventPage = 1000

// EventsHandler answers Events.
type EventsHandler struct {
	tenants Tenants
	feed    EventFeed
}

// NewEventsHandler wires the handler.
func NewEventsHandler(tenants Tenants, feed EventFeed) EventsHandler {
	if tenants == nil || feed == nil {
		panic("query.NewEventsHandler: nil dependency")
	}
	return EventsHandler{tenants: tenants, feed: feed}
}

// Handle reads the page. Within a tenant, positions grow in commit order,
// so a reader that resumes after next_after never misses an event.
func (h EventsHandler) Handle(ctx context.Context, q Events) (EventPage, error) {
	if err := allowedTenant(h.tenants, q.Principal.CanAudit(q.TenantID), q.TenantID); err != nil {
		return EventPage{}, err
	}
	if err := pageOf(&q.Limit, q.After); err != nil {
		return EventPage{}, err
	}
	evs, err := h.feed.TenantFeed(ctx, q.TenantID, q.After, q.Limit)
	if err != nil {
		return EventPage{}, err
	}
	page := EventPage{Events: evs, NextAfter: q.After}
	if n := len(evs); n > 0 {
		page.NextAfter = evs[n-1].Position
	}
	return page, nil
}

// pageOf checks a page's limit (0 is 100) and cursor.
func pageOf(limit *int, after int64) error {
	if *limit == 0 {
		*limit = 100
	}
	if *limit < 1 || *limit > MaxEventPage || after < 0 {
		return fmt.Errorf("%w: limit must be 1-%d and after non-negative", ErrInvalidQuery, MaxEventPage)
	}
	return nil
}
