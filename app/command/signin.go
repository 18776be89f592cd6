package command

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// SignInRepository records refused sign-ins.
type SignInRepository interface {
	RecordSignInFailure(ctx context.Context, meta eventlog.Meta, tenantID string, e access.SignInFailed) error
}

// RecordSignInFailure records that an admin sign-in at a tenant's route
// was refused.
type RecordSignInFailure struct {
	TenantID   string
	Reason     string
	Route      string
	RemoteAddr string
	TraceID    string
}

// RecordSignInFailureHandler records at most one refusal a second per
// tenant, counting the others into the next one, so that a flood of bad
// tokens cannot flood the tenant's log.
type RecordSignInFailureHandler struct {
	tenants Tenants
	repo    SignInRepository
	now     func() time.Time

	mu    sync.Mutex
	last  map[string]time.Time
	quiet map[string]int64
}

// NewRecordSignInFailureHandler wires the handler.
func NewRecordSignInFailureHandler(tenants Tenants, repo SignInRepository, now func() time.Time) *RecordSignInFailureHandler {
	mustNotBeNil("NewRecordSignInFailureHandler", tenants, repo, now)
	return &RecordSignInFailureHandler{tenants: tenants, repo: repo, now: now, last: map[string]time.Time{}, quiet: map[string]int64{}}
}

// Handle records the refusal, or counts it when one was recorded for the
// tenant within the last second. A tenant that does not exist records nothing.
func (h *RecordSignInFailureHandler) Handle(ctx context.Context, c RecordSignInFailure) (struct{}, error) {
	if _, ok := h.tenants.Tenant(c.TenantID); !ok {
		return struct{}{}, nil
	}
	now := h.now()
	h.mu.Lock()
	if now.Sub(h.last[c.TenantID]) < time.Second {
		h.quiet[c.TenantID]++
		h.mu.Unlock()
		return struct{}{}, nil
	}
	suppressed := h.quiet[c.TenantID]
	h.last[c.TenantID], h.quiet[c.TenantID] = now, 0
	h.mu.Unlock()
	e := access.SignInFailed{V: 1, Reason: c.Reason, Route: c.Route, RemoteAddr: c.RemoteAddr, Suppressed: suppressed}
	meta := eventlog.Meta{Actor: "anonymous", TraceID: c.TraceID, OccurredAt: now.UTC()}
	return struct{}{}, h.repo.RecordSignInFailure(ctx, meta, c.TenantID, e)
}
