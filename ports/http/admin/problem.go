package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/auditing"
	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/alerting"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/guardrail"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/routing"
	"github.com/gatehouse/gatehouse/domain/tenancy"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	TraceID  string `json:"trace_id,omitempty"`
}

func problem(c echo.Context, status int, title, detail string) error {
	p := Problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Instance: c.Request().URL.Path, TraceID: middleware.TraceID(c)}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return c.Blob(status, "application/problem+json", b)
}

// errorStatus is the one table from domain and app errors to HTTP statuses.
// Details of these errors are safe to show: they describe the caller's input.
var errorStatus = []struct {
	err    error
	status int
	title  string
}{
	{access.ErrNotVisible, http.StatusNotFound, "Not Found"},
	{key.ErrNotFound, http.StatusNotFound, "Not Found"},
	{tenancy.ErrTeamNotFound, http.StatusNotFound, "Not Found"},
	{provider.ErrNotFound, http.StatusNotFound, "Not Found"},
	{access.ErrForbidden, http.StatusForbidden, "Forbidden"},
	{tenancy.ErrInvalid, http.StatusBadRequest, "Invalid Request"},
	{provider.ErrInvalid, http.StatusBadRequest, "Invalid Request"},
	{key.ErrInvalid, http.StatusBadRequest, "Invalid Request"},
	{pricing.ErrInvalid, http.StatusBadRequest, "Invalid Request"},
	{quota.ErrInvalid, http.StatusBadRequest, "Invalid Request"},
	{routing.ErrInvalid, http.StatusBadRequest, "Invalid Request"},
	{routing.ErrNotFound, http.StatusNotFound, "Not Found"},
	{guardrail.ErrInvalid, http.StatusBadRequest, "Invalid Request"},
	{guardrail.ErrNotFound, http.StatusNotFound, "Not Found"},
	{query.ErrNoQuota, http.StatusNotFound, "Not Found"},
	{query.ErrRequestNotFound, http.StatusNotFound, "Not Found"},
	{query.ErrInvalidQuery, http.StatusBadRequest, "Invalid Request"},
	{errBadInput, http.StatusBadRequest, "Invalid Request"},
	{auditing.ErrBadRange, http.StatusBadRequest, "Invalid Request"},
	{alerting.ErrInvalid, http.StatusBadRequest, "Invalid Request"},
	{alerting.ErrNotFound, http.StatusNotFound, "Not Found"},
	{command.ErrExists, http.StatusConflict, "Conflict"},
	{key.ErrRevoked, http.StatusConflict, "Conflict"},
	{eventlog.ErrConflict, http.StatusConflict, "Conflict"},
}

var errBadInput = errors.New("invalid input")

// errBadInputf is input the port itself refuses.
func errBadInputf(format string, args ...any) error {
	return errors.Join(errBadInput, fmt.Errorf(format, args...))
}

// fail answers an error: known ones by the table, anything else as a 500
// with a fixed message and the trace id, the error itself only in the log.
func (s *Server) fail(c echo.Context, err error) error {
	for _, e := range errorStatus {
		if errors.Is(err, e.err) {
			detail := err.Error()
			if e.status == http.StatusNotFound || e.status == http.StatusForbidden {
				detail = "" // say nothing about what lies behind another tenant's wall
			}
			return problem(c, e.status, e.title, detail)
		}
	}
	s.log.Error("admin request failed", "path", c.Path(), "trace_id", middleware.TraceID(c), "err", err)
	return problem(c, http.StatusInternalServerError, "Internal Server Error", "an internal error occurred; quote the trace id when reporting it")
}

// decode reads a JSON body strictly: unknown fields are an error, so a typo
// is reported rather than silently ignored.
func decode(c echo.Context, v any) error {
	return decodeBody(c, v, true)
}

// decodeOptional is decode for a body that may be absent.
func decodeOptional(c echo.Context, v any) error {
	return decodeBody(c, v, false)
}

func decodeBody(c echo.Context, v any, required bool) error {
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20+1))
	if err != nil {
		return errors.Join(errBadInput, errors.New("body: could not be read"))
	}
	if len(b) > 1<<20 {
		return errors.Join(errBadInput, errors.New("body: larger than 1 MiB"))
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if required {
			return errors.Join(errBadInput, errors.New("body: the body is empty; a JSON object is required"))
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.Join(errBadInput, errors.New("body: "+strings.TrimPrefix(err.Error(), "json: ")))
	}
	if dec.More() {
		return errors.Join(errBadInput, errors.New("body: data after the JSON object"))
	}
	return nil
}

// HTTPError answers an error raised by the router itself (no such route,
// wrong method) as a problem document.
func HTTPError(c echo.Context, status int, message string) error {
	return problem(c, status, http.StatusText(status), message)
}
