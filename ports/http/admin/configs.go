package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/routing"
)

type configs struct{ *Server }

type configJSON struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Version     int             `json:"version"`
	Config      json.RawMessage `json:"config,omitempty"`
	PublishedAt time.Time       `json:"published_at"`
}

func configOut(p routing.Published, withConfig bool) configJSON {
	out := configJSON{ID: p.ID.String(), Name: p.Name, Version: p.Version, PublishedAt: p.PublishedAt}
	if withConfig {
		out.Config = p.Raw
	}
	return out
}

func (r *configs) register(g *echo.Group) {
	g.POST("/tenants/:tenant/configs", r.publish)
	g.GET("/tenants/:tenant/configs", r.list)
	g.GET("/tenants/:tenant/configs/:name", r.get)
}

// publish publishes the next version of a named config (config.published).
func (r *configs) publish(c echo.Context) error {
	var in struct {
		Name   string          `json:"name"`
		Config json.RawMessage `json:"config"`
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	if len(in.Config) == 0 || string(in.Config) == "null" {
		return r.fail(c, errBadInputf("config is required"))
	}
	p, err := r.uc.PublishConfig.Handle(c.Request().Context(), command.PublishConfig{Actor: actor(c), TenantID: c.Param("tenant"), Name: in.Name, Config: in.Config})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusCreated, configOut(p, false))
}

func (r *configs) list(c echo.Context) error {
	list, err := r.uc.ListConfigs.Handle(c.Request().Context(), query.ListConfigs{Principal: principal(c), TenantID: c.Param("tenant")})
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]configJSON, len(list))
	for i, p := range list {
		out[i] = configOut(p, true)
	}
	return c.JSON(http.StatusOK, map[string]any{"configs": out})
}

func (r *configs) get(c echo.Context) error {
	version, err := versionParam(c)
	if err != nil {
		return r.fail(c, err)
	}
	p, err := r.uc.GetConfig.Handle(c.Request().Context(), query.GetConfig{Principal: principal(c), TenantID: c.Param("tenant"), Name: c.Param("name"), Version: version})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, configOut(p, true))
}

// versionParam reads ?version=N of a versioned resource: 0 when absent
// (the latest).
func versionParam(c echo.Context) (int, error) {
	v := c.QueryParam("version")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errBadInputf("version must be a positive integer")
	}
	return n, nil
}
