package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/provider"
)

type providers struct{ *Server }

// providerJSON never carries a secret: the API key is write-only.
type providerJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	BaseURL string `json:"base_url"`
	provider.Settings
}

func providerOut(p provider.Connection) providerJSON {
	return providerJSON{ID: p.ID.String(), Name: p.Name, Kind: string(p.Kind), BaseURL: p.BaseURL, Settings: p.Settings}
}

func (r *providers) register(g *echo.Group) {
	g.POST("/tenants/:tenant/providers", r.create)
	g.GET("/tenants/:tenant/providers", r.list)
	g.POST("/tenants/:tenant/providers/:name/rotate", r.rotate)
	g.GET("/tenants/:tenant/providers/:name/health", r.health)
}

type circuitJSON struct {
	Model               string     `json:"model"`
	State               string     `json:"state"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	OpenedAt            *time.Time `json:"opened_at"`
	RetryAt             *time.Time `json:"retry_at"`
}

// health shows a connection's circuit breakers, on the replica that answers.
func (r *providers) health(c echo.Context) error {
	h, err := r.uc.ProviderHealth.Handle(c.Request().Context(), query.ProviderHealth{Principal: principal(c), TenantID: c.Param("tenant"), Provider: c.Param("name")})
	if err != nil {
		return r.fail(c, err)
	}
	circuits := make([]circuitJSON, len(h.Circuits))
	for i, v := range h.Circuits {
		circuits[i] = circuitJSON{Model: v.Model, State: v.State, ConsecutiveFailures: v.ConsecutiveFailures, OpenedAt: v.OpenedAt, RetryAt: v.RetryAt}
	}
	return c.JSON(http.StatusOK, map[string]any{"provider": providerOut(h.Connection), "circuits": circuits})
}

// rotate replaces a connection's credentials (provider.rotated).
func (r *providers) rotate(c echo.Context) error {
	var in command.Credentials
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	p, err := r.uc.RotateProvider.Handle(c.Request().Context(), command.RotateProviderCredentials{
		Actor: actor(c), TenantID: c.Param("tenant"), Name: c.Param("name"), Credentials: in,
	})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, providerOut(p))
}

func (r *providers) create(c echo.Context) error {
	var in struct {
		Name    string `json:"name"`
		Kind    string `json:"kind"`
		BaseURL string `json:"base_url"`
		command.Credentials
		provider.Settings
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	p, err := r.uc.ConnectProvider.Handle(c.Request().Context(), command.ConnectProvider{
		Actor: actor(c), TenantID: c.Param("tenant"), Name: in.Name, Kind: provider.Kind(in.Kind), BaseURL: in.BaseURL,
		Settings: in.Settings, Credentials: in.Credentials,
	})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusCreated, providerOut(p))
}

func (r *providers) list(c echo.Context) error {
	ps, err := r.uc.ListProviders.Handle(c.Request().Context(), query.ListProviders{Principal: principal(c), TenantID: c.Param("tenant")})
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]providerJSON, len(ps))
	for i, p := range ps {
		out[i] = providerOut(p)
	}
	return c.JSON(http.StatusOK, map[string]any{"providers": out})
}
