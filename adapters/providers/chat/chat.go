// Package chat is OpenAI's chat completion wire format as the gateway's
// canonical form: the proxy hands every provider client an OpenAI request,
// and takes back OpenAI answers and chunks. Providers that speak another
// dialect decode the request with these types and encode their answers
// with them; OpenAI-family providers never decode at all.
package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/app/proxy/jsontop"
)

// Request is the part of an OpenAI chat completion request that
// translating providers read and write. A provider refuses the fields it
// cannot map, so that nothing a client asked for is silently dropped.
type Request struct {
	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	MaxTokens           *int64          `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	N                   *int64          `json:"n,omitempty"`
	Stop                Strings         `json:"stop,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *StreamOptions  `json:"stream_options,omitempty"`
	Tools               []Tool          `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *ResponseFormat `json:"response_format,omitempty"`
	User                string          `json:"user,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
	PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
	Logprobs            *bool           `json:"logprobs,omitempty"`
	Modalities          []string        `json:"modalities,omitempty"`
	Audio               json.RawMessage `json:"audio,omitempty"`
	Prediction          json.RawMessage `json:"prediction,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
}

// StreamOptions asks for the usage chunk at the end of a stream.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// TextContent is content that is one string.
func TextContent(s string) Content { return Content{Text: s, IsSet: true} }

// PartsContent is content made of parts.
func PartsContent(p []Part) Content { return Content{Parts: p, IsSet: true} }

// MaxOutput is the output bound the client set, if any.
func (r *Request) MaxOutput() (int64, bool) {
	switch {
	case r.MaxCompletionTokens != nil:
		return *r.MaxCompletionTokens, true
	case r.MaxTokens != nil:
		return *r.MaxTokens, true
	}
	return 0, false
}

// WantsUsage says whether a stream must end with a usage chunk.
func (r *Request) WantsUsage() bool { return r.StreamOptions != nil && r.StreamOptions.IncludeUsage }

// WantsAudioOrPrediction says whether the request asks for audio output or
// gives a predicted output, which only OpenAI's own models take.
func (r *Request) WantsAudioOrPrediction() bool {
	return len(r.Audio) > 0 && string(r.Audio) != "null" || len(r.Prediction) > 0 && string(r.Prediction) != "null"
}

// Message is one turn. Content is a string, an array of parts, or null.
type Message struct {
	Role       string     `json:"role"`
	Content    Content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// Content is a message's content: Text when it was a string, else Parts.
type Content struct {
	Text  string
	Parts []Part
	IsSet bool // false for null or absent
}

// MarshalJSON writes the content back as it came: a string, parts, or null.
func (c Content) MarshalJSON() ([]byte, error) {
	switch {
	case !c.IsSet:
		return []byte("null"), nil
	case c.Parts != nil:
		return json.Marshal(c.Parts)
	}
	return json.Marshal(c.Text)
}

// UnmarshalJSON accepts a string, an array of parts, or null.
func (c *Content) UnmarshalJSON(b []byte) error {
	*c = Content{}
	switch t := bytes.TrimSpace(b); {
	case bytes.Equal(t, []byte("null")):
		return nil
	case len(t) > 0 && t[0] == '"':
		c.IsSet = true
		return json.Unmarshal(t, &c.Text)
	case len(t) > 0 && t[0] == '[':
		c.IsSet = true
		return json.Unmarshal(t, &c.Parts)
	}
	return errors.New("content must be a string, an array of content parts, or null")
}

// Part is one content part: text, image_url, or another type a provider
// may refuse.
type Part struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
}

// ImageURL is an image by URL or as a data: URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// ToolCall is a function call the assistant made.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// Input is the call's arguments as a JSON value ({} when empty), for the
// providers that take tool input as an object; ok is false when the
// arguments are not JSON.
func (c ToolCall) Input() (input json.RawMessage, ok bool) {
	if strings.TrimSpace(c.Function.Arguments) == "" {
		return json.RawMessage(`{}`), true
	}
	if !json.Valid([]byte(c.Function.Arguments)) {
		return nil, false
	}
	return json.RawMessage(c.Function.Arguments), true
}

// FunctionCall names the function and carries its arguments as a JSON text.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Tool is a function the model may call.
type Tool struct {
	Type     string   `json:"type"`
	Function Function `json:"function"`
}

// Function describes a callable function; Parameters is a JSON Schema.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ResponseFormat asks for text, any JSON object, or JSON under a schema.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is a named schema for structured output.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Strings is a string or an array of strings (stop sequences).
type Strings []string

// UnmarshalJSON accepts a string, an array of strings, or null.
func (s *Strings) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	switch {
	case bytes.Equal(t, []byte("null")):
		*s = nil
		return nil
	case len(t) > 0 && t[0] == '"':
		var one string
		if err := json.Unmarshal(t, &one); err != nil {
			return err
		}
		*s = Strings{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(t, &many); err != nil {
		return errors.New("stop must be a string or an array of strings")
	}
	*s = many
	return nil
}

// ToolChoiceMode reads tool_choice: "auto", "none", "required", or a named
// function ({"type": "function", "function": {"name": …}}). mode is "" when
// it was not set.
func (r *Request) ToolChoiceMode() (mode, name string, err error) {
	t := bytes.TrimSpace(r.ToolChoice)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return "", "", nil
	}
	if t[0] == '"' {
		if err := json.Unmarshal(t, &mode); err != nil {
			return "", "", err
		}
		switch mode {
		case "auto", "none", "required":
			return mode, "", nil
		}
		return "", "", errors.New(`tool_choice must be "auto", "none", "required" or a named function`)
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(t, &named); err != nil || named.Type != "function" || named.Function.Name == "" {
		return "", "", errors.New(`tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name": …}}`)
	}
	return "function", named.Function.Name, nil
}

// Decode reads an OpenAI chat request for a provider it is translated
// for (named in refusals, as "Bedrock's Converse API"). A top-level field
// the translation has no place for is refused with a 400 naming it,
// rather than dropped; a null one is taken as absent.
func Decode(body []byte, provider string) (*Request, error) {
	var r Request
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, proxy.InvalidRequest("", "The request could not be read: %v", err)
	}
	switch unknown := FirstUnknown(body, known); unknown {
	case "":
	case "functions", "function_call":
		return nil, proxy.InvalidRequest(unknown, "%s (deprecated by OpenAI) is not translated for %s: send tools and tool_choice instead.", unknown, provider)
	default:
		return nil, proxy.InvalidRequest(unknown, "%s is not supported by %s.", unknown, provider)
	}
	if len(r.Messages) == 0 {
		return nil, proxy.InvalidRequest("messages", "messages must hold at least one message")
	}
	return &r, nil
}

// known are the request's fields that Request reads.
var known = FieldsOf[Request]()

// FieldsOf names the JSON members a struct type reads.
func FieldsOf[T any]() map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeFor[T]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = true
	}
	return out
}

// FirstUnknown is the first top-level member of a JSON object that is
// neither known nor null, or "".
func FirstUnknown(body []byte, known map[string]bool) string {
	var unknown string
	_ = jsontop.Scan(body, func(m jsontop.Member) bool {
		if known[string(m.Key)] || string(bytes.TrimSpace(body[m.ValueStart:m.ValueEnd])) == "null" {
			return true
		}
		unknown = string(m.Key)
		return false
	})
	return unknown
}
