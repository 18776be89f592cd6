package routing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Parse reads and validates a routing config. A rule broken is an
// ErrInvalid naming the field by its JSON path (targets[1].retry.attempts).
func Parse(b []byte) (Config, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Config{}, fmt.Errorf("%w: the config is not JSON: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Config{}, fmt.Errorf("%w: the config must be one JSON object", ErrInvalid)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Config{}, fieldError("", "must be an object")
	}
	var c Config
	for _, g := range []struct {
		field string
		dst   *[]string
	}{{"input_guardrails", &c.InputGuardrails}, {"output_guardrails", &c.OutputGuardrails}} {
		raw, ok := m[g.field]
		if !ok {
			continue
		}
		delete(m, g.field)
		list, ok := raw.([]any)
		if !ok || len(list) > 16 {
			return Config{}, fieldError(g.field, "must be an array of at most 16 guardrail names")
		}
		for i, n := range list {
			s, _ := n.(string)
			if !namePattern.MatchString(s) {
				return Config{}, fieldError(fmt.Sprintf("%s[%d]", g.field, i), "must name a guardrail")
			}
			*g.dst = append(*g.dst, s)
		}
	}
	if raw, ok := m["on_output_guardrail_fail"]; ok {
		delete(m, "on_output_guardrail_fail")
		switch raw {
		case "next":
			c.NextOnOutputGuardrailFail = true
		case "error":
		default:
			return Config{}, fieldError("on_output_guardrail_fail", "must be next or error")
		}
	}
	root, err := parseNode(m, "", 0)
	if err != nil {
		return Config{}, err
	}
	c.Root = root
	return c, nil
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

var nodeFields = []string{"name", "provider", "override_params", "weight", "strategy", "targets",
	"retry", "request_timeout", "first_token_timeout", "idle_timeout", "cache", "circuit_breaker", "on_stream_cut"}

func parseNode(m map[string]any, path string, depth int) (Node, error) {
	if depth > maxDepth {
		return Node{}, fieldError(path, "targets nest deeper than %d levels", maxDepth)
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(nodeFields, k) {
			return Node{}, fieldError(join(path, k), "is not a config field")
		}
	}
	n := Node{Weight: 1}
	var err error
	if v, ok := m["name"]; ok {
		if path == "" {
			return Node{}, fieldError("name", "a config's name is given beside it (POST …/configs {\"name\", \"config\"}), not in it")
		}
		if n.Name, err = str(v, join(path, "name")); err != nil {
			return Node{}, err
		}
		if !namePattern.MatchString(n.Name) {
			return Node{}, fieldError(join(path, "name"), "must be 1-63 letters, digits, '.', '_' or '-'")
		}
	}
	if v, ok := m["provider"]; ok {
		if n.Provider, err = str(v, join(path, "provider")); err != nil {
			return Node{}, err
		}
		if !providerPattern.MatchString(n.Provider) {
			return Node{}, fieldError(join(path, "provider"), "must name a provider connection")
		}
	}
	if v, ok := m["weight"]; ok {
		if n.Weight, err = number(v, join(path, "weight")); err != nil {
			return Node{}, err
		}
		if n.Weight <= 0 || n.Weight > 1e6 {
			return Node{}, fieldError(join(path, "weight"), "must be a number above 0 and at most 1000000")
		}
	}
	if v, ok := m["override_params"]; ok {
		if n.OverrideParams, err = overrides(v, join(path, "override_params")); err != nil {
			return Node{}, err
		}
	}
	if n.Settings, err = parseSettings(m, path); err != nil {
		return Node{}, err
	}
	_, hasTargets := m["targets"]
	_, hasStrategy := m["strategy"]
	switch {
	case n.Provider != "" && (hasTargets || hasStrategy):
		return Node{}, fieldError(join(path, "provider"), "a target names a provider or has targets of its own, not both")
	case n.Provider != "":
		return n, nil
	case !hasTargets:
		return Node{}, fieldError(join(path, "targets"), "is required (or name a provider)")
	}
	raw, ok := m["targets"].([]any)
	if !ok || len(raw) == 0 || len(raw) > maxTargets {
		return Node{}, fieldError(join(path, "targets"), "must be an array of 1 to %d targets", maxTargets)
	}
	names := map[string]bool{}
	for i, t := range raw {
		at := fmt.Sprintf("%s[%d]", join(path, "targets"), i)
		tm, ok := t.(map[string]any)
		if !ok {
			return Node{}, fieldError(at, "must be an object")
		}
		child, err := parseNode(tm, at, depth+1)
		if err != nil {
			return Node{}, err
		}
		if child.Name != "" {
			if names[child.Name] {
				return Node{}, fieldError(join(at, "name"), "%q names another target of this level too", child.Name)
			}
			names[child.Name] = true
		}
		n.Targets = append(n.Targets, child)
	}
	if !hasStrategy {
		if len(n.Targets) > 1 {
			return Node{}, fieldError(join(path, "strategy"), "is required with more than one target")
		}
		n.Strategy = &Strategy{Mode: ModeSingle}
		return n, nil
	}
	if n.Strategy, err = parseStrategy(m["strategy"], join(path, "strategy"), n.Targets, names); err != nil {
		return Node{}, err
	}
	return n, nil
}

func parseStrategy(v any, path string, targets []Node, names map[string]bool) (*Strategy, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fieldError(path, "must be an object")
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains([]string{"mode", "on_status_codes", "conditions", "default"}, k) {
			return nil, fieldError(join(path, k), "is not a strategy field")
		}
	}
	s := &Strategy{}
	var err error
	if s.Mode, err = str(m["mode"], join(path, "mode")); err != nil {
		return nil, err
	}
	switch s.Mode {
	case ModeSingle:
		if len(targets) != 1 {
			return nil, fieldError(join(path, "mode"), "single takes exactly one target")
		}
	case ModeFallback, ModeLoadbalance:
	case ModeConditional:
		if len(names) != len(targets) {
			return nil, fieldError(join(path, "mode"), "conditional targets must each have a name")
		}
	default:
		return nil, fieldError(join(path, "mode"), "must be single, fallback, loadbalance or conditional")
	}
	if v, ok := m["on_status_codes"]; ok {
		if s.Mode != ModeFallback {
			return nil, fieldError(join(path, "on_status_codes"), "belongs to a fallback strategy")
		}
		if s.OnStatusCodes, err = statuses(v, join(path, "on_status_codes")); err != nil {
			return nil, err
		}
	}
	_, hasConditions := m["conditions"]
	_, hasDefault := m["default"]
	if s.Mode != ModeConditional {
		if hasConditions || hasDefault {
			return nil, fieldError(join(path, "mode"), "conditions and default belong to a conditional strategy")
		}
		return s, nil
	}
	raw, ok := m["conditions"].([]any)
	if !ok || len(raw) == 0 {
		return nil, fieldError(join(path, "conditions"), "must be an array of at least one condition")
	}
	for i, c := range raw {
		at := fmt.Sprintf("%s[%d]", join(path, "conditions"), i)
		cm, ok := c.(map[string]any)
		if !ok {
			return nil, fieldError(at, "must be an object with query and then")
		}
		for _, k := range sortedKeys(cm) {
			if k != "query" && k != "then" {
				return nil, fieldError(join(at, k), "is not a condition field")
			}
		}
		q, err := parseQuery(cm["query"], join(at, "query"))
		if err != nil {
			return nil, err
		}
		then, err := str(cm["then"], join(at, "then"))
		if err != nil {
			return nil, err
		}
		if !names[then] {
			return nil, fieldError(join(at, "then"), "%q names no target of this level", then)
		}
		s.Conditions = append(s.Conditions, Condition{Query: q, Then: then})
	}
	if hasDefault {
		if s.Default, err = str(m["default"], join(path, "default")); err != nil {
			return nil, err
		}
		if !names[s.Default] {
			return nil, fieldError(join(path, "default"), "%q names no target of this level", s.Default)
		}
	}
	return s, nil
}

