// Package middleware holds what every HTTP route shares: the trace id,
// panic recovery that keeps http.ErrAbortHandler meaningful, and one
// structured access-log line per request (never a header or a body).
package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"
)

// TraceHeader carries gatehouse's trace id both ways.
const TraceHeader = "x-gatehouse-trace-id"

type traceKey struct{}

var (
	traceIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	// traceparent: version-traceid-parentid-flags (W3C Trace Context).
	traceparentPattern = regexp.MustCompile(`^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$`)
)

// NewTraceID draws a W3C-compatible trace id.
func NewTraceID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Trace takes the caller's trace id (x-gatehouse-trace-id, else the trace
// id of a W3C traceparent) or makes one, and echoes it in the response.
func Trace() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			id := req.Header.Get(TraceHeader)
			if !traceIDPattern.MatchString(id) {
				id = ""
				if m := traceparentPattern.FindStringSubmatch(req.Header.Get("traceparent")); m != nil {
					id = m[1]
				}
			}
			if id == "" {
				id = NewTraceID()
			}
			c.Set("trace_id", id)
			c.Response().Header().Set(TraceHeader, id)
			return next(c)
		}
	}
}

// TraceID returns the request's trace id.
func TraceID(c echo.Context) string {
	id, _ := c.Get("trace_id").(string)
	return id
}

// Recover turns a panic into a 500 with a fixed message. Once the answer
// has begun it aborts the connection instead (http.ErrAbortHandler), so a
// client never mistakes a broken answer for a finished one; an
// http.ErrAbortHandler panic is passed on as it is.
func Recover(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				if e, ok := r.(error); ok && errors.Is(e, http.ErrAbortHandler) {
					panic(r)
				}
				log.Error("panic in handler", "path", c.Path(), "trace_id", TraceID(c), "panic", fmt.Sprint(r))
				if c.Response().Committed {
					panic(http.ErrAbortHandler)
				}
				err = echo.NewHTTPError(http.StatusInternalServerError, "internal error")
			}()
			return next(c)
		}
	}
}

// AccessLog writes one line per request: method, route, status, duration.
func AccessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			log.Debug("request", "method", c.Request().Method, "route", c.Path(), "status", c.Response().Status,
				"duration_ms", float64(time.Since(start).Microseconds())/1000, "trace_id", TraceID(c))
			return nil
		}
	}
}
