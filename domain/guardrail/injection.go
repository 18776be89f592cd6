package guardrail

import (
	"regexp"
	"slices"
	"strings"
)

// injectionPattern is one sign of a prompt injection and its weight; a
// text's score is the sum of the weights of the signs it shows, at most 1.
type injectionPattern struct {
	name   string
	re     *regexp.Regexp
	weight float64
	words  []string // one of them, in lower case, must be in the text for the pattern to run
}

// injectionPatterns are the signs the prompt_injection check looks for
// (docs/guardrails.md lists them). Case-insensitive, whitespace-tolerant.
var injectionPatterns = []injectionPattern{
	{"ignore_previous", regexp.MustCompile(`(?i)\b(?:ignore|disregard|skip|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+)*(?:previous|prior|above|earlier|preceding|system)\s+(?:instructions?|prompts?|rules|directions|messages?|context)`), 0.6, []string{"ignore", "disregard", "skip", "bypass"}},
	{"forget_instructions", regexp.MustCompile(`(?i)\bforget\s+(?:everything|all|what)\s+(?:you\s+(?:were|have\s+been)\s+told|above|before|previously|your\s+instructions)`), 0.5, []string{"forget"}},
	{"reveal_prompt", regexp.MustCompile(`(?i)\b(?:reveal|show|print|repeat|output|tell\s+me|leak|dump)\s+(?:me\s+)?(?:your|the)\s+(?:(?:full|exact|original|hidden|secret|initial)\s+)*(?:system\s+prompt|instructions|prompt|rules)`), 0.5, []string{"reveal", "show", "print", "repeat", "output", "tell", "leak", "dump"}},
	{"new_persona", regexp.MustCompile(`(?i)\byou\s+are\s+(?:now\s+)?(?:in\s+)?(?:DAN|developer\s+mode|jailbreak(?:\s+mode)?|an?\s+unrestricted|an?\s+unfiltered|no\s+longer\s+bound)`), 0.6, []string{"you are"}},
	{"do_anything_now", regexp.MustCompile(`(?i)\bdo\s+anything\s+now\b`), 0.4, []string{"anything"}},
	{"no_rules", regexp.MustCompile(`(?i)\b(?:pretend|imagine|act\s+as\s+if)\s+(?:that\s+)?you\s+(?:have\s+no|are\s+not\s+bound\s+by|don'?t\s+have\s+any)\s+(?:rules|restrictions|guidelines|limits|filters)`), 0.5, []string{"pretend", "imagine", "act as"}},
	{"override_policy", regexp.MustCompile(`(?i)\b(?:override|disable|turn\s+off|ignore)\s+(?:your|the|all)\s+(?:safety|content|moderation)\s+(?:policy|policies|filters?|guidelines|rules)`), 0.5, []string{"override", "disable", "turn off", "ignore"}},
	{"role_markers", regexp.MustCompile(`(?i)</?\s*(?:system|assistant)\s*>|^\s*#{2,}\s*(?:system|instructions?)\s*:?\s*$|\[/?(?:INST|SYS)\]`), 0.3, []string{"system", "assistant", "inst", "sys", "#"}},
	{"admin_override", regexp.MustCompile(`(?i)\b(?:BEGIN|START)\s+(?:SYSTEM|ADMIN|DEVELOPER)\s+(?:PROMPT|OVERRIDE|MODE|INSTRUCTIONS)`), 0.4, []string{"begin", "start"}},
}

// injectionScore is a text's prompt-injection score and the signs found.
func injectionScore(text string) (float64, []Finding) {
	score := 0.0
	var out []Finding
	lower := strings.ToLower(text)
	for _, p := range injectionPatterns {
		if !slices.ContainsFunc(p.words, func(w string) bool { return strings.Contains(lower, w) }) {
			continue
		}
		loc := p.re.FindStringIndex(text)
		if loc == nil {
			continue
		}
		score += p.weight
		out = append(out, Finding{Entity: "PROMPT_INJECTION", Start: loc[0], End: loc[1]})
	}
	return min(score, 1), out
}
