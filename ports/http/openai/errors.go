package openai

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
)

// wireError is OpenAI's error shape.
type wireError struct {
	Error wireErrorBody `json:"error"`
}

type wireErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Code    string  `json:"code"`
	Param   *string `json:"param"`
}

func body(message, typ, code, param string) wireError {
	w := wireError{Error: wireErrorBody{Message: message, Type: typ, Code: code}}
	if param != "" {
		w.Error.Param = &param
	}
	return w
}

// describe maps an error of the request path to its status and wire body:
// the one table for the OpenAI dialect.
func describe(err error, traceID string, log *slog.Logger) (int, wireError) {
	if r, ok := proxy.IsRefusal(err); ok {
		return r.Status, body(r.Message, r.Type, r.Code, r.Param)
	}
	var ue *proxy.UpstreamError
	if errors.As(err, &ue) {
		status := ue.ClientStatus()
		typ := ue.Type
		if typ == "" {
			typ = "upstream_error"
		}
		return status, body("Upstream error: "+ue.Message, typ, "upstream_error", "")
	}
	if errors.Is(err, proxy.ErrUnavailable) {
		return http.StatusServiceUnavailable, body("The gateway cannot record requests right now; retry shortly.", "server_error", "gateway_unavailable", "")
	}
	log.Error("request failed", "trace_id", traceID, "err", err)
	return http.StatusInternalServerError, body("The gateway had an internal error (trace id "+traceID+").", "server_error", "internal_error", "")
}

func writeError(c echo.Context, err error, log *slog.Logger) error {
	status, b := describe(err, middleware.TraceID(c), log)
	if status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "1")
	}
	if r, ok := proxy.IsRefusal(err); ok {
		if r.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(r.RetryAfter.Seconds())), 10))
		}
		if r.Limits != nil {
			setLimitHeaders(c.Response().Header(), r.Limits)
		}
	}
	return c.JSON(status, b)
}

// HTTPError answers an error raised by the router itself (no such route,
// wrong method) in OpenAI's shape.
func HTTPError(c echo.Context, status int, message string) error {
	return c.JSON(status, body(message, "invalid_request_error", "", ""))
}
