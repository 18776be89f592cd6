package guardrail

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
	"unicode"
	"unicode/utf8"
)

// ErrInvalid is a guardrail definition that breaks a rule; the message
// names the field by its JSON path.
var ErrInvalid = errors.New("invalid guardrail")

// ErrNotFound is a guardrail name the tenant never published.
var ErrNotFound = errors.New("guardrail not found")

// Actions on a failing check, and what a check that errs does.
const (
	ActionBlock  = "block"
	ActionRedact = "redact"
	ActionFlag   = "flag"
	OnErrorBlock = "block"
	OnErrorAllow = "allow"
)

// Stages a guardrail runs at.
const (
	StageInput  = "input"
	StageOutput = "output"
)

// Check types.
const (
	CheckPII             = "pii"
	CheckSecrets         = "secrets"
	CheckPromptInjection = "prompt_injection"
	CheckRegex           = "regex"
	CheckWords           = "words"
	CheckLength          = "length"
	CheckJSONSchema      = "json_schema"
	CheckWebhook         = "webhook"
)

// Guardrail is a validated definition, its detectors compiled.
type Guardrail struct {
	Checks  []Check
	Action  string
	OnError string
}

// Check is one check of a guardrail.
type Check struct {
	Type      string
	detectors []detector
	threshold float64   // prompt_injection
	pattern   *pattern  // regex
	onMatch   bool      // regex: fail when it matches (true) or when it does not
	words     *wordList // words
	maxChars  int       // length
	maxTokens int       // length
	schema    Validate  // json_schema
	Webhook   *Webhook
}

// Webhook is a check run by a service of the tenant's.
type Webhook struct {
	URL     string
	Timeout time.Duration
	Headers map[string]string
}

// Result is one check's outcome on a text.
type Result struct {
	Check    string
	Outcome  string // pass, fail, error
	Findings []Finding
	Reason   string // why it erred, or the webhook's reason
}

// Outcomes.
const (
	Pass  = "pass"
	Fail  = "fail"
	Error = "error"
)

// Entities counts findings by entity.
func (r Result) Entities() map[string]int {
	if len(r.Findings) == 0 {
		return nil
	}
	out := map[string]int{}
	for _, f := range r.Findings {
		out[f.Entity]++
	}
	return out
}

// Run runs the guardrail's local checks on a text at a stage (a webhook
// check is run by the caller: it reaches the network). json_schema runs on
// output only.
func (g *Guardrail) Run(text string, stage string) []Result {
	var out []Result
	for _, c := range g.Checks {
		if c.Type == CheckWebhook || (c.Type == CheckJSONSchema && stage != StageOutput) {
			continue
		}
		out = append(out, c.run(text))
	}
	return out
}

// Part is one piece of the text a guardrail runs on: a message's content,
// a tool call's arguments, reasoning, an answer's text. Answer marks an
// answer's own text, the only part json_schema validates.
type Part struct {
	Text   string
	Answer bool
}

// RunParts runs the local checks on the parts of one request or answer:
// the span checks and prompt_injection on each part (each part's findings
// kept apart, to redact it), length on all the parts together, and
// json_schema (output only) on each answer part; an output with no
// answer text fails json_schema. The results merge per check.
func (g *Guardrail) RunParts(parts []Part, stage string) (merged []Result, perPart [][]Finding) {
	perPart = make([][]Finding, len(parts))
	for _, c := range g.Checks {
		if c.Type == CheckWebhook || (c.Type == CheckJSONSchema && stage != StageOutput) {
			continue
		}
		r := Result{Check: c.Type, Outcome: Pass}
		switch c.Type {
		case CheckLength:
			r = c.length(parts)
		case CheckJSONSchema:
			r = Result{Check: c.Type, Outcome: Fail, Reason: "the answer has no text"}
			for _, p := range parts {
				if !p.Answer {
					continue
				}
				if one := c.run(p.Text); r.Outcome != Pass || one.Outcome == Fail {
					r = one
				}
				if r.Outcome == Fail {
					break
				}
			}
		default:
			for i, p := range parts {
				one := c.run(p.Text)
				if one.Outcome == Fail && r.Outcome == Pass {
					r.Outcome, r.Reason = Fail, one.Reason
				}
				r.Findings = append(r.Findings, one.Findings...)
				perPart[i] = append(perPart[i], one.Findings...)
			}
		}
		merged = append(merged, r)
	}
	return merged, perPart
}

