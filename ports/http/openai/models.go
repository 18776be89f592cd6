package openai

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/ports/http/relay"
)

// Models serves GET /v1/models and GET /v1/models/{model}: the models the
// calling key may use.
type Models struct {
	svc *proxy.Service
	log *slog.Logger
}

// NewModels builds the handler.
func NewModels(svc *proxy.Service, log *slog.Logger) *Models {
	if svc == nil || log == nil {
		panic("openai.NewModels: nil dependency")
	}
	return &Models{svc: svc, log: log}
}

// Register adds the routes.
func (h *Models) Register(e *echo.Echo) {
	e.GET("/v1/models", h.list)
	e.GET("/v1/models/*", h.get) // model ids hold a slash
}

type modelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func modelOut(m proxy.ModelInfo) modelJSON {
	return modelJSON{ID: m.ID, Object: "model", OwnedBy: m.OwnedBy}
}

func (h *Models) list(c echo.Context) error {
	k, err := h.svc.Authenticate(relay.Bearer(c.Request()))
	if err != nil {
		return writeError(c, err, h.log)
	}
	ms := h.svc.Models(k)
	out := make([]modelJSON, len(ms))
	for i, m := range ms {
		out[i] = modelOut(m)
	}
	return c.JSON(http.StatusOK, map[string]any{"object": "list", "data": out})
}

func (h *Models) get(c echo.Context) error {
	k, err := h.svc.Authenticate(relay.Bearer(c.Request()))
	if err != nil {
		return writeError(c, err, h.log)
	}
	id := strings.TrimPrefix(c.Request().URL.Path, "/v1/models/")
	for _, m := range h.svc.Models(k) {
		if m.ID == id {
			return c.JSON(http.StatusOK, modelOut(m))
		}
	}
	return c.JSON(http.StatusNotFound, body("The model '"+id+"' does not exist or you do not have access to it.", "invalid_request_error", "model_not_found", "model"))
}
