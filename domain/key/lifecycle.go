package key

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// Settings are what a key's owner chooses about it.
type Settings struct {
	Name        string
	TeamID      *uuid.UUID
	Models      []string
	Metadata    map[string]string
	ExpiresAt   *time.Time
	Config      string
	Guardrails  Guardrails
	LogPayloads bool
}

// configName is the shape of a routing config's name.
var configName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func (s Settings) validate(now time.Time) error {
	if n := strings.TrimSpace(s.Name); n == "" || len(n) > 200 {
		return fmt.Errorf("%w: name must be 1-200 characters", ErrInvalid)
	}
	if err := ValidatePatterns(s.Models); err != nil {
		return err
	}
	if len(s.Metadata) > 64 {
		return fmt.Errorf("%w: at most 64 metadata entries", ErrInvalid)
	}
	for k, v := range s.Metadata {
		if k == "" || len(k) > 100 || len(v) > 1000 {
			return fmt.Errorf("%w: metadata keys must be 1-100 characters and values at most 1000", ErrInvalid)
		}
	}
	for _, n := range append(append([]string(nil), s.Guardrails.Input...), s.Guardrails.Output...) {
		if !configName.MatchString(n) {
			return fmt.Errorf("%w: guardrails must name guardrails", ErrInvalid)
		}
	}
	if len(s.Guardrails.Input) > 16 || len(s.Guardrails.Output) > 16 {
		return fmt.Errorf("%w: at most 16 guardrails at each stage", ErrInvalid)
	}
	if s.Config != "" && !configName.MatchString(s.Config) {
		return fmt.Errorf("%w: config must name a routing config", ErrInvalid)
	}
	if s.ExpiresAt != nil && !s.ExpiresAt.After(now) {
		return fmt.Errorf("%w: expires_at must be in the future", ErrInvalid)
	}
	return nil
}

// Grant decides a new key for a freshly drawn secret.
func Grant(id uuid.UUID, secret string, s Settings, now time.Time) (KeyGranted, error) {
	s.Name = strings.TrimSpace(s.Name)
	if err := s.validate(now); err != nil {
		return KeyGranted{}, err
	}
	if !LooksLikeSecret(secret) {
		return KeyGranted{}, fmt.Errorf("%w: malformed secret", ErrInvalid)
	}
	h := HashSecret(secret)
	return KeyGranted{V: 1, KeyID: id, Name: s.Name, Prefix: secret[:DisplayPrefixLen], SecretHash: h.String(),
		TeamID: s.TeamID, Models: s.Models, Metadata: s.Metadata, ExpiresAt: s.ExpiresAt}, nil
}

// Field is one setting of a patch: Set says whether the patch touches it.
type Field[T any] struct {
	Set   bool
	Value T
}

// Patch is a partial change of a key's settings.
type Patch struct {
	Name        Field[string]
	TeamID      Field[*uuid.UUID]
	Models      Field[[]string]
	Metadata    Field[map[string]string]
	ExpiresAt   Field[*time.Time]
	Config      Field[string]
	Guardrails  Field[Guardrails]
	LogPayloads Field[bool]
}

// Settings returns the key's current settings.
func (k *Key) Settings() Settings {
	return Settings{Name: k.Name, TeamID: k.TeamID, Models: k.Models, Metadata: k.Metadata, ExpiresAt: k.ExpiresAt, Config: k.Config, Guardrails: k.Guardrails,
		LogPayloads: k.LogPayloads}
}

