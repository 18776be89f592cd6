package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/domain/quota"
)

// toRequest translates an OpenAI chat request into a Messages API request,
// and says whether a stream must end with usage. What has no equivalent is
// refused with a 400 naming the field, never dropped; seed, which only
// hints at determinism, is ignored.
func toRequest(body []byte) (*request, bool, error) {
	in, err := chat.Decode(body, "Anthropic's Messages API")
	if err != nil {
		return nil, false, err
	}
	out, err := translateRequest(in)
	return out, in.WantsUsage(), err
}

func translateRequest(in *chat.Request) (*request, error) {
	if err := refuseUnsupported(in); err != nil {
		return nil, err
	}
	out := &request{Model: in.Model, MaxTokens: quota.DefaultMaxOutput, StopSequences: in.Stop,
		Temperature: in.Temperature, TopP: in.TopP, Stream: in.Stream}
	if n, ok := in.MaxOutput(); ok {
		out.MaxTokens = n
	}
	if in.User != "" {
		out.Metadata = &requestMeta{UserID: in.User}
	}
	for i, m := range in.Messages {
		if err := addMessage(out, m, i); err != nil {
			return nil, err
		}
	}
	if len(out.Messages) == 0 {
		return nil, proxy.InvalidRequest("messages", "messages must hold at least one user or assistant message")
	}
	for i, t := range in.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			return nil, proxy.InvalidRequest(fmt.Sprintf("tools[%d]", i), "tools must be functions with a name")
		}
		schema := t.Function.Parameters
		if len(bytes.TrimSpace(schema)) == 0 || bytes.Equal(bytes.TrimSpace(schema), []byte("null")) {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	return out, toolChoiceOf(in, out)
}

func refuseUnsupported(in *chat.Request) error {
	unsupported := func(param string) error {
		return proxy.InvalidRequest(param, "%s is not supported by Anthropic models.", param)
	}
	switch {
	case in.N != nil && *in.N != 1:
		return unsupported("n")
	case in.Logprobs != nil && *in.Logprobs:
		return unsupported("logprobs")
	case in.ResponseFormat != nil && in.ResponseFormat.Type != "text":
		return unsupported("response_format")
	case in.WantsAudioOrPrediction():
		return unsupported("audio output and predicted outputs")
	case in.FrequencyPenalty != nil && *in.FrequencyPenalty != 0:
		return unsupported("frequency_penalty")
	case in.PresencePenalty != nil && *in.PresencePenalty != 0:
		return unsupported("presence_penalty")
	case in.ReasoningEffort != "":
		return unsupported("reasoning_effort")
	}
	for _, m := range in.Modalities {
		if m != "text" {
			return unsupported("modalities")
		}
	}
	return nil
}

// addMessage appends one OpenAI message: system and developer messages
// go to the system prompt, tool results become a user turn, and turns of
// the same role are merged (tool results first, as the API wants them).
func addMessage(out *request, m chat.Message, i int) error {
	param := fmt.Sprintf("messages[%d]", i)
	var role string
	var blocks []block
	switch m.Role {
	case "system", "developer":
		texts, err := textBlocks(m.Content, param)
		if err != nil {
			return err
		}
		out.System = append(out.System, texts...)
		return nil
	case "user":
		role = "user"
		b, err := userBlocks(m.Content, param)
		if err != nil {
			return err
		}
		blocks = b
	case "assistant":
		role = "assistant"
		texts, err := textBlocks(m.Content, param)
		if err != nil {
			return err
		}
		blocks = texts
		for j, c := range m.ToolCalls {
			input, ok := c.Input()
			if !ok {
				return proxy.InvalidRequest(fmt.Sprintf("%s.tool_calls[%d].function.arguments", param, j), "tool call arguments must be JSON")
			}
			blocks = append(blocks, block{Type: "tool_use", ID: c.ID, Name: c.Function.Name, Input: input})
		}
	case "tool":
		role = "user"
		texts, err := textBlocks(m.Content, param)
		if err != nil {
			return err
		}
		blocks = []block{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: texts}}
	default:
		return proxy.InvalidRequest(param+".role", "role %q is not supported: use system, developer, user, assistant or tool", m.Role)
	}
	if len(blocks) == 0 {
		return proxy.InvalidRequest(param+".content", "a %s message must have content", m.Role)
	}
	if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
		out.Messages[n-1].Content = append(out.Messages[n-1].Content, blocks...)
		return nil
	}
	out.Messages = append(out.Messages, message{Role: role, Content: blocks})
	return nil
}

