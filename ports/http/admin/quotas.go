package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/quota"
)

// quotas serves budgets and rate limits: PUT sets, GET shows where they stand.
type quotas struct{ *Server }

func (r *quotas) register(g *echo.Group) {
	g.PUT("/tenants/:tenant/budgets/:scope/:id", r.setBudget)
	g.GET("/tenants/:tenant/budgets/:scope/:id", r.getBudget)
	g.PUT("/tenants/:tenant/rate-limits/:scope/:id", r.setRateLimit)
	g.GET("/tenants/:tenant/rate-limits/:scope/:id", r.getRateLimit)
}

func subject(c echo.Context) (quota.Subject, error) {
	scope, err := quota.ParseScope(c.Param("scope"))
	if err != nil {
		return quota.Subject{}, err
	}
	return quota.Subject{TenantID: c.Param("tenant"), Scope: scope, ID: c.Param("id")}, nil
}

type budgetJSON struct {
	Scope        string     `json:"scope"`
	ID           string     `json:"id"`
	LimitUSD     float64    `json:"limit_usd"`
	Period       string     `json:"period"`
	Hard         bool       `json:"hard"`
	AlertAt      []float64  `json:"alert_at"`
	SpentUSD     *float64   `json:"spent_usd,omitempty"`
	ReservedUSD  *float64   `json:"reserved_usd,omitempty"`
	RemainingUSD *float64   `json:"remaining_usd,omitempty"`
	WindowStart  *time.Time `json:"window_start,omitempty"`
	WindowEnd    *time.Time `json:"window_end,omitempty"`
}

func budgetOut(b quota.Budget) budgetJSON {
	alerts := b.AlertAt
	if alerts == nil {
		alerts = []float64{}
	}
	return budgetJSON{Scope: string(b.Scope), ID: b.ID, LimitUSD: b.Limit.USD(), Period: string(b.Period), Hard: b.Hard, AlertAt: alerts}
}

func (r *quotas) setBudget(c echo.Context) error {
	s, err := subject(c)
	if err != nil {
		return r.fail(c, err)
	}
	var in struct {
		LimitUSD *float64  `json:"limit_usd"`
		Period   string    `json:"period"`
		Hard     *bool     `json:"hard"`
		AlertAt  []float64 `json:"alert_at"`
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	if in.LimitUSD == nil {
		return r.fail(c, errBadInputf("limit_usd is required"))
	}
	hard := true // a budget refuses past its limit unless told otherwise
	if in.Hard != nil {
		hard = *in.Hard
	}
	period := quota.Period(in.Period)
	if period == "" {
		period = quota.Month
	}
	b, err := r.uc.SetBudget.Handle(c.Request().Context(), command.SetBudget{Actor: actor(c), Subject: s, LimitUSD: *in.LimitUSD, Period: period, Hard: hard, AlertAt: in.AlertAt})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, budgetOut(b))
}

func (r *quotas) getBudget(c echo.Context) error {
	s, err := subject(c)
	if err != nil {
		return r.fail(c, err)
	}
	st, err := r.uc.GetBudget.Handle(c.Request().Context(), query.GetBudget{Principal: principal(c), Subject: s, Now: time.Now()})
	if err != nil {
		return r.fail(c, err)
	}
	out := budgetOut(st.Budget)
	spent, reserved, remaining := st.Spent.USD(), st.Reserved.USD(), st.Remaining().USD()
	out.SpentUSD, out.ReservedUSD, out.RemainingUSD = &spent, &reserved, &remaining
	out.WindowStart = &st.WindowStart
	if !st.WindowEnd.IsZero() {
		out.WindowEnd = &st.WindowEnd
	}
	return c.JSON(http.StatusOK, out)
}

type rateLimitJSON struct {
	Scope       string `json:"scope"`
	ID          string `json:"id"`
	RPM         int64  `json:"rpm"`
	TPM         int64  `json:"tpm"`
	Concurrency int64  `json:"concurrency"`
	Current     *struct {
		Minute   time.Time `json:"minute"`
		Requests int64     `json:"requests"`
		Tokens   int64     `json:"tokens"`
		InFlight int64     `json:"in_flight"`
	} `json:"current,omitempty"`
}

func rateLimitOut(l quota.RateLimit) rateLimitJSON {
	return rateLimitJSON{Scope: string(l.Scope), ID: l.ID, RPM: l.RPM, TPM: l.TPM, Concurrency: l.Concurrency}
}

func (r *quotas) setRateLimit(c echo.Context) error {
	s, err := subject(c)
	if err != nil {
		return r.fail(c, err)
	}
	var in struct {
		RPM         int64 `json:"rpm"`
		TPM         int64 `json:"tpm"`
		Concurrency int64 `json:"concurrency"`
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	l, err := r.uc.SetRateLimit.Handle(c.Request().Context(), command.SetRateLimit{Actor: actor(c), Subject: s, RPM: in.RPM, TPM: in.TPM, Concurrency: in.Concurrency})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, rateLimitOut(l))
}

func (r *quotas) getRateLimit(c echo.Context) error {
	s, err := subject(c)
	if err != nil {
		return r.fail(c, err)
	}
	st, err := r.uc.GetRateLimit.Handle(c.Request().Context(), query.GetRateLimit{Principal: principal(c), Subject: s, Now: time.Now()})
	if err != nil {
		return r.fail(c, err)
	}
	out := rateLimitOut(st.Limit)
	out.Current = &struct {
		Minute   time.Time `json:"minute"`
		Requests int64     `json:"requests"`
		Tokens   int64     `json:"tokens"`
		InFlight int64     `json:"in_flight"`
	}{st.Minute, st.Requests, st.Tokens, st.InFlight}
	return c.JSON(http.StatusOK, out)
}
