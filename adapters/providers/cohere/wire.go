package cohere

import "encoding/json"

// Cohere's v2 Chat API JSON (https://docs.cohere.com/reference/chat), as
// far as the gateway reads and writes it. Its messages are close to
// OpenAI's; the generation settings are named its own way.

type request struct {
	Model            string          `json:"model"`
	Messages         []message       `json:"messages"`
	Tools            []tool          `json:"tools,omitempty"`
	ToolChoice       string          `json:"tool_choice,omitempty"` // REQUIRED or NONE
	Stream           bool            `json:"stream"`
	MaxTokens        *int64          `json:"max_tokens,omitempty"`
	Temperature      *float64        `json:"temperature,omitempty"`
	P                *float64        `json:"p,omitempty"`
	StopSequences    []string        `json:"stop_sequences,omitempty"`
	Seed             *int64          `json:"seed,omitempty"`
	FrequencyPenalty *float64        `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64        `json:"presence_penalty,omitempty"`
	ResponseFormat   *responseFormat `json:"response_format,omitempty"`
}

type message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content,omitempty"` // a string or content parts
	ToolCalls  []toolCall      `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

type contentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

type toolCall struct {
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type tool struct {
	Type     string   `json:"type"`
	Function function `json:"function"`
}

type function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

type responseFormat struct {
	Type       string          `json:"type"` // text or json_object
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

type answer struct {
	ID           string        `json:"id"`
	FinishReason string        `json:"finish_reason"`
	Message      answerMessage `json:"message"`
	Usage        *usage        `json:"usage"`
}

type answerMessage struct {
	Role      string        `json:"role"`
	Content   []contentPart `json:"content"`
	ToolCalls []toolCall    `json:"tool_calls"`
}

// usage counts billed units (what is charged) beside raw tokens.
type usage struct {
	BilledUnits *tokenCounts `json:"billed_units"`
	Tokens      *tokenCounts `json:"tokens"`
}

type tokenCounts struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// event is one streamed event; its type says which parts of delta are set.
type event struct {
	Type  string      `json:"type"`
	ID    string      `json:"id"`
	Index int         `json:"index"`
	Delta *eventDelta `json:"delta"`
}

type eventDelta struct {
	Message      *eventMessage `json:"message"`
	FinishReason string        `json:"finish_reason"`
	Usage        *usage        `json:"usage"`
	Error        string        `json:"error"`
}

// eventMessage is what an event adds: text, or a tool call (whole at its
// start, then pieces of its arguments). Their shapes depend on the event
// (message-start carries empty arrays), so they are read per event.
type eventMessage struct {
	Content   json.RawMessage `json:"content"`
	ToolCalls json.RawMessage `json:"tool_calls"`
}

type textDelta struct {
	Text string `json:"text"`
}

type wireError struct {
	Message string `json:"message"`
}
