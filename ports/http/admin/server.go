// Package admin is the admin API under /admin/v1: JWT-authenticated JSON,
// errors as RFC 9457 problem details, one small struct per resource.
package admin

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/api"
	"github.com/gatehouse/gatehouse/app"
	"github.com/gatehouse/gatehouse/app/auditing"
	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/alerting"
	"github.com/gatehouse/gatehouse/domain/guardrail"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/routing"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// Prefix is where the admin API lives.
const Prefix = "/admin/v1"

// UseCases are the handlers the admin API exposes.
type UseCases struct {
	CreateTenant     app.Handler[command.CreateTenant, tenancy.Tenant]
	ListTenants      app.Handler[query.ListTenants, []tenancy.Tenant]
	GetTenant        app.Handler[query.GetTenant, tenancy.Tenant]
	UpdateTenant     app.Handler[command.UpdateTenant, tenancy.Tenant]
	ConnectProvider  app.Handler[command.ConnectProvider, provider.Connection]
	ListProviders    app.Handler[query.ListProviders, []provider.Connection]
	RotateProvider   app.Handler[command.RotateProviderCredentials, provider.Connection]
	CreateTeam       app.Handler[command.CreateTeam, tenancy.Team]
	UpdateTeam       app.Handler[command.UpdateTeam, tenancy.Team]
	ListTeams        app.Handler[query.ListTeams, []tenancy.Team]
	GetTeam          app.Handler[query.GetTeam, tenancy.Team]
	GrantKey         app.Handler[command.GrantKey, command.GrantedKey]
	UpdateKey        app.Handler[command.UpdateKey, key.Key]
	RotateKey        app.Handler[command.RotateKey, command.GrantedKey]
	RevokeKey        app.Handler[command.RevokeKey, key.Key]
	ListKeys         app.Handler[query.ListKeys, []key.Key]
	GetKey           app.Handler[query.GetKey, key.Key]
	SetPrice         app.Handler[command.SetPrice, pricing.ModelPrice]
	ListPrices       app.Handler[query.ListPrices, query.PriceSheet]
	SetBudget        app.Handler[command.SetBudget, quota.Budget]
	GetBudget        app.Handler[query.GetBudget, query.BudgetStatus]
	SetRateLimit     app.Handler[command.SetRateLimit, quota.RateLimit]
	GetRateLimit     app.Handler[query.GetRateLimit, query.RateLimitStatus]
	Spend            app.Handler[query.Spend, query.SpendReport]
	ListRequests     app.Handler[query.ListRequests, query.RequestPage]
	GetRequest       app.Handler[query.GetRequest, query.RequestRow]
	Analytics        app.Handler[query.Analytics, []query.AnalyticsSeries]
	Events           app.Handler[query.Events, query.EventPage]
	PublishConfig    app.Handler[command.PublishConfig, routing.Published]
	ListConfigs      app.Handler[query.ListConfigs, []routing.Published]
	GetConfig        app.Handler[query.GetConfig, routing.Published]
	ProviderHealth   app.Handler[query.ProviderHealth, query.Health]
	PublishGuardrail app.Handler[command.PublishGuardrail, guardrail.Published]
	ListGuardrails   app.Handler[query.ListGuardrails, []guardrail.Published]
	GetGuardrail     app.Handler[query.GetGuardrail, guardrail.Published]
	Audit            *auditing.Service
	AuditTrail       app.Handler[query.AuditTrail, query.TrailPage]
	AccessAt         app.Handler[query.AccessAt, query.AccessSnapshot]
	SignInFailed     app.Handler[command.RecordSignInFailure, struct{}]
	CreateWebhook    app.Handler[command.CreateWebhook, alerting.Webhook]
	ListWebhooks     app.Handler[query.ListWebhooks, []alerting.Webhook]
	ListDeliveries   app.Handler[query.ListDeliveries, []query.Delivery]
}

// Server is the admin API.
type Server struct {
	verifier *Verifier
	log      *slog.Logger
	uc       UseCases
}

// NewServer builds the admin API.
func NewServer(verifier *Verifier, uc UseCases, log *slog.Logger) *Server {
	if verifier == nil || log == nil {
		panic("admin.NewServer: nil dependency")
	}
	return &Server{verifier: verifier, log: log, uc: uc}
}

// Register adds every admin route to e.
func (s *Server) Register(e *echo.Echo) {
	e.GET(Prefix+"/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", api.OpenAPI)
	})
	g := e.Group(Prefix, s.authenticate)
	for _, r := range []interface{ register(*echo.Group) }{
		&tenants{s}, &teams{s}, &providers{s}, &keys{s}, &prices{s}, &quotas{s}, &spend{s}, &requests{s}, &events{s}, &configs{s}, &guardrails{s}, &auditRoutes{s}, &analytics{s}, &webhooks{s},
	} {
		r.register(g)
	}
}
