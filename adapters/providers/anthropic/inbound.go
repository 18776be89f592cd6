package anthropic

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// Inbound translates the Messages API, as clients send it to the gateway,
// into the canonical chat dialect for providers that do not speak it, and
// their answers back. Requests for Anthropic providers never come here:
// they pass through.
type Inbound struct{}

// ToChat translates a Messages API request into an OpenAI chat request.
// What has no equivalent is refused with a 400 naming the field; prompt
// caching hints (cache_control) are left out, as they change no answer.
func (Inbound) ToChat(body []byte) ([]byte, error) {
	var in request
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, proxy.InvalidRequest("", "The request could not be read: %v", err)
	}
	if field := chat.FirstUnknown(body, requestFields); field != "" {
		return nil, unsupportedHere(field)
	}
	switch {
	case in.TopK != nil:
		return nil, unsupportedHere("top_k")
	case len(in.Thinking) > 0 && !strings.Contains(string(in.Thinking), `"disabled"`) && string(in.Thinking) != "null":
		return nil, unsupportedHere("thinking")
	}
	out := chat.Request{Model: in.Model, Temperature: in.Temperature, TopP: in.TopP, Stop: in.StopSequences, Stream: in.Stream}
	if in.MaxTokens > 0 {
		out.MaxTokens = &in.MaxTokens
	}
	if in.Stream {
		out.StreamOptions = &chat.StreamOptions{IncludeUsage: true}
	}
	if in.Metadata != nil {
		out.User = in.Metadata.UserID
	}
	if len(in.System) > 0 {
		text, err := joinText(in.System, "system")
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, chat.Message{Role: "system", Content: chat.TextContent(text)})
	}
	for i, m := range in.Messages {
		msgs, err := chatMessages(m, fmt.Sprintf("messages[%d]", i))
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, msgs...)
	}
	for i, t := range in.Tools {
		if t.Type != "" && t.Type != "custom" {
			return nil, proxy.InvalidRequest(fmt.Sprintf("tools[%d].type", i), "server tools (%s) are only available on Anthropic models", t.Type)
		}
		out.Tools = append(out.Tools, chat.Tool{Type: "function", Function: chat.Function{Name: t.Name, Description: t.Description, Parameters: t.InputSchema}})
	}
	if err := chatToolChoice(in.ToolChoice, &out); err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// requestFields are the Messages API fields the translation reads.
var requestFields = chat.FieldsOf[request]()

func unsupportedHere(param string) error {
	return proxy.InvalidRequest(param, "%s is only supported on Anthropic models.", param)
}

// joinText reads blocks that may only hold text (a system prompt, a tool
// result) as one string.
func joinText(bs blocks, param string) (string, error) {
	var parts []string
	for j, b := range bs {
		if b.Type != "text" {
			return "", proxy.InvalidRequest(fmt.Sprintf("%s[%d]", param, j), "only text blocks are supported here when the model is not Anthropic's, not %q", b.Type)
		}
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n"), nil
}

// chatMessages translates one turn: a user turn's tool results become tool
// messages (before the rest of the turn), an assistant turn's tool uses
// become tool calls, and thinking blocks, which OpenAI's dialect cannot
// carry back, are left out.
func chatMessages(m message, param string) ([]chat.Message, error) {
	switch m.Role {
	case "user":
		var out []chat.Message
		var parts []chat.Part
		for j, b := range m.Content {
			at := fmt.Sprintf("%s.content[%d]", param, j)
			switch b.Type {
			case "text":
				parts = append(parts, chat.Part{Type: "text", Text: b.Text})
			case "image":
				url, err := imageURLOf(b.Source)
				if err != nil {
					return nil, proxy.InvalidRequest(at+".source", "%v", err)
				}
				parts = append(parts, chat.Part{Type: "image_url", ImageURL: &chat.ImageURL{URL: url}})
			case "tool_result":
				text, err := joinText(b.Content, at+".content")
				if err != nil {
					return nil, err
				}
				if b.IsError { // the chat dialect has no flag for it: the text says so
					text = strings.TrimSpace("Error: " + text)
				}
				out = append(out, chat.Message{Role: "tool", ToolCallID: b.ToolUseID, Content: chat.TextContent(text)})
			default:
				return nil, proxy.InvalidRequest(at, "content blocks of type %q are only supported on Anthropic models", b.Type)
			}
		}
		switch {
		case len(parts) == 1 && parts[0].Type == "text": // as a string: what every OpenAI-compatible server reads
			out = append(out, chat.Message{Role: "user", Content: chat.TextContent(parts[0].Text)})
		case len(parts) > 0:
			out = append(out, chat.Message{Role: "user", Content: chat.PartsContent(parts)})
		}
		return out, nil
	case "assistant":
		msg := chat.Message{Role: "assistant"}
		var text []string
		for j, b := range m.Content {
			switch b.Type {
			case "text":
				text = append(text, b.Text)
			case "tool_use":
				args := b.Input
				if len(args) == 0 {
					args = json.RawMessage(`{}`)
				}
				msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: b.ID, Type: "function", Function: chat.FunctionCall{Name: b.Name, Arguments: compact(args)}})
			case "thinking", "redacted_thinking":
			default:
				return nil, proxy.InvalidRequest(fmt.Sprintf("%s.content[%d]", param, j), "content blocks of type %q are only supported on Anthropic models", b.Type)
			}
		}
		if len(text) > 0 {
			msg.Content = chat.TextContent(strings.Join(text, ""))
		}
		return []chat.Message{msg}, nil
	}
	return nil, proxy.InvalidRequest(param+".role", "role must be user or assistant, not %q", m.Role)
}

