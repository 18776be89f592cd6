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
	e, err := key.Grant(uuid.New(), s, key.Settings{Name: " ci "}, now)
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
		"empty name": func() error { _, err := key.Grant(uuid.New(), s, key.Settings{Name: "  "}, now); return err },
		"malformed":  func() error { _, err := key.Grant(uuid.New(), "sk-gh-short", key.Settings{Name: "x"}, now); return err },
		"expiry in past": func() error {
			_, err := key.Grant(uuid.New(), s, key.Settings{Name: "x", ExpiresAt: &past}, now)
			return err
		},
		"bare model": func() error {
			_, err := key.Grant(uuid.New(), s, key.Settings{Name: "x", Models: []string{"gpt-4o"}}, now)
			return err
		},
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
	g, _ := key.Grant(id, s, key.Settings{Name: "ci", ExpiresAt: &exp}, now)
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

func TestMatchModel(t *testing.T) {
	cases := []struct {
		pattern, model string
		want           bool
	}{
		{"openai/gpt-4o", "openai/gpt-4o", true},
		{"openai/gpt-4o", "openai/gpt-4o-mini", false},
		{"openai/gpt-4o*", "openai/gpt-4o-mini", true},
		{"openai/gpt-4o*", "openai/gpt-4o", true},
		{"openai/*", "openai/o3", true},
		{"openai/*", "azure/gpt-4o", false},
		{"*/gpt-4o", "azure/gpt-4o", true},
		{"or/*/llama*", "or/meta/llama-3-8b", true},
		{"*", "anything/at-all", true},
		{"openai/gpt-?o", "openai/gpt-4o", true},
		{"openai/gpt-?o", "openai/gpt-40o", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, c := range cases {
		if got := key.MatchModel(c.pattern, c.model); got != c.want {
			t.Errorf("MatchModel(%q, %q) = %v, want %v", c.pattern, c.model, got, c.want)
		}
	}
}

func TestAllowsModel_EmptyListAllowsAll(t *testing.T) {
	k := key.Key{}
	if err := k.AllowsModel("x/y"); err != nil {
		t.Fatal(err)
	}
	k.Models = []string{"openai/gpt-4o*", "mock/m1"}
	if err := k.AllowsModel("mock/m1"); err != nil {
		t.Fatal(err)
	}
	if err := k.AllowsModel("mock/m2"); !errors.Is(err, key.ErrModelNotAllowed) {
		t.Fatalf("mock/m2: %v", err)
	}
}

func granted(t *testing.T) (key.Key, string) {
	t.Helper()
	s, _ := key.NewSecret(rand.Reader)
	g, err := key.Grant(uuid.New(), s, key.Settings{Name: "ci", Models: []string{"a/*"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	var k key.Key
	k.Apply(recorded(1, now, g))
	return k, s
}

func TestUpdate_ChangesOnlyWhatThePatchSetsAndNamesIt(t *testing.T) {
	k, _ := granted(t)
	team := uuid.New()
	e, ok, err := k.Update(key.Patch{
		Name:   key.Field[string]{Set: true, Value: "ci"}, // unchanged
		TeamID: key.Field[*uuid.UUID]{Set: true, Value: &team},
		Models: key.Field[[]string]{Set: true, Value: []string{"b/*"}},
	}, now)
	if err != nil || !ok {
		t.Fatalf("update: %v %v", ok, err)
	}
	if strings.Join(e.Changed, ",") != "team_id,models" || e.Name != "ci" || *e.TeamID != team {
		t.Fatalf("event %+v", e)
	}
	k.Apply(recorded(2, now, e))
	if k.AllowsModel("a/x") == nil || k.AllowsModel("b/x") != nil {
		t.Fatal("models not changed by the update")
	}
	if _, ok, _ := k.Update(key.Patch{Name: key.Field[string]{Set: true, Value: "ci"}}, now); ok {
		t.Fatal("a patch that changes nothing produced an event")
	}
	past := now.Add(-time.Hour)
	if _, _, err := k.Update(key.Patch{ExpiresAt: key.Field[*time.Time]{Set: true, Value: &past}}, now); !errors.Is(err, key.ErrInvalid) {
		t.Fatalf("expiry in the past: %v", err)
	}
	if _, _, err := k.Update(key.Patch{TeamID: key.Field[*uuid.UUID]{Set: true, Value: nil}}, now); err != nil {
		t.Fatalf("clearing the team: %v", err)
	}
}

func TestRotate_KeepsTheOldSecretForTheGracePeriodOnly(t *testing.T) {
	k, old := granted(t)
	fresh, _ := key.NewSecret(rand.Reader)
	e, err := k.Rotate(fresh, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	k.Apply(recorded(2, now, e))
	if err := k.Authenticates(key.HashSecret(fresh), now); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	if err := k.Authenticates(key.HashSecret(old), now.Add(59*time.Second)); err != nil {
		t.Fatalf("old secret within grace: %v", err)
	}
	if err := k.Authenticates(key.HashSecret(old), now.Add(time.Minute)); !errors.Is(err, key.ErrRotatedOut) {
		t.Fatalf("old secret after grace: %v", err)
	}
	again, _ := key.NewSecret(rand.Reader)
	e2, _ := k.Rotate(again, 0, now)
	k.Apply(recorded(3, now, e2))
	if k.Authenticates(key.HashSecret(fresh), now) == nil || k.Authenticates(key.HashSecret(old), now) == nil {
		t.Fatal("a rotation without grace left an old secret valid")
	}
	if _, err := k.Rotate(again, -time.Second, now); !errors.Is(err, key.ErrInvalid) {
		t.Fatalf("negative grace: %v", err)
	}
}
