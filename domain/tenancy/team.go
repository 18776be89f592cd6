package tenancy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// Team is a group of keys inside a tenant, which budgets and limits can
// apply to as a whole.
type Team struct {
	ID        uuid.UUID
	TenantID  string
	Name      string
	CreatedAt time.Time
	Version   int
}

// TeamCreated founds a team.
type TeamCreated struct {
	V      int       `json:"v"`
	TeamID uuid.UUID `json:"team_id"`
	Name   string    `json:"name"`
}

func (TeamCreated) EventType() string { return "team.created" }
func (TeamCreated) EventVersion() int { return 1 }

// TeamUpdated renames a team.
type TeamUpdated struct {
	V      int       `json:"v"`
	TeamID uuid.UUID `json:"team_id"`
	Name   string    `json:"name"`
}

func (TeamUpdated) EventType() string { return "team.updated" }
func (TeamUpdated) EventVersion() int { return 1 }

// TeamStreamID is a team's stream.
func TeamStreamID(id uuid.UUID) string { return "team:" + id.String() }

// ErrTeamNotFound is a team that does not exist in the tenant.
var ErrTeamNotFound = errors.New("team not found")

func teamName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return "", fmt.Errorf("%w: team name must be 1-200 characters", ErrInvalid)
	}
	return name, nil
}

// CreateTeam decides a new team.
func CreateTeam(id uuid.UUID, name string) (TeamCreated, error) {
	name, err := teamName(name)
	if err != nil {
		return TeamCreated{}, err
	}
	return TeamCreated{V: 1, TeamID: id, Name: name}, nil
}

// Rename decides a new name; ok is false when it is the same.
func (t *Team) Rename(name string) (e TeamUpdated, ok bool, err error) {
	name, err = teamName(name)
	if err != nil || name == t.Name {
		return TeamUpdated{}, false, err
	}
	return TeamUpdated{V: 1, TeamID: t.ID, Name: name}, true, nil
}

// Apply folds one recorded event of the team's stream into the team.
func (t *Team) Apply(r eventlog.Recorded) {
	switch e := r.Event.(type) {
	case TeamCreated:
		*t = Team{ID: e.TeamID, TenantID: r.TenantID, Name: e.Name, CreatedAt: r.OccurredAt}
	case TeamUpdated:
		t.Name = e.Name
	}
	t.Version = r.Version
}
