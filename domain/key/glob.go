package key

import (
	"fmt"
	"strings"
)

// MatchModel reports whether model matches pattern: an exact name, or a
// glob where * stands for any run of characters (slashes included) and ?
// for exactly one. "openai/gpt-4o*" matches "openai/gpt-4o-mini".
func MatchModel(pattern, model string) bool {
	// Iterative wildcard matching with one backtrack point: linear in
	// practice, never exponential.
	p, m := 0, 0
	star, mark := -1, 0
	for m < len(model) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == model[m]):
			p++
			m++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, m
			p++
		case star >= 0:
			p = star + 1
			mark++
			m = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// ValidatePatterns checks a key's model patterns.
func ValidatePatterns(patterns []string) error {
	if len(patterns) > 200 {
		return fmt.Errorf("%w: at most 200 model patterns", ErrInvalid)
	}
	for _, p := range patterns {
		if strings.TrimSpace(p) != p || p == "" || len(p) > 300 {
			return fmt.Errorf("%w: model pattern %q must be 1-300 characters without surrounding spaces", ErrInvalid, p)
		}
		if !strings.Contains(p, "/") && p != "*" {
			return fmt.Errorf("%w: model pattern %q must name a provider: <provider>/<model>, globs allowed (openai/gpt-4o*)", ErrInvalid, p)
		}
	}
	return nil
}
