package openai

import (
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/ports/http/middleware"
	"github.com/gatehouse/gatehouse/ports/http/relay"
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

func shape(p relay.Problem) wireError { return body(p.Message, p.Type, p.Code, p.Param) }

func writeError(c echo.Context, err error, log *slog.Logger) error {
	p := relay.Describe(err, middleware.TraceID(c), log)
	p.SetHeaders(c.Response().Header())
	return c.JSON(p.Status, shape(p))
}

// HTTPError answers an error raised by the router itself (no such route,
// wrong method) in OpenAI's shape.
func HTTPError(c echo.Context, status int, message string) error {
	return c.JSON(status, body(message, "invalid_request_error", "", ""))
}
