package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/auditing"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
)

type auditRoutes struct{ *Server }

func (r *auditRoutes) register(g *echo.Group) {
	g.GET("/audit/verifier-key", r.verifierKey)
	g.GET("/tenants/:tenant/audit/checkpoint", r.checkpoint)
	g.GET("/tenants/:tenant/audit/export", r.export)
	g.GET("/tenants/:tenant/audit", r.trail)
	g.GET("/tenants/:tenant/audit/access", r.access)
}

// verifierKey answers the key an auditor pins, in note format.
func (r *auditRoutes) verifierKey(c echo.Context) error {
	if r.uc.Audit == nil {
		return r.fail(c, errors.New("audit is not configured"))
	}
	return c.String(http.StatusOK, r.uc.Audit.VerifierKey()+"\n")
}

// checkpoint answers the tenant's latest signed checkpoint as a signed note.
func (r *auditRoutes) checkpoint(c echo.Context) error {
	note, err := r.uc.Audit.Latest(c.Request().Context(), auditing.LatestCheckpoint{Principal: principal(c), TenantID: c.Param("tenant")})
	if errors.Is(err, auditing.ErrNoCheckpoint) {
		return problem(c, http.StatusNotFound, "Not Found", "this tenant's log has no checkpoint yet; one is signed within seconds of its first event")
	}
	if err != nil {
		return r.fail(c, err)
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(note))
}

// export streams the tenant's events in a time range, as JSON lines (with
// what an offline verifier needs) or CSV, and records the export.
func (r *auditRoutes) export(c echo.Context) error {
	from, err := timeParam(c, "from")
	if err != nil {
		return r.fail(c, err)
	}
	to, err := timeParam(c, "to")
	if err != nil {
		return r.fail(c, err)
	}
	var afterSeq *int64
	if c.QueryParam("after_seq") != "" {
		n, err := intParam(c, "after_seq")
		if err != nil {
			return r.fail(c, err)
		}
		afterSeq = &n
	}
	format := c.QueryParam("format")
	if format == "" {
		format = auditing.FormatJSONL
	}
	ctx := c.Request().Context()
	p, err := r.uc.Audit.Prepare(ctx, auditing.Export{Principal: principal(c), TraceID: middleware.TraceID(c), TenantID: c.Param("tenant"),
		From: from, To: to, AfterSeq: afterSeq, Format: format, Via: auditing.ViaAPI})
	if err != nil {
		return r.fail(c, err)
	}
	w := c.Response()
	if format == auditing.FormatCSV {
		w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		w.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-audit.%s"`, c.Param("tenant"), format))
	w.WriteHeader(http.StatusOK)
	if _, err := p.Write(ctx, w, nil); err != nil {
		// The status is sent: the export ends short, without its checkpoint,
		// which the verifier reports as a truncated export.
		r.log.Error("audit export failed", "tenant", c.Param("tenant"), "trace_id", middleware.TraceID(c), "err", err)
	}
	return nil
}

type trailEntryJSON struct {
	Seq        int64           `json:"seq"`
	OccurredAt time.Time       `json:"occurred_at"`
	Type       string          `json:"type"`
	Actor      string          `json:"actor"`
	Role       string          `json:"role,omitempty"`
	TraceID    string          `json:"trace_id"`
	Resource   resourceJSON    `json:"resource"`
	Outcome    string          `json:"outcome"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	Data       json.RawMessage `json:"data"`
}

type resourceJSON struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type trafficJSON struct {
	Completed int64 `json:"completed"`
	Rejected  int64 `json:"rejected"`
	Verdicts  int64 `json:"guardrail_verdicts"`
}

// trail pages through the tenant's audit trail.
func (r *auditRoutes) trail(c echo.Context) error {
	var q query.AuditTrail
	var err error
	if q.Filter.From, err = timeParam(c, "from"); err != nil {
		return r.fail(c, err)
	}
	if q.Filter.To, err = timeParam(c, "to"); err != nil {
		return r.fail(c, err)
	}
	if q.After, err = intParam(c, "after"); err != nil {
		return r.fail(c, err)
	}
	limit, err := intParam(c, "limit")
	if err != nil {
		return r.fail(c, err)
	}
	q.Principal, q.TenantID, q.Limit = principal(c), c.Param("tenant"), int(limit)
	q.Filter.Actor, q.Filter.Type = c.QueryParam("actor"), c.QueryParam("type")
	page, err := r.uc.AuditTrail.Handle(c.Request().Context(), q)
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]trailEntryJSON, len(page.Entries))
	for i, e := range page.Entries {
		out[i] = trailEntryJSON{Seq: e.Seq, OccurredAt: e.OccurredAt, Type: e.Type, Actor: e.Actor, Role: e.Role, TraceID: e.TraceID,
			Resource: resourceJSON{Type: e.Resource.Type, ID: e.Resource.ID}, Outcome: e.Outcome, Before: e.Before, After: e.After, Data: e.Data}
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": out, "next_after": page.NextAfter,
		"traffic": trafficJSON{Completed: page.Traffic.Completed, Rejected: page.Traffic.Rejected, Verdicts: page.Traffic.Verdicts}})
}

type eventRefJSON struct {
	Seq        int64     `json:"seq"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	Actor      string    `json:"actor"`
	Role       string    `json:"role,omitempty"`
}

func eventRefOut(r query.EventRef) eventRefJSON {
	return eventRefJSON{Seq: r.Seq, Type: r.Type, OccurredAt: r.OccurredAt, Actor: r.Actor, Role: r.Role}
}

type keyAccessJSON struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Prefix     string          `json:"prefix"`
	Team       *teamRefJSON    `json:"team"`
	Models     []string        `json:"models"`
	ExpiresAt  *time.Time      `json:"expires_at"`
	Budgets    []budgetJSON    `json:"budgets"`
	RateLimits []rateLimitJSON `json:"rate_limits"`
	Granted    eventRefJSON    `json:"granted"`
	Changes    []eventRefJSON  `json:"changes"`
	Revoked    *eventRefJSON   `json:"revoked"`
}

type teamRefJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// access answers who could call which model at an instant (default now),
// replayed from the log.
func (r *auditRoutes) access(c echo.Context) error {
	at, err := timeParam(c, "at")
	if err != nil {
		return r.fail(c, err)
	}
	if at == nil { // who can call now
		now := time.Now().UTC()
		at = &now
	}
	snap, err := r.uc.AccessAt.Handle(c.Request().Context(), query.AccessAt{Principal: principal(c), TenantID: c.Param("tenant"), At: *at})
	if err != nil {
		return r.fail(c, err)
	}
	keys := make([]keyAccessJSON, 0, len(snap.Keys))
	for _, k := range snap.Keys {
		out := keyAccessJSON{ID: k.Key.ID.String(), Name: k.Key.Name, Prefix: k.Key.Prefix, Models: k.Key.Models, ExpiresAt: k.Key.ExpiresAt,
			Budgets: []budgetJSON{}, RateLimits: []rateLimitJSON{}, Granted: eventRefOut(k.Granted), Changes: []eventRefJSON{}}
		if out.Models == nil {
			out.Models = []string{"*"}
		}
		if k.Team != nil {
			out.Team = &teamRefJSON{ID: k.Team.ID.String(), Name: k.Team.Name}
		}
		for _, b := range k.Budgets {
			out.Budgets = append(out.Budgets, budgetOut(b))
		}
		for _, l := range k.Limits {
			out.RateLimits = append(out.RateLimits, rateLimitOut(l))
		}
		for _, ch := range k.Changes {
			out.Changes = append(out.Changes, eventRefOut(ch))
		}
		if k.Revoked != nil {
			rv := eventRefOut(*k.Revoked)
			out.Revoked = &rv
		}
		keys = append(keys, out)
	}
	return c.JSON(http.StatusOK, map[string]any{"at": snap.At, "last_seq": snap.LastSeq, "keys": keys})
}