// textBlocks reads content that may only hold text. Empty texts are left
// out: the API refuses empty text blocks.
func textBlocks(c chat.Content, param string) ([]block, error) {
	if !c.IsSet {
		return nil, nil
	}
	if c.Parts == nil {
		if c.Text == "" {
			return nil, nil
		}
		return []block{{Type: "text", Text: c.Text}}, nil
	}
	var out []block
	for j, p := range c.Parts {
		if p.Type != "text" {
			return nil, proxy.InvalidRequest(fmt.Sprintf("%s.content[%d]", param, j), "only text parts are allowed here, not %q", p.Type)
		}
		if p.Text != "" {
			out = append(out, block{Type: "text", Text: p.Text})
		}
	}
	return out, nil
}

func userBlocks(c chat.Content, param string) ([]block, error) {
	if c.Parts == nil {
		return textBlocks(c, param)
	}
	var out []block
	for j, p := range c.Parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, block{Type: "text", Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, proxy.InvalidRequest(fmt.Sprintf("%s.content[%d].image_url", param, j), "an image part needs image_url.url")
			}
			src, err := imageSourceOf(p.ImageURL.URL)
			if err != nil {
				return nil, proxy.InvalidRequest(fmt.Sprintf("%s.content[%d].image_url.url", param, j), "%v", err)
			}
			out = append(out, block{Type: "image", Source: src})
		default:
			return nil, proxy.InvalidRequest(fmt.Sprintf("%s.content[%d]", param, j), "content parts of type %q are not supported by Anthropic models", p.Type)
		}
	}
	return out, nil
}

// imageSourceOf reads an image URL: a data: URL becomes a base64 source,
// an http(s) URL a url source.
func imageSourceOf(u string) (*imageSource, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isBase64 || mediaType == "" {
			return nil, fmt.Errorf("a data URL must be data:<media type>;base64,<data>")
		}
		return &imageSource{Type: "base64", MediaType: mediaType, Data: data}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &imageSource{Type: "url", URL: u}, nil
	}
	return nil, fmt.Errorf("an image URL must be http(s) or a base64 data URL")
}

func toolChoiceOf(in *chat.Request, out *request) error {
	mode, name, err := in.ToolChoiceMode()
	if err != nil {
		return proxy.InvalidRequest("tool_choice", "%v", err)
	}
	switch mode {
	case "auto":
		out.ToolChoice = &toolChoice{Type: "auto"}
	case "required":
		out.ToolChoice = &toolChoice{Type: "any"}
	case "none":
		out.ToolChoice = &toolChoice{Type: "none"}
	case "function":
		out.ToolChoice = &toolChoice{Type: "tool", Name: name}
	}
	if in.ParallelToolCalls != nil && !*in.ParallelToolCalls && len(out.Tools) > 0 {
		if out.ToolChoice == nil {
			out.ToolChoice = &toolChoice{Type: "auto"}
		}
		if out.ToolChoice.Type != "none" {
			out.ToolChoice.DisableParallelToolUse = true
		}
	}
	return nil
}

// finishReason maps a stop reason to OpenAI's finish reasons.
func finishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return chat.FinishLength
	case "tool_use":
		return chat.FinishToolCalls
	case "refusal":
		return chat.FinishContentFilter
	}
	return chat.FinishStop // end_turn, stop_sequence, pause_turn
}

// chat counts as OpenAI does: prompt tokens include those read from and
// written to the cache; the cache reads are also counted apart.
func (u usage) chat() *chat.Usage {
	return chat.NewUsage(u.InputTokens+u.CacheCreationInputTokens+u.CacheReadInputTokens, u.OutputTokens, u.CacheReadInputTokens).WithCacheWrites(u.CacheCreationInputTokens)
}

// toCompletion translates a whole answer.
func toCompletion(b []byte, now time.Time) (*chat.Completion, error) {
	var a answer
	if err := json.Unmarshal(b, &a); err != nil || a.Type != "message" {
		return nil, &proxy.UpstreamError{Message: "the upstream answered with something other than a message"}
	}
	msg := chat.AnswerMessage{Role: "assistant"}
	var text strings.Builder
	hasText := false
	for _, c := range a.Content {
		switch c.Type {
		case "text":
			text.WriteString(c.Text)
			hasText = true
		case "tool_use":
			args := c.Input
			if len(args) == 0 {
				args = json.RawMessage(`{}`)
			}
			msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: c.ID, Type: "function",
				Function: chat.FunctionCall{Name: c.Name, Arguments: compact(args)}})
		}
	}
	if hasText || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	return &chat.Completion{ID: a.ID, Object: "chat.completion", Created: now.Unix(), Model: a.Model,
		Choices: []chat.Choice{{Index: 0, Message: msg, FinishReason: finishReason(a.StopReason)}}, Usage: a.Usage.chat()}, nil
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
