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
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"` // the gateway's own, from translated providers
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
		t.CachedPrompt, t.CacheWritePrompt = u.PromptTokensDetails.CachedTokens, u.PromptTokensDetails.CacheWriteTokens
	}
	return t, true, !hasChoices || string(choices) == "[]"
}

// dialect is the wire format of the answers an exchange copies; usage is
// read from them as they pass.
type dialect int

const (
	dialectOpenAI    dialect = iota
	dialectAnthropic         // the Messages API, passed through
	dialectResponses         // OpenAI's Responses API, passed through
)

// usageOf reads usage from a whole answer.
func (d dialect) usageOf(b []byte) (usage.Tokens, bool, bool) {
	if d == dialectResponses {
		t, ok := responsesUsageOf(b)
		return t, ok, false
	}
	if d == dialectAnthropic {
		var u anthropicUsage
		raw, ok, err := jsontop.Get(b, "usage")
		if err != nil || !ok || json.Unmarshal(raw, &u) != nil {
			return usage.Tokens{}, false, false
		}
		var counts anthropicCounts
		counts.add(u)
		return counts.tokens(), true, false
	}
	return usageOf(b)
}

// anthropicUsage is the Messages API's usage object; in a stream's
// message_delta only the counts that changed are present.
type anthropicUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

// anthropicCounts are the running counts of a Messages API answer.
type anthropicCounts struct{ input, output, cacheWrite, cacheRead int64 }

func (c *anthropicCounts) add(u anthropicUsage) {
	for _, f := range []struct {
		dst *int64
		v   *int64
	}{{&c.input, u.InputTokens}, {&c.output, u.OutputTokens}, {&c.cacheWrite, u.CacheCreationInputTokens}, {&c.cacheRead, u.CacheReadInputTokens}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
}

// tokens counts as OpenAI does: prompt tokens include those read from and
// written to the cache; the reads are also counted apart.
func (c anthropicCounts) tokens() usage.Tokens {
	return usage.Tokens{Prompt: c.input + c.cacheWrite + c.cacheRead, Completion: c.output, CachedPrompt: c.cacheRead, CacheWritePrompt: c.cacheWrite}
}

// anthropicEvent reads usage from a streamed event: message_start carries
// the input counts, each message_delta the running output count. It says
// whether the event carried usage, and whether it was the final count.
func (c *anthropicCounts) event(b []byte) (found, final bool) {
	if !bytes.Contains(b, usageName) {
		return false, false
	}
	typ, _, err := jsontop.Get(b, "type")
	if err != nil {
		return false, false
	}
	raw, ok := []byte(nil), false
	switch string(typ) {
	case `"message_start"`:
		msg, has, err := jsontop.Get(b, "message")
		if err != nil || !has {
			return false, false
		}
		raw, ok, err = jsontop.Get(msg, "usage")
		if err != nil {
			return false, false
		}
	case `"message_delta"`:
		raw, ok, err = jsontop.Get(b, "usage")
		if err != nil {
			return false, false
		}
		final = true
	}
	var u anthropicUsage
	if !ok || json.Unmarshal(raw, &u) != nil {
		return false, false
	}
	c.add(u)
	return true, final
}
