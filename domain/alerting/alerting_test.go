package alerting_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/alerting"
)

func TestNew_ValidatesAndWantsTypesAndFamilies(t *testing.T) {
	known := func(e string) bool { return e == "budget" || strings.HasPrefix(e, "budget.") || e == "key.revoked" }
	e, err := alerting.New(uuid.New(), "acme", "https://hooks.example.com/x", []string{"key.revoked", "budget", "budget"}, "0123456789abcdef", known)
	if err != nil || len(e.Events) != 2 {
		t.Fatalf("%+v %v", e, err)
	}
	if e.URL != "https://hooks.example.com/…" || alerting.Shown("https://h.example.com") != "https://h.example.com" {
		t.Fatalf("the URL is shown as %q", e.URL)
	}
	w := alerting.Webhook{Events: e.Events}
	if !w.Wants("budget.alerted") || !w.Wants("key.revoked") || w.Wants("key.granted") || w.Wants("budgetx.y") {
		t.Fatal("wants the wrong events")
	}
	for _, bad := range []struct {
		url, secret string
		events      []string
	}{
		{"ftp://x", "0123456789abcdef", []string{"key.revoked"}},
		{"https://u:p@x", "0123456789abcdef", []string{"key.revoked"}},
		{"https://x", "short", []string{"key.revoked"}},
		{"https://x", "0123456789abcdef", nil},
		{"https://x", "0123456789abcdef", []string{"request.completed"}},
	} {
		if _, err := alerting.New(uuid.New(), "acme", bad.url, bad.events, bad.secret, known); !errors.Is(err, alerting.ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestSign_IsHMACOverTimeAndBody(t *testing.T) {
	at := time.Unix(1700000000, 0)
	got := alerting.Sign([]byte("secret-secret-secret"), at, []byte(`{"a":1}`))
	if !strings.HasPrefix(got, "t=1700000000,v1=") || len(got) != len("t=1700000000,v1=")+64 {
		t.Fatal(got)
	}
	if alerting.Sign([]byte("secret-secret-secret"), at, []byte(`{"a":2}`)) == got {
		t.Fatal("the body is not signed")
	}
	if alerting.Backoff(0) != time.Second || alerting.Backoff(3) != 8*time.Second || alerting.Backoff(30) != 10*time.Minute {
		t.Fatal("backoff")
	}
}
