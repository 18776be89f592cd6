// Package guardrail owns guardrails: their definition (checks, action,
// what a failing check does), the local detectors that find personal
// data, secrets and prompt injections in text, redaction, and verdicts.
// Detectors are compiled once per guardrail version; running one is a
// pure function of the text.
package guardrail

import (
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Finding is a span of text a check matched, by entity (EMAIL,
// CREDIT_CARD, AWS_ACCESS_KEY, …). Start and End are byte offsets.
type Finding struct {
	Entity     string
	Start, End int
}

// detector finds one kind of entity: candidates by an RE2 pattern (linear
// time whatever the text), each confirmed by valid when set.
type detector struct {
	entity string
	re     *regexp.Regexp
	valid  func(match string) bool
	// digitBound: a match must not touch a digit on either side (a card
	// number inside a longer number is not a card number).
	digitBound bool
	// window bounds the bytes a match can span: a stream never holds back
	// more than this for the detector.
	window int
	// tail finds, at the end of a text, what could be the start of a
	// match still forming: all a stream holds back for the detector.
	tail *regexp.Regexp
	// alphabet holds every byte the tail pattern can match (nil: any).
	alphabet *[256]bool
	// need is a cheap test a text must pass for the pattern to be worth
	// running: most text holds no '@', few digits, no key prefix.
	need func(text string) bool
}

// anyOf needs one of the literals.
func anyOf(lits ...string) func(string) bool {
	return func(text string) bool {
		for _, l := range lits {
			if strings.Contains(text, l) {
				return true
			}
		}
		return false
	}
}

// digitRun needs a run of n digits, only the separators (and, with
// letters, upper-case letters) between them.
func digitRun(n int, seps string, letters bool) func(string) bool {
	between := alphabet(seps)
	if letters {
		between = alphabet(seps + upperBytes)
	}
	return func(text string) bool {
		c := 0
		for i := 0; i < len(text); i++ {
			b := text[i]
			switch {
			case b >= '0' && b <= '9':
				if c++; c >= n {
					return true
				}
			case between[b]:
			default:
				c = 0
			}
		}
		return false
	}
}

// holdback is how many bytes at the end of text could still become a
// match with more text, at most the window. The tail pattern runs only
// on the trailing run of the bytes it can match (most often a word or
// nothing), so holding back costs little per chunk.
func (d detector) holdback(text string) int {
	if d.tail == nil {
		return min(d.window, len(text))
	}
	if len(text) > d.window {
		text = text[len(text)-d.window:]
	}
	if d.alphabet == nil && d.need != nil && !d.need(text) {
		return 0 // no sign of the start of a match (a private key's dashes)
	}
	if d.alphabet != nil {
		start := len(text)
		for start > 0 && d.alphabet[text[start-1]] {
			start--
		}
		text = text[start:]
	}
	if text == "" {
		return 0
	}
	loc := d.tail.FindStringIndex(text)
	if loc == nil {
		return 0
	}
	return len(text) - loc[0]
}

// alphabet is a set of bytes.
func alphabet(spec string) *[256]bool {
	var a [256]bool
	for i := 0; i < len(spec); i++ {
		a[spec[i]] = true
	}
	return &a
}

const (
	digitBytes = "0123456789"
	upperBytes = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerBytes = "abcdefghijklmnopqrstuvwxyz"
	alnumBytes = digitBytes + upperBytes + lowerBytes
)

func (d detector) find(text string) []Finding {
	if d.need != nil && !d.need(text) {
		return nil
	}
	var out []Finding
	for _, loc := range d.re.FindAllStringIndex(text, -1) {
		s, e := loc[0], loc[1]
		if d.digitBound && (touchesDigit(text, s, e)) {
			continue
		}
		if d.valid != nil && !d.valid(text[s:e]) {
			continue
		}
		out = append(out, Finding{Entity: d.entity, Start: s, End: e})
	}
	return out
}

func touchesDigit(text string, s, e int) bool {
	if s > 0 {
		if r, _ := utf8.DecodeLastRuneInString(text[:s]); unicode.IsDigit(r) {
			return true
		}
	}
	if e < len(text) {
		if r, _ := utf8.DecodeRuneInString(text[e:]); unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// PII entities.
var piiDetectors = map[string]detector{
	"email": {entity: "EMAIL", alphabet: alphabet(alnumBytes + "._%+-@"), re: regexp.MustCompile(`[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}`), window: 64 + 1 + 255,
		tail: regexp.MustCompile(`[A-Za-z0-9._%+-]*(?:@[A-Za-z0-9.-]*)?$`), need: anyOf("@")},
	"phone": {entity: "PHONE", alphabet: alphabet(digitBytes + " ().+-"), digitBound: true, window: 32, need: digitRun(8, " .-()+", false), tail: regexp.MustCompile(`[+(]?[0-9][0-9 ().-]*$|[+(]$`),
		re:    regexp.MustCompile(`\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,3}|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\b\d{3}[.-]\d{3}[.-]\d{4}`),
		valid: func(m string) bool { n := digits(m); return len(n) >= 8 && len(n) <= 15 }},
	"credit_card": {entity: "CREDIT_CARD", alphabet: alphabet(digitBytes + " -"), digitBound: true, window: 19 + 18, need: digitRun(13, " -", false), tail: regexp.MustCompile(`[0-9][0-9 -]*$`),
		re:    regexp.MustCompile(`\d(?:[ -]?\d){12,18}`),
		valid: func(m string) bool { n := digits(m); return len(n) >= 13 && len(n) <= 19 && luhn(n) }},
	"iban": {entity: "IBAN", alphabet: alphabet(digitBytes + upperBytes + " "), window: 34 + 8, need: digitRun(6, " ", true), tail: regexp.MustCompile(`[A-Z](?:[A-Z][0-9]{0,2}(?: ?[A-Z0-9])*)? ?$`),
		re:    regexp.MustCompile(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b`),
		valid: validIBAN},
	"us_ssn": {entity: "US_SSN", alphabet: alphabet(digitBytes + "-"), digitBound: true, window: 11, need: digitRun(9, "-", false), tail: regexp.MustCompile(`[0-9][0-9-]*$`),
		re:    regexp.MustCompile(`\d{3}-\d{2}-\d{4}`),
		valid: validSSN},
	"ip_address": {entity: "IP_ADDRESS", alphabet: alphabet(digitBytes + "abcdefABCDEF.:"), window: 45, need: func(t string) bool { return dottedRun(t) || strings.Count(t, ":") >= 2 }, tail: regexp.MustCompile(`[0-9A-Fa-f.:]*$`),
		re: regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b|(?i:\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b)`),
		valid: func(m string) bool {
			a, err := netip.ParseAddr(m)
			return err == nil && (a.Is4() || strings.Count(m, ":") >= 2)
		}},
}

// PIIEntities are the pii check's entities, in a stable order.
var PIIEntities = []string{"email", "phone", "credit_card", "iban", "us_ssn", "ip_address"}

// Secret kinds.
var secretDetectors = []detector{
	{entity: "AWS_ACCESS_KEY", alphabet: alphabet(digitBytes + upperBytes), re: regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b`), window: 21, tail: regexp.MustCompile(`[A-Z0-9]*$`), need: anyOf("AKIA", "ASIA", "ABIA", "ACCA")},
	{entity: "PRIVATE_KEY", need: anyOf("-"), re: regexp.MustCompile(`-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----(?s:.*?)(?:-----END (?:[A-Z]+ )*PRIVATE KEY-----|$)`), window: 8192,
		tail: regexp.MustCompile(`-----BEGIN [^\n]*(?:\n[^-][^\n]*)*\n?$|-{1,5}(?:B(?:E(?:G(?:I(?:N[^\n]*)?)?)?)?)?$`)},
	{entity: "JWT", alphabet: alphabet(alnumBytes + "_.-"), need: anyOf("eyJ"), re: regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`), window: 4096,
		tail: regexp.MustCompile(`e(?:y(?:J[A-Za-z0-9_.-]*)?)?$`)},
	{entity: "API_KEY", alphabet: alphabet(alnumBytes + "_-"), need: anyOf("sk-", "AIza"), re: regexp.MustCompile(`\bsk-(?:ant-|proj-|svcacct-|admin-|gh-)?[A-Za-z0-9_-]{20,}|\bAIza[0-9A-Za-z_-]{35}\b`), window: 256,
		tail: regexp.MustCompile(`s(?:k(?:-[A-Za-z0-9_-]*)?)?$|A(?:I(?:z(?:a[0-9A-Za-z_-]*)?)?)?$`)},
	{entity: "GITHUB_TOKEN", alphabet: alphabet(alnumBytes + "_"), need: anyOf("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), re: regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`), window: 300,
		tail: regexp.MustCompile(`g(?:h(?:[pousr](?:_[A-Za-z0-9]*)?)?)?$|g(?:i(?:t(?:h(?:u(?:b(?:_(?:p(?:a(?:t(?:_[A-Za-z0-9_]*)?)?)?)?)?)?)?)?)?)?$`)},
	{entity: "SLACK_TOKEN", alphabet: alphabet(alnumBytes + "-"), need: anyOf("xox"), re: regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,250}`), window: 260,
		tail: regexp.MustCompile(`x(?:o(?:x(?:[abposr](?:-[A-Za-z0-9-]*)?)?)?)?$`)},
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// luhn is the card number checksum.
func luhn(n string) bool {
	sum, double := 0, false
	for i := len(n) - 1; i >= 0; i-- {
		d := int(n[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// validIBAN checks an IBAN's length and its ISO 7064 mod-97 checksum.
func validIBAN(m string) bool {
	s := strings.ReplaceAll(m, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	rearranged := s[4:] + s[:4]
	rem := 0
	for _, r := range rearranged {
		switch {
		case r >= '0' && r <= '9':
			rem = (rem*10 + int(r-'0')) % 97
		case r >= 'A' && r <= 'Z':
			v := int(r-'A') + 10
			rem = (rem*100 + v) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// validSSN refuses the numbers the SSA never issues.
func validSSN(m string) bool {
	area, group, serial := m[0:3], m[4:6], m[7:11]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// merge sorts findings and drops those inside an earlier one.
func merge(fs []Finding) []Finding {
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].Start != fs[j].Start {
			return fs[i].Start < fs[j].Start
		}
		return fs[i].End > fs[j].End
	})
	var out []Finding
	for _, f := range fs {
		if n := len(out); n > 0 && f.Start < out[n-1].End {
			if f.End > out[n-1].End {
				out[n-1].End = f.End
			}
			continue
		}
		out = append(out, f)
	}
	return out
}

// Redact replaces each finding's span with [REDACTED:<ENTITY>].
func Redact(text string, fs []Finding) string {
	fs = merge(append([]Finding(nil), fs...))
	var b strings.Builder
	last := 0
	for _, f := range fs {
		b.WriteString(text[last:f.Start])
		b.WriteString("[REDACTED:" + f.Entity + "]")
		last = f.End
	}
	b.WriteString(text[last:])
	return b.String()
}

// dottedRun needs a run of digits and dots holding three dots: a
// candidate IPv4 address.
func dottedRun(text string) bool {
	dots, digits := 0, 0
	for i := 0; i < len(text); i++ {
		switch b := text[i]; {
		case b == '.':
			if dots++; dots >= 3 && digits >= 3 {
				return true
			}
		case b >= '0' && b <= '9':
			digits++
		default:
			dots, digits = 0, 0
		}
	}
	return false
}
