package proxy

import (
	"bytes"
	"encoding/json"

	"github.com/gatehouse/gatehouse/app/proxy/jsontop"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// wireUsage is OpenAI's usage object.
type wireUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

var usageName = []byte(`"usage"`)

// usageOf finds a top-level, non-null usage object in an answer or a chunk,
// in one scan, and says whether the chunk carries usage alone (no choices):
// the chunk a client gets only when it asked for stream_options.include_usage.
func usageOf(b []byte) (t usage.Tokens, found, alone bool) {
	if !bytes.Contains(b, usageName) {
		return usage.Tokens{}, false, false // most chunks: no scan at all
	}
	var raw, choices []byte
	hasChoices := false
	err := jsontop.Scan(b, func(m jsontop.Member) bool {
		switch string(m.Key) {
		case "usage":
			raw = b[m.ValueStart:m.ValueEnd]
		case "choices":
			choices, hasChoices = b[m.ValueStart:m.ValueEnd], true
		}
		return true
	})
	if err != nil || raw == nil || string(raw) == "null" {
		return usage.Tokens{}, false, false
	}
	var u wireUsage
	if json.Unmarshal(raw, &u) != nil {
		return usage.Tokens{}, false, false
	}
	t = usage.Tokens{Prompt: u.PromptTokens, Completion: u.CompletionTokens}
	if u.PromptTokensDetails != nil {
		t.CachedPrompt = u.PromptTokensDetails.CachedTokens
	}
	return t, true, !hasChoices || string(choices) == "[]"
}
