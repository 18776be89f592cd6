package guardrail

// Reading a published definition: the checks, their fields and the errors
// that name them by JSON path.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Validate checks a text against a compiled JSON Schema: nil when it
// parses and validates, ErrNotJSON when it does not parse.
type Validate func(text string) error

// ErrNotJSON is a text that is not JSON.
var ErrNotJSON = errors.New("not JSON")

// SchemaCompiler compiles a json_schema check's schema; the JSON Schema
// implementation is an adapter's.
type SchemaCompiler func(schema map[string]any) (Validate, error)

// Parse reads and validates a guardrail definition: {"checks": […],
// "action", "on_error"}; compile compiles json_schema checks' schemas.
func Parse(b []byte, compile SchemaCompiler) (*Guardrail, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: the guardrail is not a JSON object: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: the guardrail must be one JSON object", ErrInvalid)
	}
	for k := range raw {
		if !slices.Contains([]string{"checks", "action", "on_error"}, k) {
			return nil, fieldError(k, "is not a guardrail field")
		}
	}
	g := &Guardrail{Action: ActionBlock, OnError: OnErrorBlock}
	if v, ok := raw["action"]; ok {
		s, _ := v.(string)
		if s != ActionBlock && s != ActionRedact && s != ActionFlag {
			return nil, fieldError("action", "must be block, redact or flag")
		}
		g.Action = s
	}
	if v, ok := raw["on_error"]; ok {
		s, _ := v.(string)
		if s != OnErrorBlock && s != OnErrorAllow {
			return nil, fieldError("on_error", "must be block or allow")
		}
		g.OnError = s
	}
	checks, ok := raw["checks"].([]any)
	if !ok || len(checks) == 0 || len(checks) > 32 {
		return nil, fieldError("checks", "must be an array of 1 to 32 checks")
	}
	for i, c := range checks {
		at := fmt.Sprintf("checks[%d]", i)
		m, ok := c.(map[string]any)
		if !ok {
			return nil, fieldError(at, "must be an object")
		}
		check, err := parseCheck(m, at, compile)
		if err != nil {
			return nil, err
		}
		g.Checks = append(g.Checks, check)
	}
	return g, nil
}

func fieldError(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, path, fmt.Sprintf(format, args...))
}

var checkFields = map[string][]string{
	CheckPII:             {"type", "entities"},
	CheckSecrets:         {"type"},
	CheckPromptInjection: {"type", "threshold"},
	CheckRegex:           {"type", "pattern", "match"},
	CheckWords:           {"type", "words"},
	CheckLength:          {"type", "max_chars", "max_tokens"},
	CheckJSONSchema:      {"type", "schema"},
	CheckWebhook:         {"type", "url", "timeout_ms", "headers"},
}

func parseCheck(m map[string]any, at string, compile SchemaCompiler) (Check, error) {
	typ, _ := m["type"].(string)
	fields, known := checkFields[typ]
	if !known {
		return Check{}, fieldError(at+".type", "must be pii, secrets, prompt_injection, regex, words, length, json_schema or webhook")
	}
	for k := range m {
		if !slices.Contains(fields, k) {
			return Check{}, fieldError(at+"."+k, "is not a field of a %s check", typ)
		}
	}
	c := Check{Type: typ}
	switch typ {
	case CheckPII:
		entities := PIIEntities
		if v, ok := m["entities"]; ok {
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return c, fieldError(at+".entities", "must be a non-empty array of %s", strings.Join(PIIEntities, ", "))
			}
			entities = nil
			for j, e := range list {
				s, _ := e.(string)
				if _, ok := piiDetectors[s]; !ok {
					return c, fieldError(fmt.Sprintf("%s.entities[%d]", at, j), "must be one of %s", strings.Join(PIIEntities, ", "))
				}
				entities = append(entities, s)
			}
		}
		for _, e := range entities {
			c.detectors = append(c.detectors, piiDetectors[e])
		}
	case CheckSecrets:
		c.detectors = secretDetectors
	case CheckPromptInjection:
		c.threshold = 0.5
		if v, ok := m["threshold"]; ok {
			n, ok := v.(json.Number)
			f, err := n.Float64()
			if !ok || err != nil || f <= 0 || f > 1 {
				return c, fieldError(at+".threshold", "must be a number above 0 and at most 1")
			}
			c.threshold = f
		}
	case CheckRegex:
		p, _ := m["pattern"].(string)
		re, err := regexp.Compile(p)
		if p == "" || err != nil {
			return c, fieldError(at+".pattern", "must be a regular expression in RE2 syntax: %v", err)
		}
		c.pattern, c.onMatch = newPattern(re), true
		if v, ok := m["match"]; ok {
			b, ok := v.(bool)
			if !ok {
				return c, fieldError(at+".match", "must be true (fail when it matches) or false (fail when it does not)")
			}
			c.onMatch = b
		}
	case CheckWords:
		list, ok := m["words"].([]any)
		if !ok || len(list) == 0 || len(list) > 10000 {
			return c, fieldError(at+".words", "must be an array of 1 to 10000 words")
		}
		var entries []string
		for j, w := range list {
			s, _ := w.(string)
			if strings.TrimSpace(s) == "" || len(s) > 200 {
				return c, fieldError(fmt.Sprintf("%s.words[%d]", at, j), "must be a word of 1 to 200 bytes")
			}
			entries = append(entries, strings.TrimSpace(s))
		}
		c.words = newWordList(entries)
	case CheckLength:
		for _, f := range []struct {
			name string
			dst  *int
		}{{"max_chars", &c.maxChars}, {"max_tokens", &c.maxTokens}} {
			if v, ok := m[f.name]; ok {
				n, ok := v.(json.Number)
				i, err := n.Int64()
				if !ok || err != nil || i < 1 || i > 10_000_000 {
					return c, fieldError(at+"."+f.name, "must be an integer from 1 to 10000000")
				}
				*f.dst = int(i)
			}
		}
		if c.maxChars == 0 && c.maxTokens == 0 {
			return c, fieldError(at, "a length check needs max_chars or max_tokens")
		}
	case CheckJSONSchema:
		schema, ok := m["schema"].(map[string]any)
		if !ok {
			return c, fieldError(at+".schema", "must be a JSON Schema object")
		}
		if compile == nil {
			return c, fieldError(at+".schema", "JSON Schema checks cannot be compiled here")
		}
		compiled, err := compile(schema)
		if err != nil {
			return c, fieldError(at+".schema", "is not a valid JSON Schema: %v", err)
		}
		c.schema = compiled
	case CheckWebhook:
		w := &Webhook{Timeout: 3 * time.Second, Headers: map[string]string{}}
		raw, _ := m["url"].(string)
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fieldError(at+".url", "must be an absolute http(s) URL")
		}
		w.URL = raw
		if v, ok := m["timeout_ms"]; ok {
			n, ok := v.(json.Number)
			i, err := n.Int64()
			if !ok || err != nil || i < 1 || i > 30000 {
				return c, fieldError(at+".timeout_ms", "must be an integer from 1 to 30000")
			}
			w.Timeout = time.Duration(i) * time.Millisecond
		}
		if v, ok := m["headers"]; ok {
			h, ok := v.(map[string]any)
			if !ok {
				return c, fieldError(at+".headers", "must be an object of strings")
			}
			for k, hv := range h {
				s, ok := hv.(string)
				if !ok || !headerName.MatchString(k) || strings.ContainsAny(s, "\r\n") {
					return c, fieldError(at+".headers."+k, "must be a header name with a string value")
				}
				w.Headers[k] = s
			}
		}
		c.Webhook = w
	}
	return c, nil
}

var headerName = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
