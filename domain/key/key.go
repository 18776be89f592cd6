// Package key owns virtual keys: how a secret is made and recognised, and
// the lifecycle of a key (granted, revoked, expired).
package key

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// SecretPrefix starts every virtual key, so scanners can spot a leaked one.
const SecretPrefix = "sk-gh-"

// secretBytes of randomness: 256 bits.
const secretBytes = 32

// DisplayPrefixLen is how much of a secret is kept to tell keys apart.
const DisplayPrefixLen = len(SecretPrefix) + 6

// SecretHash is the only form in which a secret is stored.
type SecretHash [sha256.Size]byte

// HashSecret hashes a presented secret for lookup.
func HashSecret(secret string) SecretHash { return sha256.Sum256([]byte(secret)) }

// Equal compares two hashes in constant time.
func (h SecretHash) Equal(o SecretHash) bool { return subtle.ConstantTimeCompare(h[:], o[:]) == 1 }

// NewSecret draws a secret from random; it is shown once and never stored.
func NewSecret(random io.Reader) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("draw key secret: %w", err)
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// LooksLikeSecret is a cheap shape check before any lookup.
func LooksLikeSecret(s string) bool {
	return strings.HasPrefix(s, SecretPrefix) && len(s) == len(SecretPrefix)+base64.RawURLEncoding.EncodedLen(secretBytes)
}

var (
	ErrInvalid  = errors.New("invalid key")
	ErrNotFound = errors.New("key not found")
	ErrRevoked  = errors.New("key revoked")
	ErrExpired  = errors.New("key expired")
)

// Key is a virtual key as the governance side sees it.
type Key struct {
	ID         uuid.UUID
	TenantID   string
	Name       string
	Prefix     string
	SecretHash SecretHash
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	Version    int // stream version, for optimistic concurrency
}

// KeyGranted issues a key. It carries the secret's hash, never the secret,
// so the key directory can be rebuilt from the log.
type KeyGranted struct {
	V          int        `json:"v"`
	KeyID      uuid.UUID  `json:"key_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	SecretHash string     `json:"secret_sha256"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
}

func (KeyGranted) EventType() string { return "key.granted" }
func (KeyGranted) EventVersion() int { return 1 }

// KeyRevoked withdraws a key for good.
type KeyRevoked struct {
	V      int       `json:"v"`
	KeyID  uuid.UUID `json:"key_id"`
	Reason string    `json:"reason,omitempty"`
}

func (KeyRevoked) EventType() string { return "key.revoked" }
func (KeyRevoked) EventVersion() int { return 1 }

// StreamID is a key's stream.
func StreamID(id uuid.UUID) string { return "key:" + id.String() }

// Grant decides a new key for a freshly drawn secret.
func Grant(id uuid.UUID, tenantID, name, secret string, expiresAt *time.Time, now time.Time) (KeyGranted, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return KeyGranted{}, fmt.Errorf("%w: name must be 1-200 characters", ErrInvalid)
	}
	if !LooksLikeSecret(secret) {
		return KeyGranted{}, fmt.Errorf("%w: malformed secret", ErrInvalid)
	}
	if expiresAt != nil && !expiresAt.After(now) {
		return KeyGranted{}, fmt.Errorf("%w: expires_at must be in the future", ErrInvalid)
	}
	h := HashSecret(secret)
	return KeyGranted{V: 1, KeyID: id, Name: name, Prefix: secret[:DisplayPrefixLen], SecretHash: hex.EncodeToString(h[:]), ExpiresAt: expiresAt}, nil
}

// Revoke decides a revocation.
func (k *Key) Revoke(reason string) (KeyRevoked, error) {
	if k.RevokedAt != nil {
		return KeyRevoked{}, ErrRevoked
	}
	return KeyRevoked{V: 1, KeyID: k.ID, Reason: strings.TrimSpace(reason)}, nil
}

// Usable says whether traffic may use the key at now. A revocation takes
// effect as soon as it is known, whatever the clocks of the replicas say.
func (k *Key) Usable(now time.Time) error {
	if k.RevokedAt != nil {
		return ErrRevoked
	}
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return ErrExpired
	}
	return nil
}

// Apply folds one recorded event of the key's stream into the key.
func (k *Key) Apply(r eventlog.Recorded) error {
	switch e := r.Event.(type) {
	case KeyGranted:
		h, err := ParseSecretHash(e.SecretHash)
		if err != nil {
			return err
		}
		*k = Key{ID: e.KeyID, TenantID: r.TenantID, Name: e.Name, Prefix: e.Prefix, SecretHash: h, CreatedAt: r.OccurredAt, ExpiresAt: e.ExpiresAt}
	case KeyRevoked:
		at := r.OccurredAt
		k.RevokedAt = &at
	}
	k.Version = r.Version
	return nil
}

// ParseSecretHash reads the hex hash stored in a KeyGranted event.
func ParseSecretHash(s string) (SecretHash, error) {
	var h SecretHash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("%w: secret hash has %d hex digits", ErrInvalid, len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%w: secret hash: %v", ErrInvalid, err)
	}
	return h, nil
}
