package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/query"
)

type events struct{ *Server }

type eventJSON struct {
	Position   int64           `json:"position"`
	ID         string          `json:"id"`
	Seq        int64           `json:"seq"`
	StreamID   string          `json:"stream_id"`
	Version    int             `json:"version"`
	Type       string          `json:"type"`
	Tenant     string          `json:"tenant"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Role       string          `json:"role,omitempty"`
	TraceID    string          `json:"trace_id"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
	Data       json.RawMessage `json:"data"`
	Record     []byte          `json:"record"` // base64 of the exact bytes hashed
}

func (r *events) register(g *echo.Group) {
	g.GET("/tenants/:tenant/events", r.list)
}

func intParam(c echo.Context, name string) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errors.Join(errBadInput, errors.New(name+" must be an integer"))
	}
	return n, nil
}

func (r *events) list(c echo.Context) error {
	after, err := intParam(c, "after")
	if err != nil {
		return r.fail(c, err)
	}
	limit, err := intParam(c, "limit")
	if err != nil {
		return r.fail(c, err)
	}
	page, err := r.uc.Events.Handle(c.Request().Context(), query.Events{Principal: principal(c), TenantID: c.Param("tenant"), After: after, Limit: int(limit)})
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]eventJSON, len(page.Events))
	for i, e := range page.Events {
		out[i] = eventJSON{Position: e.Position, ID: e.ID.String(), Record: e.Record, Seq: e.Seq, StreamID: e.StreamID, Version: e.Version, Type: e.Type, Tenant: e.TenantID,
			OccurredAt: e.OccurredAt, Actor: e.Actor, Role: e.Role, TraceID: e.TraceID, PrevHash: e.PrevHash, Hash: e.Hash, Data: e.Data}
	}
	return c.JSON(http.StatusOK, map[string]any{"events": out, "next_after": page.NextAfter})
}
