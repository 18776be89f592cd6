package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/tenancy"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
)

type tenants struct{ *Server }

type tenantJSON struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	CreatedAt            time.Time `json:"created_at"`
	PayloadRetentionDays int       `json:"payload_retention_days"`
}

func tenantOut(t tenancy.Tenant) tenantJSON {
	days := t.PayloadRetentionDays
	if days == 0 {
		days = tenancy.DefaultPayloadRetentionDays
	}
	return tenantJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, PayloadRetentionDays: days}
}

func (r *tenants) register(g *echo.Group) {
	g.POST("/tenants", r.create)
	g.GET("/tenants", r.list)
	g.GET("/tenants/:tenant", r.get)
	g.PATCH("/tenants/:tenant", r.update)
}

// update changes the tenant's settings (tenant.updated):
// {"payload_retention_days"}.
func (r *tenants) update(c echo.Context) error {
	var in struct {
		PayloadRetentionDays *int `json:"payload_retention_days"`
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	t, err := r.uc.UpdateTenant.Handle(c.Request().Context(), command.UpdateTenant{Actor: actor(c), TenantID: c.Param("tenant"), PayloadRetentionDays: in.PayloadRetentionDays})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, tenantOut(t))
}

func actor(c echo.Context) command.Actor {
	return command.Actor{Principal: principal(c), TraceID: middleware.TraceID(c)}
}

func (r *tenants) create(c echo.Context) error {
	var in struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	t, err := r.uc.CreateTenant.Handle(c.Request().Context(), command.CreateTenant{Actor: actor(c), ID: in.ID, Name: in.Name})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusCreated, tenantOut(t))
}

func (r *tenants) list(c echo.Context) error {
	ts, err := r.uc.ListTenants.Handle(c.Request().Context(), query.ListTenants{Principal: principal(c)})
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]tenantJSON, len(ts))
	for i, t := range ts {
		out[i] = tenantOut(t)
	}
	return c.JSON(http.StatusOK, map[string]any{"tenants": out})
}

func (r *tenants) get(c echo.Context) error {
	t, err := r.uc.GetTenant.Handle(c.Request().Context(), query.GetTenant{Principal: principal(c), TenantID: c.Param("tenant")})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, tenantOut(t))
}