func parseSettings(m map[string]any, path string) (Settings, error) {
	var s Settings
	var err error
	for _, t := range []struct {
		field string
		dst   **time.Duration
	}{{"request_timeout", &s.RequestTimeout}, {"first_token_timeout", &s.FirstTokenTimeout}, {"idle_timeout", &s.IdleTimeout}} {
		field, dst := t.field, t.dst
		v, ok := m[field]
		if !ok {
			continue
		}
		n, err := integer(v, join(path, field), 1, MaxTimeout.Milliseconds())
		if err != nil {
			return s, err
		}
		d := time.Duration(n) * time.Millisecond
		*dst = &d
	}
	if v, ok := m["retry"]; ok {
		if s.Retry, err = parseRetry(v, join(path, "retry")); err != nil {
			return s, err
		}
	}
	if v, ok := m["cache"]; ok {
		if s.Cache, err = parseCache(v, join(path, "cache")); err != nil {
			return s, err
		}
	}
	if v, ok := m["circuit_breaker"]; ok {
		if s.CircuitBreaker, err = parseBreaker(v, join(path, "circuit_breaker")); err != nil {
			return s, err
		}
	}
	if v, ok := m["on_stream_cut"]; ok {
		if s.OnStreamCut, err = str(v, join(path, "on_stream_cut")); err != nil {
			return s, err
		}
		if s.OnStreamCut != StreamCutError && s.OnStreamCut != StreamCutContinue {
			return s, fieldError(join(path, "on_stream_cut"), "must be error or continue")
		}
	}
	return s, nil
}

