// Package routing owns routing configs: their shape (Portkey's field
// names), their validation, and the plan a config makes for one request:
// the ordered attempts the executor runs.
package routing

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ErrInvalid is a config that breaks a rule; the message names the field
// by its JSON path.
var ErrInvalid = errors.New("invalid routing config")

// ErrNotFound is a config name the tenant never published (or a version
// it does not have).
var ErrNotFound = errors.New("routing config not found")

// Modes of a strategy.
const (
	ModeSingle      = "single"
	ModeFallback    = "fallback"
	ModeLoadbalance = "loadbalance"
	ModeConditional = "conditional"
)

// What a stream that breaks after bytes reached the client does.
const (
	StreamCutError    = "error"    // the client gets an error event
	StreamCutContinue = "continue" // the next target continues the text
)

// DefaultFallbackStatuses are the statuses that move a fallback to its
// next target when the strategy names none: rate limits and server errors.
var DefaultFallbackStatuses = []int{429, 500, 502, 503, 504}

// DefaultRetryStatuses are retried when a retry names no statuses.
var DefaultRetryStatuses = []int{429, 500, 502, 503, 504}

// Bounds of the settings.
const (
	MaxRetryAttempts = 10
	MaxTimeout       = 10 * time.Minute
	MaxCacheAge      = 30 * 24 * time.Hour
	DefaultCacheAge  = time.Hour
	maxDepth         = 8
	maxTargets       = 64
)

// Retry is how often a target is tried again, and on what.
type Retry struct {
	Attempts      int   // tries after the first
	OnStatusCodes []int // statuses that are retried
	UseRetryAfter bool  // wait as the upstream's Retry-After says
}

// Cache is the exact cache's setting.
type Cache struct {
	Mode   string // "simple"
	MaxAge time.Duration
}

// Breaker is a circuit breaker's setting.
type Breaker struct {
	FailureThreshold int
	Cooldown         time.Duration
}

// Settings are what a level may set for itself and the levels under it;
// nil (or "") inherits from the level above.
type Settings struct {
	Retry             *Retry
	RequestTimeout    *time.Duration
	FirstTokenTimeout *time.Duration
	IdleTimeout       *time.Duration
	Cache             *Cache
	CircuitBreaker    *Breaker
	OnStreamCut       string
}

// Strategy is how a group chooses among its targets.
type Strategy struct {
	Mode          string
	OnStatusCodes []int // fallback: the statuses that move on
	Conditions    []Condition
	Default       string // conditional: the target when no condition matches
}

// Condition sends requests that match Query to the target named Then.
type Condition struct {
	Query Query
	Then  string
}

// Node is a config or one of its targets: a leaf names a provider
// connection; a group has a strategy and targets of its own.
type Node struct {
	Name           string
	Provider       string
	OverrideParams map[string]any
	Weight         float64
	Strategy       *Strategy // groups only
	Targets        []Node
	Settings
}

// IsLeaf says whether the node calls a provider itself.
func (n Node) IsLeaf() bool { return n.Provider != "" }

// Config is a validated routing config.
type Config struct {
	Root Node
	// InputGuardrails and OutputGuardrails run for every request routed
	// by the config, after its team's and its key's (Portkey's names).
	InputGuardrails, OutputGuardrails []string
	// NextOnOutputGuardrailFail: a whole answer an output guardrail blocks
	// is asked of the next target before the client is refused.
	NextOnOutputGuardrailFail bool
}

var (
	namePattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	providerPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
)

// ValidName checks a config's name: it is used in a header and a URL.
func ValidName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w: name must be 1-63 letters, digits, '.', '_' or '-'", ErrInvalid)
	}
	return nil
}

// fieldError names the field a rule broke by its JSON path.
func fieldError(path, format string, args ...any) error {
	if path == "" {
		path = "config"
	}
	return fmt.Errorf("%w: %s: %s", ErrInvalid, path, fmt.Sprintf(format, args...))
}
