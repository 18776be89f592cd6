package httpcall_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

func TestRetryAfter_ReadsMillisecondsSecondsAndDates(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for h, want := range map[[2]string]time.Duration{
		{"retry-after-ms", "1500"}:                       1500 * time.Millisecond,
		{"Retry-After", "2"}:                             2 * time.Second,
		{"Retry-After", "0.5"}:                           500 * time.Millisecond,
		{"Retry-After", "Wed, 25 Nov 2026 12:00:30 GMT"}: 30 * time.Second,
		{"Retry-After", "Wed, 25 Nov 2026 11:00:00 GMT"}: 0,
		{"Retry-After", "soon"}:                          0,
		{"Retry-After", "-3"}:                            0,
		{"Retry-After", "99999999"}:                      time.Hour,
	} {
		hdr := http.Header{}
		hdr.Set(h[0], h[1])
		if got := httpcall.RetryAfter(hdr, now); got != want {
			t.Errorf("%s: %s = %v, want %v", h[0], h[1], got, want)
		}
	}
}
