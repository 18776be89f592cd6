package anthropic

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/ports/http/middleware"
	"github.com/gatehouse/gatehouse/ports/http/relay"
)

// wireError is Anthropic's error shape; code carries the gateway's own
// code (PRODUCT.md's table) beside Anthropic's type.
type wireError struct {
	Type  string        `json:"type"`
	Error wireErrorBody `json:"error"`
}

type wireErrorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
}

// errorTypes are Anthropic's error types by status.
var errorTypes = map[int]string{
	http.StatusBadRequest:            "invalid_request_error",
	http.StatusUnauthorized:          "authentication_error",
	http.StatusForbidden:             "permission_error",
	http.StatusNotFound:              "not_found_error",
	http.StatusRequestEntityTooLarge: "request_too_large",
	http.StatusTooManyRequests:       "rate_limit_error",
	http.StatusServiceUnavailable:    "overloaded_error",
}

func errorType(status int) string {
	if t, ok := errorTypes[status]; ok {
		return t
	}
	if status >= 400 && status < 500 {
		return "invalid_request_error"
	}
	return "api_error"
}

func shape(p relay.Problem) wireError {
	return wireError{Type: "error", Error: wireErrorBody{Type: errorType(p.Status), Message: p.Message, Code: p.Code}}
}

func (h *Messages) writeError(c echo.Context, err error) error {
	p := relay.Describe(err, middleware.TraceID(c), h.log)
	p.SetHeaders(c.Response().Header())
	return c.JSON(p.Status, shape(p))
}

// HTTPError answers an error raised by the router itself (wrong method)
// in Anthropic's shape.
func HTTPError(c echo.Context, status int, message string) error {
	return c.JSON(status, wireError{Type: "error", Error: wireErrorBody{Type: errorType(status), Message: message}})
}
