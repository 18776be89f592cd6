package guardrail

import (
	"errors"
	"fmt"
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
