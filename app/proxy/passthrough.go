package proxy

import (
	"context"
	"net/http"
)

type passThroughKey struct{}

// WithPassThroughHeaders carries headers of the caller's request that a
// provider taking the request in the caller's own dialect sends on with
// it (Anthropic's anthropic-beta). A translated request sends none: they
// name features of the caller's dialect.
func WithPassThroughHeaders(ctx context.Context, h http.Header) context.Context {
	if len(h) == 0 {
		return ctx
	}
	return context.WithValue(ctx, passThroughKey{}, h)
}

// PassThroughHeaders are the headers WithPassThroughHeaders set, or nil.
func PassThroughHeaders(ctx context.Context) http.Header {
	h, _ := ctx.Value(passThroughKey{}).(http.Header)
	return h
}
