package admin

import (
	"bufio"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/usage"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
)

// requests serves the request log.
type requests struct{ *Server }

type requestJSON struct {
	RequestID        string            `json:"request_id"`
	OccurredAt       time.Time         `json:"occurred_at"`
	Outcome          string            `json:"outcome"`
	KeyID            string            `json:"key_id"`
	TeamID           *uuid.UUID        `json:"team_id"`
	Endpoint         string            `json:"endpoint"`
	Model            string            `json:"model"`
	Provider         string            `json:"provider"`
	UpstreamModel    string            `json:"upstream_model"`
	Stream           bool              `json:"stream"`
	Status           int               `json:"status"`
	Code             string            `json:"code"`
	Reason           string            `json:"reason"`
	PromptTokens     int64             `json:"prompt_tokens"`
	CompletionTokens int64             `json:"completion_tokens"`
	CachedTokens     int64             `json:"cached_tokens"`
	CostUSD          float64           `json:"cost_usd"`
	CostMicros       int64             `json:"cost_micros"`
	Priced           bool              `json:"priced"`
	DurationMs       float64           `json:"duration_ms"`
	TraceID          string            `json:"trace_id"`
	Metadata         map[string]string `json:"metadata"`
	// Routing: for a request routed by a config, the config and version,
	// the target that answered, the retries and every attempt.
	Config        string          `json:"config,omitempty"`
	ConfigVersion int             `json:"config_version,omitempty"`
	Target        string          `json:"target,omitempty"`
	Retries       int             `json:"retries"`
	Attempts      []usage.Attempt `json:"attempts,omitempty"`
	Cache         string          `json:"cache,omitempty"` // hit, miss, refresh or bypass, under a config's cache
	// Guardrails are the request's guardrail verdicts.
	Guardrails []usage.VerdictRef `json:"guardrails"`
}

func (r *requests) register(g *echo.Group) {
	g.GET("/tenants/:tenant/requests", r.list)
	g.GET("/tenants/:tenant/requests/:request", r.get)
	g.GET("/tenants/:tenant/requests/export", r.export)
}

// payloadJSON is a request's stored bodies, for a key or team that logs
// them, shown to whoever may audit the tenant.
type payloadJSON struct {
	Request           string    `json:"request"`
	Response          string    `json:"response"`
	RequestTruncated  bool      `json:"request_truncated"`
	ResponseTruncated bool      `json:"response_truncated"`
	StoredAt          time.Time `json:"stored_at"`
	ExpiresAt         time.Time `json:"expires_at"`
	Digest            string    `json:"digest"` // as the request's event records it
}

// timingsJSON is where a request's time went, in milliseconds.
type timingsJSON struct {
	GatewayMs    float64 `json:"gateway_ms"`     // before the first upstream call
	FirstTokenMs float64 `json:"first_token_ms"` // a stream's first chunk, from the start
	UpstreamMs   float64 `json:"upstream_ms"`    // the upstream call that answered
	TotalMs      float64 `json:"total_ms"`       // as the client saw it
}

// get answers one request in full.
func (r *requests) get(c echo.Context) error {
	id, err := uuid.Parse(c.Param("request"))
	if err != nil {
		return r.fail(c, errBadInputf("the request id must be a uuid"))
	}
	q, err := r.uc.GetRequest.Handle(c.Request().Context(), query.GetRequest{Principal: principal(c), TenantID: c.Param("tenant"), RequestID: id})
	if err != nil {
		return r.fail(c, err)
	}
	var payload *payloadJSON
	if p := q.Payload; p != nil {
		payload = &payloadJSON{Request: string(p.Request), Response: string(p.Response), RequestTruncated: p.RequestTruncated,
			ResponseTruncated: p.ResponseTruncated, StoredAt: p.StoredAt, ExpiresAt: p.ExpiresAt, Digest: p.Digest()}
	}
	return c.JSON(http.StatusOK, struct {
		requestJSON
		Timings timingsJSON  `json:"timings"`
		Payload *payloadJSON `json:"payload,omitempty"`
	}{requestOut(q), timingsJSON{GatewayMs: q.GatewayMs, FirstTokenMs: q.FirstTokenMs, UpstreamMs: q.UpstreamMs, TotalMs: q.DurationMs}, payload})
}

func requestOut(q query.RequestRow) requestJSON {
	md := q.Metadata
	if md == nil {
		md = map[string]string{}
	}
	out := requestJSON{RequestID: q.RequestID.String(), OccurredAt: q.OccurredAt, Outcome: q.Outcome, KeyID: q.KeyID.String(), TeamID: q.TeamID,
		Endpoint: q.Endpoint, Model: q.Model, Provider: q.Provider, UpstreamModel: q.UpstreamModel, Stream: q.Stream, Status: q.Status,
		Code: q.Code, Reason: q.Reason, PromptTokens: q.Tokens.Prompt, CompletionTokens: q.Tokens.Completion, CachedTokens: q.Tokens.CachedPrompt,
		CostUSD: q.Cost.USD(), CostMicros: int64(q.Cost), Priced: q.Priced, DurationMs: q.DurationMs, TraceID: q.TraceID, Metadata: md,
		Config: q.Routing.Config, ConfigVersion: q.Routing.ConfigVersion, Target: q.Routing.Target, Retries: q.Routing.Retries,
		Attempts: q.Routing.Attempts, Cache: q.Routing.Cache, Guardrails: q.Guardrails}
	if out.Guardrails == nil {
		out.Guardrails = []usage.VerdictRef{}
	}
	return out
}

