// Package app holds gatehouse's use cases: command (writes), query (reads)
// and proxy (the request path). It depends on the domain and on ports it
// declares as interfaces, never on adapters.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/domain/access"
)

// Handler is a use case: a command or a query and its answer.
type Handler[C, R any] interface {
	Handle(ctx context.Context, c C) (R, error)
}

// Logged wraps a handler with one structured line per call: the use case's
// name, how long it took and how it ended. It never logs the command's
// fields, which may hold secrets.
func Logged[C, R any](h Handler[C, R], log *slog.Logger) Handler[C, R] {
	if h == nil || log == nil {
		panic("app.Logged: nil dependency")
	}
	var zero C
	name := fmt.Sprintf("%T", zero)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return logged[C, R]{h: h, log: log, name: name}
}

type logged[C, R any] struct {
	h    Handler[C, R]
	log  *slog.Logger
	name string
}

func (l logged[C, R]) Handle(ctx context.Context, c C) (R, error) {
	start := time.Now()
	r, err := l.h.Handle(ctx, c)
	attrs := []any{"use_case", l.name, "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
	switch {
	case err == nil:
		l.log.InfoContext(ctx, "use case done", attrs...)
	case errors.Is(err, access.ErrForbidden), errors.Is(err, access.ErrNotVisible):
		l.log.InfoContext(ctx, "use case refused", append(attrs, "err", err)...)
	default:
		l.log.WarnContext(ctx, "use case failed", append(attrs, "err", err)...)
	}
	return r, err
}
