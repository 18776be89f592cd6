package projectors

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/guardrail"
	"github.com/gatehouse/gatehouse/domain/key"
)

// GovernanceLog reads a tenant's events but its traffic, in order.
type GovernanceLog interface {
	TenantGovernance(ctx context.Context, tenantID string) ([]eventlog.Recorded, error)
}

// AccessHistory answers who could call which model at a past instant by
// replaying the tenant's log up to it into a directory of its own.
type AccessHistory struct {
	log     GovernanceLog
	compile guardrail.SchemaCompiler
}

// NewAccessHistory builds the replayer.
func NewAccessHistory(log GovernanceLog, compile guardrail.SchemaCompiler) *AccessHistory {
	if log == nil {
		panic("projectors.NewAccessHistory: nil log")
	}
	return &AccessHistory{log: log, compile: compile}
}

var _ query.AccessReplayer = (*AccessHistory)(nil)

func ref(r eventlog.Recorded) query.EventRef {
	return query.EventRef{Seq: r.Seq, Type: r.Event.EventType(), OccurredAt: r.OccurredAt, Actor: r.Actor, Role: r.Role}
}

// AccessAt replays the events recorded at or before at, and lists the keys
// active then.
func (h *AccessHistory) AccessAt(ctx context.Context, tenantID string, at time.Time) (query.AccessSnapshot, error) {
	recs, err := h.log.TenantGovernance(ctx, tenantID)
	if err != nil {
		return query.AccessSnapshot{}, err
	}
	d := NewDirectory()
	if h.compile != nil {
		d.UseSchemaCompiler(h.compile)
	}
	snap := query.AccessSnapshot{At: at.UTC()}
	granted := map[string]eventlog.Recorded{}
	changes := map[string][]query.EventRef{}
	revoked := map[string]eventlog.Recorded{}
	for _, r := range recs {
		stream := r.StreamID
		past := !r.OccurredAt.After(at)
		switch r.Event.(type) {
		case key.KeyGranted:
			granted[stream] = r
		case key.KeyUpdated, key.KeyRotated:
			if past {
				changes[stream] = append(changes[stream], ref(r))
			}
		case key.KeyRevoked:
			revoked[stream] = r
		}
		if !past {
			continue
		}
		if err := d.Handle(ctx, []eventlog.Recorded{r}); err != nil {
			return query.AccessSnapshot{}, err
		}
		snap.LastSeq = r.Seq
	}
	for _, k := range d.Keys(tenantID) {
		if (k.RevokedAt != nil && !k.RevokedAt.After(at)) || (k.ExpiresAt != nil && !k.ExpiresAt.After(at)) {
			continue
		}
		stream := key.StreamID(k.ID)
		ka := query.KeyAccess{Key: k, Granted: ref(granted[stream]), Changes: changes[stream]}
		ka.Budgets, ka.Limits = d.Quotas(k)
		if k.TeamID != nil {
			if t, ok := d.Team(tenantID, *k.TeamID); ok {
				ka.Team = &t
			}
		}
		if r, ok := revoked[stream]; ok {
			rv := ref(r)
			ka.Revoked = &rv
		}
		snap.Keys = append(snap.Keys, ka)
	}
	slices.SortFunc(snap.Keys, func(a, b query.KeyAccess) int { return strings.Compare(a.Key.ID.String(), b.Key.ID.String()) })
	return snap, nil
}