// Update decides a change of settings; ok is false when nothing changes.
func (k *Key) Update(p Patch, now time.Time) (e KeyUpdated, ok bool, err error) {
	if k.RevokedAt != nil {
		return KeyUpdated{}, false, ErrRevoked
	}
	s := k.Settings()
	var changed []string
	if p.Name.Set && strings.TrimSpace(p.Name.Value) != s.Name {
		s.Name = strings.TrimSpace(p.Name.Value)
		changed = append(changed, "name")
	}
	if p.TeamID.Set && !equalPtr(p.TeamID.Value, s.TeamID) {
		s.TeamID = p.TeamID.Value
		changed = append(changed, "team_id")
	}
	if p.Models.Set && !slices.Equal(p.Models.Value, s.Models) {
		s.Models = p.Models.Value
		changed = append(changed, "models")
	}
	if p.Metadata.Set && !maps.Equal(p.Metadata.Value, s.Metadata) {
		s.Metadata = p.Metadata.Value
		changed = append(changed, "metadata")
	}
	if p.ExpiresAt.Set && !equalTime(p.ExpiresAt.Value, s.ExpiresAt) {
		s.ExpiresAt = p.ExpiresAt.Value
		changed = append(changed, "expires_at")
	}
	if p.Config.Set && p.Config.Value != s.Config {
		s.Config = p.Config.Value
		changed = append(changed, "config")
	}
	if p.Guardrails.Set && !(slices.Equal(p.Guardrails.Value.Input, s.Guardrails.Input) && slices.Equal(p.Guardrails.Value.Output, s.Guardrails.Output)) {
		s.Guardrails = p.Guardrails.Value
		changed = append(changed, "guardrails")
	}
	if p.LogPayloads.Set && p.LogPayloads.Value != s.LogPayloads {
		s.LogPayloads = p.LogPayloads.Value
		changed = append(changed, "log_payloads")
	}
	if len(changed) == 0 {
		return KeyUpdated{}, false, nil
	}
	if err := s.validate(now); err != nil {
		return KeyUpdated{}, false, err
	}
	return KeyUpdated{V: 1, KeyID: k.ID, Changed: changed, Name: s.Name, TeamID: s.TeamID, Models: s.Models,
		Metadata: s.Metadata, ExpiresAt: s.ExpiresAt, Config: s.Config, Guardrails: &s.Guardrails, LogPayloads: &s.LogPayloads}, true, nil
}

// MaxGrace bounds how long a rotated-out secret may stay valid.
const MaxGrace = 30 * 24 * time.Hour

// Rotate decides a new secret; the old one stays valid for grace.
func (k *Key) Rotate(secret string, grace time.Duration, now time.Time) (KeyRotated, error) {
	if k.RevokedAt != nil {
		return KeyRotated{}, ErrRevoked
	}
	if !LooksLikeSecret(secret) {
		return KeyRotated{}, fmt.Errorf("%w: malformed secret", ErrInvalid)
	}
	if grace < 0 || grace > MaxGrace {
		return KeyRotated{}, fmt.Errorf("%w: grace_seconds must be between 0 and %d", ErrInvalid, int(MaxGrace.Seconds()))
	}
	e := KeyRotated{V: 1, KeyID: k.ID, Prefix: secret[:DisplayPrefixLen], SecretHash: HashSecret(secret).String()}
	if grace > 0 {
		until := now.Add(grace).UTC()
		e.PreviousValidUntil = &until
	}
	return e, nil
}

// Revoke decides a revocation.
func (k *Key) Revoke(reason string) (KeyRevoked, error) {
	if k.RevokedAt != nil {
		return KeyRevoked{}, ErrRevoked
	}
	return KeyRevoked{V: 1, KeyID: k.ID, Reason: strings.TrimSpace(reason)}, nil
}

// Apply folds one recorded event of the key's stream into the key.
func (k *Key) Apply(r eventlog.Recorded) error {
	switch e := r.Event.(type) {
	case KeyGranted:
		h, err := ParseSecretHash(e.SecretHash)
		if err != nil {
			return err
		}
		*k = Key{ID: e.KeyID, TenantID: r.TenantID, Name: e.Name, Prefix: e.Prefix, SecretHash: h, TeamID: e.TeamID,
			Models: e.Models, Metadata: e.Metadata, CreatedAt: r.OccurredAt, ExpiresAt: e.ExpiresAt}
	case KeyUpdated:
		k.Name, k.TeamID, k.Models, k.Metadata, k.ExpiresAt, k.Config = e.Name, e.TeamID, e.Models, e.Metadata, e.ExpiresAt, e.Config
		if e.Guardrails != nil {
			k.Guardrails = *e.Guardrails
		}
		if e.LogPayloads != nil {
			k.LogPayloads = *e.LogPayloads
		}
	case KeyRotated:
		h, err := ParseSecretHash(e.SecretHash)
		if err != nil {
			return err
		}
		k.PreviousHash, k.PreviousValidUntil = k.SecretHash, e.PreviousValidUntil
		k.SecretHash, k.Prefix = h, e.Prefix
	case KeyRevoked:
		at := r.OccurredAt
		k.RevokedAt = &at
	}
	k.Version = r.Version
	return nil
}

func equalPtr(a, b *uuid.UUID) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func equalTime(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}