func imageURLOf(src *imageSource) (string, error) {
	switch {
	case src == nil:
		return "", fmt.Errorf("an image block needs a source")
	case src.Type == "base64" && src.MediaType != "" && src.Data != "":
		return "data:" + src.MediaType + ";base64," + src.Data, nil
	case src.Type == "url" && src.URL != "":
		return src.URL, nil
	}
	return "", fmt.Errorf("an image source must be base64 (media_type and data) or url")
}

func chatToolChoice(c *toolChoice, out *chat.Request) error {
	if c == nil {
		return nil
	}
	var choice any
	switch c.Type {
	case "auto":
		choice = "auto"
	case "any":
		choice = "required"
	case "none":
		choice = "none"
	case "tool":
		choice = map[string]any{"type": "function", "function": map[string]string{"name": c.Name}}
	default:
		return proxy.InvalidRequest("tool_choice.type", "tool_choice.type must be auto, any, tool or none")
	}
	b, err := json.Marshal(choice)
	if err != nil {
		return err
	}
	out.ToolChoice = b
	if c.DisableParallelToolUse && len(out.Tools) > 0 {
		f := false
		out.ParallelToolCalls = &f
	}
	return nil
}

// stopReason maps OpenAI's finish reasons to the Messages API's.
func stopReason(finish string) string {
	switch finish {
	case chat.FinishLength:
		return "max_tokens"
	case chat.FinishToolCalls, "function_call":
		return "tool_use"
	case chat.FinishContentFilter:
		return "refusal"
	}
	return "end_turn"
}

// usageFrom counts as the Messages API does: input tokens exclude those
// read from the cache, which are counted apart.
func usageFrom(u *chat.Usage) usage {
	if u == nil {
		return usage{}
	}
	var cached int64
	if u.PromptTokensDetails != nil {
		cached = u.PromptTokensDetails.CachedTokens
	}
	return usage{InputTokens: u.PromptTokens - cached, OutputTokens: u.CompletionTokens, CacheReadInputTokens: cached}
}

// toolInput is a tool call's arguments as the Messages API's input
// object; arguments that are not a JSON object are passed as a string
// under "arguments", never lost.
func toolInput(args string) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(args), &obj) == nil && obj != nil {
		return json.RawMessage(compact(json.RawMessage(args)))
	}
	b, _ := json.Marshal(map[string]string{"arguments": args})
	return b
}

// FromChat translates a whole OpenAI answer into a Messages API answer.
func (Inbound) FromChat(body []byte) ([]byte, error) {
	var c chat.Completion
	if err := json.Unmarshal(body, &c); err != nil || len(c.Choices) == 0 {
		return nil, &proxy.UpstreamError{Message: "the upstream answered with something other than a chat completion"}
	}
	ch := c.Choices[0]
	a := answer{ID: c.ID, Type: "message", Role: "assistant", Model: c.Model, Content: []block{}, StopReason: stopReason(ch.FinishReason), Usage: usageFrom(c.Usage)}
	if ch.Message.Content != nil && *ch.Message.Content != "" {
		a.Content = append(a.Content, block{Type: "text", Text: *ch.Message.Content})
	}
	for _, tc := range ch.Message.ToolCalls {
		a.Content = append(a.Content, block{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: toolInput(tc.Function.Arguments)})
	}
	return json.Marshal(a)
}
