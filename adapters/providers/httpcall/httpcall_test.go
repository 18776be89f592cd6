package httpcall_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/adapters/providers/httpcall"
	"github.com/gatehouse/gatehouse/app/proxy"
)

const secret = "AKIAIOSFODNN7EXAMPLE-secret"

func caller() httpcall.Caller {
	return httpcall.Caller{Client: http.DefaultClient, Secrets: []string{secret}, Parse: func(b []byte) (string, string, string, bool) {
		msg, ok := strings.CutPrefix(string(b), "message=")
		return msg, "t", "c", ok
	}}
}

func TestPost_AnUpstreamErrorKeepsItsStatusAndMessageButNoSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Sign") != "signed" {
			w.WriteHeader(401)
			return
		}
		switch r.URL.Path {
		case "/parsed":
			w.WriteHeader(429)
			fmt.Fprint(w, "message=slow down, "+secret+" and sk-live-abcdefgh1234")
		default:
			w.WriteHeader(503)
			fmt.Fprint(w, "overloaded "+secret)
		}
	}))
	defer srv.Close()
	c := caller()
	c.Sign = func(r *http.Request, _ []byte) { r.Header.Set("X-Sign", "signed") }
	for path, want := range map[string]struct {
		status int
		msg    string
	}{"/parsed": {429, "slow down, [redacted] and [redacted]"}, "/raw": {503, "overloaded [redacted]"}} {
		_, err := c.Post(context.Background(), srv.URL+path, nil, []byte(`{}`), false)
		var ue *proxy.UpstreamError
		if !errors.As(err, &ue) || ue.Status != want.status || ue.Message != want.msg {
			t.Errorf("%s: got %#v, want %d %q", path, err, want.status, want.msg)
		}
	}
}

type failing struct{ err error }

func (f failing) Next() ([]byte, error) { return nil, f.err }
func (failing) Close() error            { return nil }

func TestRedactStream_ScrubsTheErrorAStreamEndsWith(t *testing.T) {
	s := caller().RedactStream(failing{&proxy.UpstreamError{Message: "bad key " + secret}})
	_, err := s.Next()
	var ue *proxy.UpstreamError
	if !errors.As(err, &ue) || ue.Message != "bad key [redacted]" {
		t.Fatalf("got %v", err)
	}
}
