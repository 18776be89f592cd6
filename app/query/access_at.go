package query

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// EventRef names an event of the log: where it is, what, when, by whom.
type EventRef struct {
	Seq        int64
	Type       string
	OccurredAt time.Time
	Actor      string
	Role       string
}

// KeyAccess is a key as it stood at an instant: whose it was, what it
// could call, under which budgets and limits, and the events that granted
// it, changed it and (at that instant or later) revoked it.
type KeyAccess struct {
	Key     key.Key
	Team    *tenancy.Team
	Budgets []quota.Budget
	Limits  []quota.RateLimit
	Granted EventRef
	Changes []EventRef // key.updated and key.rotated up to the instant
	Revoked *EventRef  // the revocation, at any time after the instant
}

// AccessSnapshot is who could call which model at an instant: the keys
// active then, replayed from the log up to the last event recorded at or
// before it.
type AccessSnapshot struct {
	At      time.Time
	LastSeq int64 // the last event replayed
	Keys    []KeyAccess
}

// AccessReplayer replays a tenant's log up to an instant.
type AccessReplayer interface {
	AccessAt(ctx context.Context, tenantID string, at time.Time) (AccessSnapshot, error)
}

// AccessAt asks who could call which model at an instant.
type AccessAt struct {
	Principal access.Principal
	TenantID  string
	At        time.Time
}

// AccessAtHandler answers AccessAt.
type AccessAtHandler struct {
	tenants  Tenants
	replayer AccessReplayer
}

// NewAccessAtHandler wires the handler.
func NewAccessAtHandler(tenants Tenants, replayer AccessReplayer) AccessAtHandler {
	if tenants == nil || replayer == nil {
		panic("query.NewAccessAtHandler: nil dependency")
	}
	return AccessAtHandler{tenants: tenants, replayer: replayer}
}

// Handle replays the log to the instant.
func (h AccessAtHandler) Handle(ctx context.Context, q AccessAt) (AccessSnapshot, error) {
	if err := allowedTenant(h.tenants, q.Principal.CanAudit(q.TenantID), q.TenantID); err != nil {
		return AccessSnapshot{}, err
	}
	if q.At.IsZero() {
		return AccessSnapshot{}, fmt.Errorf("%w: at must be a time", ErrInvalidQuery)
	}
	return h.replayer.AccessAt(ctx, q.TenantID, q.At)
}
