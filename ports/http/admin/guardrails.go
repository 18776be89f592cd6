package admin

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/guardrail"
)

type guardrails struct{ *Server }

type guardrailJSON struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Version     int             `json:"version"`
	Definition  json.RawMessage `json:"definition,omitempty"`
	PublishedAt time.Time       `json:"published_at"`
}

func guardrailOut(p guardrail.Published, withDefinition bool) guardrailJSON {
	out := guardrailJSON{ID: p.ID.String(), Name: p.Name, Version: p.Version, PublishedAt: p.PublishedAt}
	if withDefinition {
		out.Definition = p.Raw
	}
	return out
}

func (r *guardrails) register(g *echo.Group) {
	g.POST("/tenants/:tenant/guardrails", r.publish)
	g.GET("/tenants/:tenant/guardrails", r.list)
	g.GET("/tenants/:tenant/guardrails/:name", r.get)
}

// publish publishes the next version of a named guardrail
// (guardrail.published). The body is the definition with its name:
// {"name", "checks", "action", "on_error"}.
func (r *guardrails) publish(c echo.Context) error {
	var raw map[string]json.RawMessage
	if err := decode(c, &raw); err != nil {
		return r.fail(c, err)
	}
	var name string
	if err := json.Unmarshal(raw["name"], &name); err != nil || name == "" {
		return r.fail(c, errBadInputf("name is required"))
	}
	delete(raw, "name")
	def, err := json.Marshal(raw)
	if err != nil {
		return r.fail(c, err)
	}
	p, err := r.uc.PublishGuardrail.Handle(c.Request().Context(), command.PublishGuardrail{Actor: actor(c), TenantID: c.Param("tenant"), Name: name, Definition: def})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusCreated, guardrailOut(p, false))
}

func (r *guardrails) list(c echo.Context) error {
	list, err := r.uc.ListGuardrails.Handle(c.Request().Context(), query.ListGuardrails{Principal: principal(c), TenantID: c.Param("tenant")})
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]guardrailJSON, len(list))
	for i, p := range list {
		out[i] = guardrailOut(p, true)
	}
	return c.JSON(http.StatusOK, map[string]any{"guardrails": out})
}

func (r *guardrails) get(c echo.Context) error {
	version, err := versionParam(c)
	if err != nil {
		return r.fail(c, err)
	}
	p, err := r.uc.GetGuardrail.Handle(c.Request().Context(), query.GetGuardrail{Principal: principal(c), TenantID: c.Param("tenant"), Name: c.Param("name"), Version: version})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, guardrailOut(p, true))
}