// length bounds all the parts together.
func (c Check) length(parts []Part) Result {
	r := Result{Check: c.Type, Outcome: Pass}
	chars, bytes := 0, 0
	for _, p := range parts {
		chars += utf8.RuneCountInString(p.Text)
		bytes += len(p.Text)
	}
	switch {
	case c.maxChars > 0 && chars > c.maxChars:
		r.Outcome, r.Reason = Fail, fmt.Sprintf("longer than %d characters", c.maxChars)
	case c.maxTokens > 0 && (bytes+2)/3 > c.maxTokens: // three bytes a token, an estimate from above
		r.Outcome, r.Reason = Fail, fmt.Sprintf("longer than %d tokens", c.maxTokens)
	}
	return r
}

// Spans is the guardrail reduced to its span checks (pii, secrets, words,
// regex on match), which a stream is checked by as it flows; nil when it
// has none.
func (g *Guardrail) Spans() *Guardrail {
	out := &Guardrail{Action: g.Action, OnError: g.OnError}
	for _, c := range g.Checks {
		if c.Window() >= 0 {
			out.Checks = append(out.Checks, c)
		}
	}
	if len(out.Checks) == 0 {
		return nil
	}
	return out
}

// Whole is the guardrail reduced to the checks that need the whole text
// (length, json_schema, webhook, prompt_injection); nil when it has none.
func (g *Guardrail) Whole() *Guardrail {
	out := &Guardrail{Action: g.Action, OnError: g.OnError}
	for _, c := range g.Checks {
		if c.Window() < 0 {
			out.Checks = append(out.Checks, c)
		}
	}
	if len(out.Checks) == 0 {
		return nil
	}
	return out
}

func (c Check) run(text string) Result {
	r := Result{Check: c.Type, Outcome: Pass}
	switch c.Type {
	case CheckPII, CheckSecrets:
		for _, d := range c.detectors {
			r.Findings = append(r.Findings, d.find(text)...)
		}
	case CheckPromptInjection:
		score, fs := injectionScore(text)
		if score >= c.threshold {
			r.Findings = fs
			r.Reason = fmt.Sprintf("score %.2f", score)
		}
	case CheckRegex:
		locs := c.pattern.find(text)
		if c.onMatch {
			for _, l := range locs {
				r.Findings = append(r.Findings, Finding{Entity: "REGEX", Start: l[0], End: l[1]})
			}
		} else if len(locs) == 0 {
			r.Outcome, r.Reason = Fail, "the pattern does not match"
		}
	case CheckWords:
		r.Findings = c.words.find(text)
	case CheckLength:
		return c.length([]Part{{Text: text}})
	case CheckJSONSchema:
		switch err := c.schema(text); {
		case errors.Is(err, ErrNotJSON):
			r.Outcome, r.Reason = Fail, "the answer is not JSON"
		case err != nil:
			r.Outcome, r.Reason = Fail, "the answer does not match the schema"
		}
	}
	if len(r.Findings) > 0 {
		r.Outcome = Fail
	}
	return r
}

// wordBound says whether a match stands as whole words: no letter or
// digit just before or after it, in any script.
func wordBound(text string, s, e int) bool {
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
	if s > 0 {
		if r, _ := utf8.DecodeLastRuneInString(text[:s]); isWord(r) {
			return false
		}
	}
	if e < len(text) {
		if r, _ := utf8.DecodeRuneInString(text[e:]); isWord(r) {
			return false
		}
	}
	return true
}

// holdback is how many bytes at the end of text a stream must hold back
// for the check: what could still become a match with more text.
func (c Check) holdback(text string) int {
	switch c.Type {
	case CheckPII, CheckSecrets:
		n := 0
		for _, d := range c.detectors {
			n = max(n, d.holdback(text))
		}
		return n
	case CheckWords:
		n := 0 // the trailing partial word, walked back rune by rune
		for n < len(text) && n < 256 {
			r, size := utf8.DecodeLastRuneInString(text[:len(text)-n])
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
				break
			}
			n += size
		}
		if c.words.forming != nil { // a phrase split at a space or a dash
			n = max(n, c.words.forming.holdback(text, c.Window()))
		}
		return n
	case CheckRegex:
		return c.pattern.holdback(text, c.Window())
	}
	return min(c.Window(), len(text))
}

// Window is how many bytes of a stream a check must hold back so that a
// match split across chunks is still found whole; -1 when the check needs
// the whole text (length, json_schema, webhook, prompt_injection).
func (c Check) Window() int {
	switch c.Type {
	case CheckPII, CheckSecrets:
		w := 0
		for _, d := range c.detectors {
			w = max(w, d.window)
		}
		return w
	case CheckWords:
		return 256
	case CheckRegex:
		if c.onMatch {
			return 256
		}
	}
	return -1
}

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