func encodeCursor(c *query.RequestCursor) string {
	if c == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(c.At.UTC().Format(time.RFC3339Nano) + "|" + c.RequestID.String()))
}

func decodeCursor(s string) (*query.RequestCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	at, id, ok := strings.Cut(string(b), "|")
	if err != nil || !ok {
		return nil, errBadInputf("cursor is not one this API gave")
	}
	t, err1 := time.Parse(time.RFC3339Nano, at)
	u, err2 := uuid.Parse(id)
	if err1 != nil || err2 != nil {
		return nil, errBadInputf("cursor is not one this API gave")
	}
	return &query.RequestCursor{At: t, RequestID: u}, nil
}

func (r *requests) list(c echo.Context) error {
	from, to, err := timeRange(c, time.Now())
	if err != nil {
		return r.fail(c, err)
	}
	f := query.RequestFilter{From: from, To: to, Metadata: map[string]string{}}
	for name, values := range c.QueryParams() {
		if k, ok := strings.CutPrefix(name, "metadata."); ok && len(values) > 0 {
			if !proxy.CleanText(k) || !proxy.CleanText(values[0]) {
				return r.fail(c, errBadInputf("metadata filters must be UTF-8 text without NUL"))
			}
			f.Metadata[k] = values[0]
		}
	}
	if v := c.QueryParam("key"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return r.fail(c, errBadInputf("key must be a key id"))
		}
		f.KeyID = &id
	}
	if v := c.QueryParam("model"); v != "" {
		if !proxy.CleanText(v) {
			return r.fail(c, errBadInputf("model must be UTF-8 text without NUL"))
		}
		f.Model = &v
	}
	if v := c.QueryParam("status"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 100 || n > 599 {
			return r.fail(c, errBadInputf("status must be an HTTP status code (100 to 599)"))
		}
		status := int(n)
		f.Status = &status
	}
	limit, err := intParam(c, "limit")
	if err != nil {
		return r.fail(c, err)
	}
	f.Limit = int(limit)
	if v := c.QueryParam("cursor"); v != "" {
		if f.Before, err = decodeCursor(v); err != nil {
			return r.fail(c, err)
		}
	}
	page, err := r.uc.ListRequests.Handle(c.Request().Context(), query.ListRequests{Principal: principal(c), TenantID: c.Param("tenant"), Filter: f})
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]requestJSON, len(page.Requests))
	for i, q := range page.Requests {
		out[i] = requestOut(q)
	}
	return c.JSON(http.StatusOK, map[string]any{"requests": out, "next_cursor": encodeCursor(page.Next)})
}

var requestCSVHeader = []string{"request_id", "occurred_at", "outcome", "key_id", "team_id", "endpoint", "model", "provider", "upstream_model",
	"stream", "status", "code", "prompt_tokens", "completion_tokens", "cached_tokens", "cost_usd", "duration_ms", "trace_id", "config", "target",
	"retries", "cache", "metadata"}

// export streams the request log of a time range, newest first, as JSON
// lines or CSV, a page of the log at a time: memory stays bounded whatever
// the range.
func (r *requests) export(c echo.Context) error {
	from, to, err := timeRange(c, time.Now())
	if err != nil {
		return r.fail(c, err)
	}
	format := c.QueryParam("format")
	if format == "" {
		format = "jsonl"
	}
	if format != "jsonl" && format != "csv" {
		return r.fail(c, errBadInputf("format must be jsonl or csv"))
	}
	ctx := c.Request().Context()
	q := query.ListRequests{Principal: principal(c), TenantID: c.Param("tenant"), Filter: query.RequestFilter{From: from, To: to, Metadata: map[string]string{}, Limit: query.MaxRequestPage}}
	page, err := r.uc.ListRequests.Handle(ctx, q)
	if err != nil {
		return r.fail(c, err)
	}
	w := c.Response()
	if format == "csv" {
		w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		w.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-requests.%s"`, c.Param("tenant"), format))
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if format == "csv" {
		cw.Write(requestCSVHeader)
	}
	enc := json.NewEncoder(bw)
	for {
		for _, row := range page.Requests {
			out := requestOut(row)
			if format == "csv" {
				md, _ := json.Marshal(out.Metadata)
				team := ""
				if out.TeamID != nil {
					team = out.TeamID.String()
				}
				cw.Write([]string{out.RequestID, out.OccurredAt.Format(time.RFC3339Nano), out.Outcome, out.KeyID, team, out.Endpoint, out.Model,
					out.Provider, out.UpstreamModel, strconv.FormatBool(out.Stream), strconv.Itoa(out.Status), out.Code,
					strconv.FormatInt(out.PromptTokens, 10), strconv.FormatInt(out.CompletionTokens, 10), strconv.FormatInt(out.CachedTokens, 10),
					strconv.FormatFloat(out.CostUSD, 'f', -1, 64), strconv.FormatFloat(out.DurationMs, 'f', -1, 64), out.TraceID, out.Config,
					out.Target, strconv.Itoa(out.Retries), out.Cache, string(md)})
			} else if err := enc.Encode(out); err != nil {
				return nil
			}
		}
		cw.Flush()
		if page.Next == nil {
			break
		}
		q.Filter.Before = page.Next
		if page, err = r.uc.ListRequests.Handle(ctx, q); err != nil {
			// The status is sent: the export ends short; the log says why.
			r.log.Error("request log export failed", "tenant", c.Param("tenant"), "trace_id", middleware.TraceID(c), "err", err)
			break
		}
	}
	bw.Flush()
	return nil
}
