package tenancy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
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
	// Guardrails every request of the team's keys runs, by name.
	Guardrails Guardrails
	// LogPayloads stores the bodies of every request of the team's keys.
	LogPayloads bool
	Version     int
}

// Guardrails are guardrails by name, on input and on output.
type Guardrails struct {
	Input  []string `json:"input,omitempty"`
	Output []string `json:"output,omitempty"`
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
	// Guardrails are the team's after the change; absent in events from
	// before teams had them, and in renames.
	Guardrails *Guardrails `json:"guardrails,omitempty"`
	// LogPayloads is whether the team's bodies are stored; absent in
	// events that do not change it.
	LogPayloads *bool `json:"log_payloads,omitempty"`
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

var guardrailName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// SetGuardrails decides the team's guardrails; ok is false when they are
// the same.
func (t *Team) SetGuardrails(g Guardrails) (e TeamUpdated, ok bool, err error) {
	for _, n := range append(append([]string(nil), g.Input...), g.Output...) {
		if !guardrailName.MatchString(n) {
			return TeamUpdated{}, false, fmt.Errorf("%w: guardrails must name guardrails", ErrInvalid)
		}
	}
	if len(g.Input) > 16 || len(g.Output) > 16 {
		return TeamUpdated{}, false, fmt.Errorf("%w: at most 16 guardrails at each stage", ErrInvalid)
	}
	if slices.Equal(g.Input, t.Guardrails.Input) && slices.Equal(g.Output, t.Guardrails.Output) {
		return TeamUpdated{}, false, nil
	}
	return TeamUpdated{V: 1, TeamID: t.ID, Name: t.Name, Guardrails: &g}, true, nil
}

// SetLogPayloads decides whether the team's bodies are stored; ok is false
// when it is already so.
func (t *Team) SetLogPayloads(on bool) (e TeamUpdated, ok bool) {
	if on == t.LogPayloads {
		return TeamUpdated{}, false
	}
	return TeamUpdated{V: 1, TeamID: t.ID, Name: t.Name, LogPayloads: &on}, true
}

// Apply folds one recorded event of the team's stream into the team.
func (t *Team) Apply(r eventlog.Recorded) {
	switch e := r.Event.(type) {
	case TeamCreated:
		*t = Team{ID: e.TeamID, TenantID: r.TenantID, Name: e.Name, CreatedAt: r.OccurredAt}
	case TeamUpdated:
		t.Name = e.Name
		if e.Guardrails != nil {
			t.Guardrails = *e.Guardrails
		}
		if e.LogPayloads != nil {
			t.LogPayloads = *e.LogPayloads
		}
	}
	t.Version = r.Version
}
