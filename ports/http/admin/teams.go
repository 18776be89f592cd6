package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

type teams struct{ *Server }

type teamJSON struct {
	ID         string             `json:"id"`
	TenantID   string             `json:"tenant"`
	Name       string             `json:"name"`
	CreatedAt  time.Time          `json:"created_at"`
	Guardrails tenancy.Guardrails `json:"guardrails"`
	// LogPayloads: the bodies of the team's keys' requests are stored.
	LogPayloads bool `json:"log_payloads"`
}

func teamOut(t tenancy.Team) teamJSON {
	g := t.Guardrails
	if g.Input == nil {
		g.Input = []string{}
	}
	if g.Output == nil {
		g.Output = []string{}
	}
	return teamJSON{ID: t.ID.String(), TenantID: t.TenantID, Name: t.Name, CreatedAt: t.CreatedAt, Guardrails: g, LogPayloads: t.LogPayloads}
}

func (r *teams) register(g *echo.Group) {
	g.POST("/tenants/:tenant/teams", r.create)
	g.GET("/tenants/:tenant/teams", r.list)
	g.GET("/tenants/:tenant/teams/:team", r.get)
	g.PATCH("/tenants/:tenant/teams/:team", r.update)
}

func (r *teams) create(c echo.Context) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	t, err := r.uc.CreateTeam.Handle(c.Request().Context(), command.CreateTeam{Actor: actor(c), TenantID: c.Param("tenant"), Name: in.Name})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusCreated, teamOut(t))
}

func (r *teams) list(c echo.Context) error {
	ts, err := r.uc.ListTeams.Handle(c.Request().Context(), query.ListTeams{Principal: principal(c), TenantID: c.Param("tenant")})
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]teamJSON, len(ts))
	for i, t := range ts {
		out[i] = teamOut(t)
	}
	return c.JSON(http.StatusOK, map[string]any{"teams": out})
}

func (r *teams) get(c echo.Context) error {
	id, err := uuidParam(c, "team", tenancy.ErrTeamNotFound)
	if err != nil {
		return r.fail(c, err)
	}
	t, err := r.uc.GetTeam.Handle(c.Request().Context(), query.GetTeam{Principal: principal(c), TenantID: c.Param("tenant"), TeamID: id})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, teamOut(t))
}

func (r *teams) update(c echo.Context) error {
	id, err := uuidParam(c, "team", tenancy.ErrTeamNotFound)
	if err != nil {
		return r.fail(c, err)
	}
	var in struct {
		Name        *string             `json:"name"`
		Guardrails  *tenancy.Guardrails `json:"guardrails"`
		LogPayloads *bool               `json:"log_payloads"`
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	t, err := r.uc.UpdateTeam.Handle(c.Request().Context(), command.UpdateTeam{Actor: actor(c), TenantID: c.Param("tenant"), TeamID: id, Name: in.Name, Guardrails: in.Guardrails,
		LogPayloads: in.LogPayloads})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, teamOut(t))
}
