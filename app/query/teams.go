package query

import (
	"context"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// TeamDirectory finds a tenant's teams.
type TeamDirectory interface {
	Tenants
	Team(tenantID string, id uuid.UUID) (tenancy.Team, bool)
	Teams(tenantID string) []tenancy.Team
}

// ListTeams asks for a tenant's teams.
type ListTeams struct {
	Principal access.Principal
	TenantID  string
}

// ListTeamsHandler answers ListTeams.
type ListTeamsHandler struct{ dir TeamDirectory }

// NewListTeamsHandler wires the handler.
func NewListTeamsHandler(dir TeamDirectory) ListTeamsHandler {
	if dir == nil {
		panic("query.NewListTeamsHandler: nil directory")
	}
	return ListTeamsHandler{dir: dir}
}

// Handle lists the teams.
func (h ListTeamsHandler) Handle(_ context.Context, q ListTeams) ([]tenancy.Team, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return nil, err
	}
	return h.dir.Teams(q.TenantID), nil
}

// GetTeam asks for one team.
type GetTeam struct {
	Principal access.Principal
	TenantID  string
	TeamID    uuid.UUID
}

// GetTeamHandler answers GetTeam.
type GetTeamHandler struct{ dir TeamDirectory }

// NewGetTeamHandler wires the handler.
func NewGetTeamHandler(dir TeamDirectory) GetTeamHandler {
	if dir == nil {
		panic("query.NewGetTeamHandler: nil directory")
	}
	return GetTeamHandler{dir: dir}
}

// Handle finds the team.
func (h GetTeamHandler) Handle(_ context.Context, q GetTeam) (tenancy.Team, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return tenancy.Team{}, err
	}
	t, ok := h.dir.Team(q.TenantID, q.TeamID)
	if !ok {
		return tenancy.Team{}, tenancy.ErrTeamNotFound
	}
	return t, nil
}
