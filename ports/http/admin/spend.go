package admin

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/query"
)

type spend struct{ *Server }

type spendTotalsJSON struct {
	Group            string  `json:"group,omitempty"`
	Requests         int64   `json:"requests"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	CostMicros       int64   `json:"cost_micros"`
}

func totalsOut(t query.SpendTotals) spendTotalsJSON {
	return spendTotalsJSON{Group: t.Group, Requests: t.Requests, PromptTokens: t.PromptTokens,
		CompletionTokens: t.CompletionTokens, CostUSD: t.Cost.USD(), CostMicros: int64(t.Cost)}
}

func (r *spend) register(g *echo.Group) {
	g.GET("/tenants/:tenant/spend", r.get)
}

// timeRange reads from/to (RFC 3339 or a date); defaults: the last 30 days.
func timeRange(c echo.Context, now time.Time) (time.Time, time.Time, error) {
	to, err := timeParam(c, "to")
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if to == nil {
		t := now.UTC().Add(time.Hour)
		to = &t
	}
	from, err := timeParam(c, "from")
	if err != nil || from != nil {
		return derefTime(from), *to, err
	}
	return to.AddDate(0, 0, -30), *to, nil
}

// timeParam reads a query parameter that is an RFC 3339 time or a date; nil when absent.
func timeParam(c echo.Context, name string) (*time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, errors.Join(errBadInput, fmt.Errorf("%s must be an RFC 3339 time or a YYYY-MM-DD date", name))
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func (r *spend) get(c echo.Context) error {
	from, to, err := timeRange(c, time.Now())
	if err != nil {
		return r.fail(c, err)
	}
	rep, err := r.uc.Spend.Handle(c.Request().Context(), query.Spend{
		Principal: principal(c), TenantID: c.Param("tenant"), From: from, To: to, GroupBy: c.QueryParam("group_by"),
	})
	if err != nil {
		return r.fail(c, err)
	}
	groups := make([]spendTotalsJSON, len(rep.Groups))
	for i, g := range rep.Groups {
		groups[i] = totalsOut(g)
	}
	return c.JSON(http.StatusOK, map[string]any{
		"from": rep.From, "to": rep.To, "group_by": rep.GroupBy,
		"total": totalsOut(rep.Total), "groups": groups,
	})
}
