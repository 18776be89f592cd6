package key

import (
	"time"

	"github.com/google/uuid"
)

// KeyGranted issues a key. It carries the secret's hash, never the secret,
// so the key directory can be rebuilt from the log.
type KeyGranted struct {
	V          int               `json:"v"`
	KeyID      uuid.UUID         `json:"key_id"`
	Name       string            `json:"name"`
	Prefix     string            `json:"prefix"`
	SecretHash string            `json:"secret_sha256"`
	TeamID     *uuid.UUID        `json:"team_id,omitempty"`
	Models     []string          `json:"models,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	ExpiresAt  *time.Time        `json:"expires_at,omitempty"`
}

func (KeyGranted) EventType() string { return "key.granted" }
func (KeyGranted) EventVersion() int { return 1 }

// KeyUpdated changes a key's settings. It holds every setting after the
// change (so a reader needs no history) and names the ones that changed.
type KeyUpdated struct {
	V         int               `json:"v"`
	KeyID     uuid.UUID         `json:"key_id"`
	Changed   []string          `json:"changed"`
	Name      string            `json:"name"`
	TeamID    *uuid.UUID        `json:"team_id"`
	Models    []string          `json:"models"`
	Metadata  map[string]string `json:"metadata"`
	ExpiresAt *time.Time        `json:"expires_at"`
	// Config is the routing config the key's requests use when they name
	// none; absent in events from before keys had one.
	Config string `json:"config,omitempty"`
	// Guardrails are the key's guardrails; absent in events from before
	// keys had them.
	Guardrails *Guardrails `json:"guardrails,omitempty"`
	// LogPayloads is whether the key's bodies are stored; absent in events
	// from before keys could.
	LogPayloads *bool `json:"log_payloads,omitempty"`
}

func (KeyUpdated) EventType() string { return "key.updated" }
func (KeyUpdated) EventVersion() int { return 1 }

// KeyRotated gives a key a new secret; the old one stays valid until
// PreviousValidUntil (absent: it stops at once).
type KeyRotated struct {
	V                  int        `json:"v"`
	KeyID              uuid.UUID  `json:"key_id"`
	Prefix             string     `json:"prefix"`
	SecretHash         string     `json:"secret_sha256"`
	PreviousValidUntil *time.Time `json:"previous_valid_until,omitempty"`
}

func (KeyRotated) EventType() string { return "key.rotated" }
func (KeyRotated) EventVersion() int { return 1 }

// KeyRevoked withdraws a key for good.
type KeyRevoked struct {
	V      int       `json:"v"`
	KeyID  uuid.UUID `json:"key_id"`
	Reason string    `json:"reason,omitempty"`
}

func (KeyRevoked) EventType() string { return "key.revoked" }
func (KeyRevoked) EventVersion() int { return 1 }
