package proxy

import (
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

// readUsage finds a top-level, non-null usage object in an answer or chunk.
func readUsage(b []byte) (usage.Tokens, bool) {
	raw, ok, err := jsontop.Get(b, "usage")
	if err != nil || !ok || string(raw) == "null" {
		return usage.Tokens{}, false
	}
	var u wireUsage
	if json.Unmarshal(raw, &u) != nil {
		return usage.Tokens{}, false
	}
	t := usage.Tokens{Prompt: u.PromptTokens, Completion: u.CompletionTokens}
	if u.PromptTokensDetails != nil {
		t.CachedPrompt = u.PromptTokensDetails.CachedTokens
	}
	return t, true
}

// usageOnly reports whether a chunk is the usage chunk a client gets only
// when it asked for stream_options.include_usage: no choices, usage set.
func usageOnly(chunk []byte) bool {
	raw, ok, err := jsontop.Get(chunk, "choices")
	if err != nil {
		return false
	}
	return (!ok || string(raw) == "[]") && hasUsage(chunk)
}

func hasUsage(chunk []byte) bool {
	_, ok := readUsage(chunk)
	return ok
}
