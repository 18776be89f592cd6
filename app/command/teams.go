package command

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// CreateTeam founds a team in a tenant.
type CreateTeam struct {
	Actor
	TenantID string
	Name     string
}

// CreateTeamHandler handles CreateTeam.
type CreateTeamHandler struct {
	tenants Tenants
	repo    TeamRepository
	now     func() time.Time
}

// NewCreateTeamHandler wires the handler.
func NewCreateTeamHandler(tenants Tenants, repo TeamRepository, now func() time.Time) CreateTeamHandler {
	mustNotBeNil("NewCreateTeamHandler", tenants, repo, now)
	return CreateTeamHandler{tenants: tenants, repo: repo, now: now}
}

// Handle founds the team.
func (h CreateTeamHandler) Handle(ctx context.Context, c CreateTeam) (tenancy.Team, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return tenancy.Team{}, err
	}
	e, err := tenancy.CreateTeam(uuid.New(), c.Name)
	if err != nil {
		return tenancy.Team{}, err
	}
	now := h.now()
	meta := c.meta(now)
	if err := h.repo.CreateTeam(ctx, meta, c.TenantID, e); err != nil {
		return tenancy.Team{}, err
	}
	var t tenancy.Team
	t.Apply(eventlog.Recorded{Envelope: meta.Envelope(uuid.Nil, c.TenantID, tenancy.TeamStreamID(e.TeamID), 1, e)})
	return t, nil
}

// UpdateTeam renames a team, or sets its guardrails.
type UpdateTeam struct {
	Actor
	TenantID    string
	TeamID      uuid.UUID
	Name        *string
	Guardrails  *tenancy.Guardrails
	LogPayloads *bool
}

// UpdateTeamHandler handles UpdateTeam.
type UpdateTeamHandler struct {
	tenants Tenants
	configs Configs
	repo    TeamRepository
	now     func() time.Time
}

// NewUpdateTeamHandler wires the handler.
func NewUpdateTeamHandler(tenants Tenants, configs Configs, repo TeamRepository, now func() time.Time) UpdateTeamHandler {
	mustNotBeNil("NewUpdateTeamHandler", tenants, configs, repo, now)
	return UpdateTeamHandler{tenants: tenants, configs: configs, repo: repo, now: now}
}

// Handle changes the team and returns it as changed.
func (h UpdateTeamHandler) Handle(ctx context.Context, c UpdateTeam) (tenancy.Team, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return tenancy.Team{}, err
	}
	if g := c.Guardrails; g != nil {
		for _, name := range append(append([]string(nil), g.Input...), g.Output...) {
			if _, ok := h.configs.GuardrailVersion(c.TenantID, name, 0); !ok {
				return tenancy.Team{}, fmt.Errorf("%w: guardrail %q is not a guardrail of this tenant", tenancy.ErrInvalid, name)
			}
		}
	}
	now := h.now()
	meta := c.meta(now)
	var out tenancy.Team
	err := h.repo.UpdateTeam(ctx, meta, c.TenantID, c.TeamID, func(t *tenancy.Team) ([]eventlog.Event, error) {
		out = *t
		var events []eventlog.Event
		version := t.Version
		add := func(e tenancy.TeamUpdated) {
			version++
			out.Apply(eventlog.Recorded{Envelope: meta.Envelope(uuid.Nil, c.TenantID, tenancy.TeamStreamID(t.ID), version, e)})
			events = append(events, e)
		}
		if c.Name != nil {
			e, changed, err := out.Rename(*c.Name)
			if err != nil {
				return nil, err
			}
			if changed {
				add(e)
			}
		}
		if c.Guardrails != nil {
			e, changed, err := out.SetGuardrails(*c.Guardrails)
			if err != nil {
				return nil, err
			}
			if changed {
				add(e)
			}
		}
		if c.LogPayloads != nil {
			if e, changed := out.SetLogPayloads(*c.LogPayloads); changed {
				add(e)
			}
		}
		return events, nil
	})
	return out, err
}