func parseRetry(v any, path string) (*Retry, error) {
	m, err := object(v, path, "attempts", "on_status_codes", "use_retry_after_header")
	if err != nil {
		return nil, err
	}
	r := &Retry{OnStatusCodes: DefaultRetryStatuses, UseRetryAfter: true}
	n, err := integer(m["attempts"], join(path, "attempts"), 0, MaxRetryAttempts)
	if err != nil {
		return nil, err
	}
	r.Attempts = int(n)
	if v, ok := m["on_status_codes"]; ok {
		if r.OnStatusCodes, err = statuses(v, join(path, "on_status_codes")); err != nil {
			return nil, err
		}
	}
	if v, ok := m["use_retry_after_header"]; ok {
		b, ok := v.(bool)
		if !ok {
			return nil, fieldError(join(path, "use_retry_after_header"), "must be true or false")
		}
		r.UseRetryAfter = b
	}
	return r, nil
}

func parseCache(v any, path string) (*Cache, error) {
	m, err := object(v, path, "mode", "max_age")
	if err != nil {
		return nil, err
	}
	mode, err := str(m["mode"], join(path, "mode"))
	if err != nil {
		return nil, err
	}
	if mode != "simple" {
		return nil, fieldError(join(path, "mode"), "must be simple (an exact cache)")
	}
	c := &Cache{Mode: mode, MaxAge: DefaultCacheAge}
	if v, ok := m["max_age"]; ok {
		n, err := integer(v, join(path, "max_age"), 1, int64(MaxCacheAge/time.Second))
		if err != nil {
			return nil, err
		}
		c.MaxAge = time.Duration(n) * time.Second
	}
	return c, nil
}

func parseBreaker(v any, path string) (*Breaker, error) {
	m, err := object(v, path, "failure_threshold", "cooldown_seconds")
	if err != nil {
		return nil, err
	}
	b := &Breaker{FailureThreshold: 5, Cooldown: 30 * time.Second}
	if v, ok := m["failure_threshold"]; ok {
		n, err := integer(v, join(path, "failure_threshold"), 1, 1000)
		if err != nil {
			return nil, err
		}
		b.FailureThreshold = int(n)
	}
	if v, ok := m["cooldown_seconds"]; ok {
		n, err := integer(v, join(path, "cooldown_seconds"), 1, 86400)
		if err != nil {
			return nil, err
		}
		b.Cooldown = time.Duration(n) * time.Second
	}
	return b, nil
}

// reservedParams shape the request rather than tune it: a config does not
// override them.
var reservedParams = []string{"messages", "input", "prompt", "stream", "stream_options"}

// paramPattern is the shape of a request parameter's name.
var paramPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func overrides(v any, path string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fieldError(path, "must be an object")
	}
	for _, k := range sortedKeys(m) {
		if slices.Contains(reservedParams, k) {
			return nil, fieldError(join(path, k), "cannot be overridden by a config")
		}
		if !paramPattern.MatchString(k) {
			return nil, fieldError(path, "%q is not a request parameter's name", k)
		}
	}
	if v, ok := m["model"]; ok {
		s, isString := v.(string)
		if !isString || strings.TrimSpace(s) == "" || len(s) > 200 {
			return nil, fieldError(join(path, "model"), "must be a model name")
		}
	}
	return m, nil
}

func object(v any, path string, fields ...string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fieldError(path, "must be an object")
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(fields, k) {
			return nil, fieldError(join(path, k), "is not a field here (expected %s)", strings.Join(fields, ", "))
		}
	}
	return m, nil
}

func str(v any, path string) (string, error) {
	s, ok := v.(string)
	if !ok || s == "" {
		return "", fieldError(path, "must be a non-empty string")
	}
	return s, nil
}

func number(v any, path string) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fieldError(path, "must be a number")
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) {
		return 0, fieldError(path, "must be a number")
	}
	return f, nil
}

func integer(v any, path string, lo, hi int64) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fieldError(path, "must be an integer from %d to %d", lo, hi)
	}
	i, err := n.Int64()
	if err != nil || i < lo || i > hi {
		return 0, fieldError(path, "must be an integer from %d to %d", lo, hi)
	}
	return i, nil
}

func statuses(v any, path string) ([]int, error) {
	raw, ok := v.([]any)
	if !ok || len(raw) == 0 {
		return nil, fieldError(path, "must be an array of HTTP status codes")
	}
	out := make([]int, len(raw))
	for i, s := range raw {
		n, err := integer(s, fmt.Sprintf("%s[%d]", path, i), 400, 599)
		if err != nil {
			return nil, err
		}
		out[i] = int(n)
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
