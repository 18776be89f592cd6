// Package health serves liveness and readiness.
package health

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Check is one readiness condition.
type Check struct {
	Name  string
	Check func(context.Context) error
}

// Register adds GET /healthz (the process answers) and GET /readyz (every
// check passes: database reachable, migrations applied, event writer healthy…).
func Register(e *echo.Echo, log *slog.Logger, checks []Check) {
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		status, results := http.StatusOK, map[string]string{}
		for _, ch := range checks {
			if err := ch.Check(ctx); err != nil {
				status = http.StatusServiceUnavailable
				results[ch.Name] = "failing" // the reason goes to the log, not to anonymous callers
				log.Warn("readiness check failing", "check", ch.Name, "err", err)
				continue
			}
			results[ch.Name] = "ok"
		}
		state := "ready"
		if status != http.StatusOK {
			state = "not ready"
		}
		return c.JSON(status, map[string]any{"status": state, "checks": results})
	})
}
