// Package key owns virtual keys: how a secret is made and recognised, and
// the lifecycle of a key (granted, updated, rotated, revoked, expired) with
// the rules on which models it may call.
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

func (h SecretHash) String() string { return hex.EncodeToString(h[:]) }

// ParseSecretHash reads the hex hash stored in an event.
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
	ErrInvalid    = errors.New("invalid key")
	ErrNotFound   = errors.New("key not found")
	ErrRevoked    = errors.New("key revoked")
	ErrExpired    = errors.New("key expired")
	ErrRotatedOut = errors.New("key secret rotated out")
	// ErrModelNotAllowed is a call for a model outside the key's patterns.
	ErrModelNotAllowed = errors.New("model not allowed for this key")
)

// Key is a virtual key as the governance side sees it.
type Key struct {
	ID         uuid.UUID
	TenantID   string
	Name       string
	Prefix     string
	SecretHash SecretHash
	TeamID     *uuid.UUID
	Models     []string // patterns of the models it may call; empty: any
	Metadata   map[string]string
	Config     string // the routing config of requests that name none; "" for none
	Guardrails Guardrails
	// LogPayloads stores the bodies of the key's requests and answers
	// (after guardrail redaction) for the tenant's retention period.
	LogPayloads bool
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	// PreviousHash is the secret a rotation replaced, valid until
	// PreviousValidUntil (the grace period), if that is set.
	PreviousHash       SecretHash
	PreviousValidUntil *time.Time
	Version            int // stream version, for optimistic concurrency
}

// Guardrails are the guardrails a key's requests always run, by name:
// on their input and on their output.
type Guardrails struct {
	Input  []string `json:"input,omitempty"`
	Output []string `json:"output,omitempty"`
}

// StreamID is a key's stream.
func StreamID(id uuid.UUID) string { return "key:" + id.String() }

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

// Authenticates says whether a presented secret's hash opens the key at
// now: its current secret, or the one it replaced during the grace period.
func (k *Key) Authenticates(h SecretHash, now time.Time) error {
	if k.SecretHash.Equal(h) {
		return nil
	}
	if k.PreviousValidUntil != nil && k.PreviousHash.Equal(h) && now.Before(*k.PreviousValidUntil) {
		return nil
	}
	return ErrRotatedOut
}

// AllowsModel says whether the key may call model ("<provider>/<model>").
func (k *Key) AllowsModel(model string) error {
	if len(k.Models) == 0 {
		return nil
	}
	for _, p := range k.Models {
		if MatchModel(p, model) {
			return nil
		}
	}
	return ErrModelNotAllowed
}
