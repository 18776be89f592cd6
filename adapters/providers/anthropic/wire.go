package anthropic

import (
	"bytes"
	"encoding/json"
)

// The Messages API's JSON (https://docs.anthropic.com/en/api/messages),
// as far as the gateway reads and writes it.

// request is a Messages API request.
type request struct {
	Model         string          `json:"model"`
	MaxTokens     int64           `json:"max_tokens"`
	System        blocks          `json:"system,omitempty"`
	Messages      []message       `json:"messages"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	Tools         []tool          `json:"tools,omitempty"`
	ToolChoice    *toolChoice     `json:"tool_choice,omitempty"`
	Metadata      *requestMeta    `json:"metadata,omitempty"`
	Thinking      json.RawMessage `json:"thinking,omitempty"`
	TopK          *int64          `json:"top_k,omitempty"`
}

type requestMeta struct {
	UserID string `json:"user_id,omitempty"`
}

type message struct {
	Role    string `json:"role"`
	Content blocks `json:"content"`
}

// blocks is content: the API takes a plain string for a single text block.
type blocks []block

// UnmarshalJSON accepts a string or an array of blocks.
func (b *blocks) UnmarshalJSON(data []byte) error {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return err
		}
		*b = blocks{{Type: "text", Text: s}}
		return nil
	}
	var many []block
	if err := json.Unmarshal(data, &many); err != nil {
		return err
	}
	*b = many
	return nil
}

// block is a content block: text, image, tool_use or tool_result (and, in
// answers, thinking blocks the gateway does not pass on).
type block struct {
	Type string `json:"type"`

	Text string `json:"text,omitempty"` // text

	Source *imageSource `json:"source,omitempty"` // image

	ID    string          `json:"id,omitempty"`    // tool_use
	Name  string          `json:"name,omitempty"`  // tool_use
	Input json.RawMessage `json:"input,omitempty"` // tool_use

	ToolUseID string `json:"tool_use_id,omitempty"` // tool_result
	Content   blocks `json:"content,omitempty"`     // tool_result
	IsError   bool   `json:"is_error,omitempty"`    // tool_result
}

type imageSource struct {
	Type      string `json:"type"` // base64 or url
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type tool struct {
	Type        string          `json:"type,omitempty"` // custom (or absent); server tools have their own types
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type                   string `json:"type"` // auto, any, tool, none
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// answer is a whole Messages API answer.
type answer struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Role         string  `json:"role"`
	Model        string  `json:"model"`
	Content      []block `json:"content"`
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        usage   `json:"usage"`
}

type usage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
}

// event is one streamed event's data; its type says which fields are set.
type event struct {
	Type         string          `json:"type"`
	Message      *answer         `json:"message,omitempty"`       // message_start
	Index        int             `json:"index"`                   // content_block_*
	ContentBlock *block          `json:"content_block,omitempty"` // content_block_start
	Delta        json.RawMessage `json:"delta,omitempty"`         // content_block_delta, message_delta
	Usage        *usageDelta     `json:"usage,omitempty"`         // message_delta
	Error        *wireErrorBody  `json:"error,omitempty"`         // error
}

// usageDelta is the running usage of message_delta; output_tokens is
// cumulative, and input counts are present only when they changed.
type usageDelta struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

// blockDelta is a content_block_delta's delta.
type blockDelta struct {
	Type        string `json:"type"` // text_delta, input_json_delta, thinking_delta, signature_delta, citations_delta
	Text        string `json:"text"`
	PartialJSON string `json:"partial_json"`
}

// messageDelta is a message_delta's delta.
type messageDelta struct {
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

// wireError is the Messages API's error body.
type wireError struct {
	Type  string        `json:"type"`
	Error wireErrorBody `json:"error"`
}

type wireErrorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}
