package key_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/key"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestNewSecret_HasThePrefixAndThirtyTwoBytesOfEntropy(t *testing.T) {
	s, err := key.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "sk-gh-") || !key.LooksLikeSecret(s) {
		t.Fatalf("secret %q", s)
	}
	if len(s)-len("sk-gh-") < 43 { // 32 bytes in unpadded base64url
		t.Fatalf("secret too short: %q", s)
	}
	other, _ := key.NewSecret(rand.Reader)
	if other == s {
		t.Fatal("two secrets are equal")
	}
	if _, err := key.NewSecret(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Fatal("a short random source was accepted")
	}
}

func TestGrant_StoresOnlyTheHashAndAPrefix(t *testing.T) {
	s, _ := key.NewSecret(rand.Reader)
	e, err := key.Grant(uuid.New(), "acme", " ci ", s, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "ci" || !strings.HasPrefix(s, e.Prefix) || len(e.Prefix) != key.DisplayPrefixLen {
		t.Fatalf("event %+v", e)
	}
	if strings.Contains(e.SecretHash, s[len(key.SecretPrefix):]) {
		t.Fatal("the event carries the secret")
	}
	h, err := key.ParseSecretHash(e.SecretHash)
	if err != nil || !h.Equal(key.HashSecret(s)) {
		t.Fatalf("hash round trip: %v", err)
	}
}

func TestGrant_RefusesBadInput(t *testing.T) {
	s, _ := key.NewSecret(rand.Reader)
	past := now.Add(-time.Minute)
	for name, f := range map[string]func() error{
		"empty name":     func() error { _, err := key.Grant(uuid.New(), "acme", "  ", s, nil, now); return err },
		"malformed":      func() error { _, err := key.Grant(uuid.New(), "acme", "x", "sk-gh-short", nil, now); return err },
		"expiry in past": func() error { _, err := key.Grant(uuid.New(), "acme", "x", s, &past, now); return err },
	} {
		if err := f(); !errors.Is(err, key.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func recorded(version int, at time.Time, e eventlog.Event) eventlog.Recorded {
	return eventlog.Recorded{Envelope: eventlog.Envelope{TenantID: "acme", Version: version, OccurredAt: at, Event: e}}
}

func TestKey_LifecycleFoldsFromEvents(t *testing.T) {
	s, _ := key.NewSecret(rand.Reader)
	id := uuid.New()
	exp := now.Add(time.Hour)
	g, _ := key.Grant(id, "acme", "ci", s, &exp, now)
	var k key.Key
	if err := k.Apply(recorded(1, now, g)); err != nil {
		t.Fatal(err)
	}
	if err := k.Usable(now); err != nil {
		t.Fatalf("fresh key unusable: %v", err)
	}
	if err := k.Usable(exp); !errors.Is(err, key.ErrExpired) {
		t.Fatalf("at expiry: %v", err)
	}
	r, err := k.Revoke("leaked")
	if err != nil || r.KeyID != id || r.Reason != "leaked" {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	k.Apply(recorded(2, now.Add(time.Minute), r))
	if k.Version != 2 {
		t.Fatalf("version %d", k.Version)
	}
	if err := k.Usable(now.Add(2 * time.Minute)); !errors.Is(err, key.ErrRevoked) {
		t.Fatalf("after revocation: %v", err)
	}
	if _, err := k.Revoke("again"); !errors.Is(err, key.ErrRevoked) {
		t.Fatalf("second revoke: %v", err)
	}
}
