package bedrock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/adapters/providers/imagefetch"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// toRequest translates an OpenAI chat request into a Converse request,
// and gives the model id (it goes in the URL) and whether a stream must
// end with usage. What has no equivalent is refused with a 400 naming the
// field; seed and user, which change no answer's shape, are left out.
func toRequest(body []byte) (*request, string, bool, error) {
	in, err := chat.Decode(body, "Bedrock's Converse API")
	if err != nil {
		return nil, "", false, err
	}
	out, err := translateRequest(in)
	return out, in.Model, in.WantsUsage(), err
}

func unsupported(param string) error {
	return proxy.InvalidRequest(param, "%s is not supported by Bedrock's Converse API.", param)
}

func translateRequest(in *chat.Request) (*request, error) {
	switch {
	case in.N != nil && *in.N != 1:
		return nil, unsupported("n")
	case in.Logprobs != nil && *in.Logprobs:
		return nil, unsupported("logprobs")
	case in.ResponseFormat != nil && in.ResponseFormat.Type != "text":
		return nil, unsupported("response_format")
	case in.FrequencyPenalty != nil && *in.FrequencyPenalty != 0:
		return nil, unsupported("frequency_penalty")
	case in.PresencePenalty != nil && *in.PresencePenalty != 0:
		return nil, unsupported("presence_penalty")
	case in.WantsAudioOrPrediction():
		return nil, unsupported("audio output and predicted outputs")
	case in.ReasoningEffort != "":
		return nil, unsupported("reasoning_effort")
	}
	for _, m := range in.Modalities {
		if m != "text" {
			return nil, unsupported("modalities")
		}
	}
	out := &request{}
	ic := inferenceConfig{Temperature: in.Temperature, TopP: in.TopP, StopSequences: in.Stop}
	if n, ok := in.MaxOutput(); ok {
		ic.MaxTokens = &n
	}
	if ic.MaxTokens != nil || ic.Temperature != nil || ic.TopP != nil || len(ic.StopSequences) > 0 {
		out.InferenceConfig = &ic
	}
	calledTools := false
	for i, m := range in.Messages {
		if err := addMessage(out, m, fmt.Sprintf("messages[%d]", i)); err != nil {
			return nil, err
		}
		calledTools = calledTools || len(m.ToolCalls) > 0
	}
	if len(out.Messages) == 0 {
		return nil, proxy.InvalidRequest("messages", "messages must hold at least one user or assistant message")
	}
	mode, name, err := in.ToolChoiceMode()
	if err != nil {
		return nil, proxy.InvalidRequest("tool_choice", "%v", err)
	}
	if mode == "none" {
		if calledTools {
			return nil, proxy.InvalidRequest("tool_choice", `tool_choice "none" cannot be kept on Bedrock once tools were called: leave the tools out instead`)
		}
		return out, nil // no tools offered: none can be called
	}
	var tools []toolEntry
	for i, t := range in.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			return nil, proxy.InvalidRequest(fmt.Sprintf("tools[%d]", i), "tools must be functions with a name")
		}
		schema := t.Function.Parameters
		if p := bytes.TrimSpace(schema); len(p) == 0 || string(p) == "null" {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		tools = append(tools, toolEntry{ToolSpec: toolSpec{Name: t.Function.Name, Description: t.Function.Description, InputSchema: inputSchema{JSON: schema}}})
	}
	if len(tools) > 0 {
		out.ToolConfig = &toolConfig{Tools: tools}
		switch mode {
		case "auto":
			out.ToolConfig.ToolChoice = &toolChoice{Auto: &struct{}{}}
		case "required":
			out.ToolConfig.ToolChoice = &toolChoice{Any: &struct{}{}}
		case "function":
			out.ToolConfig.ToolChoice = &toolChoice{Tool: &namedTool{Name: name}}
		}
	}
	return out, nil
}

// addMessage appends one OpenAI message: system and developer messages go
// to the system blocks, tool results become a user turn, and turns of the
// same role are merged.
func addMessage(out *request, m chat.Message, param string) error {
	var role string
	var blocks []block
	switch m.Role {
	case "system", "developer":
		texts, err := textBlocks(m.Content, param)
		if err != nil {
			return err
		}
		for _, t := range texts {
			out.System = append(out.System, systemBlock{Text: t.Text})
		}
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
			blocks = append(blocks, block{ToolUse: &toolUse{ToolUseID: c.ID, Name: c.Function.Name, Input: input}})
		}
	case "tool":
		role = "user"
		texts, err := textBlocks(m.Content, param)
		if err != nil {
			return err
		}
		var text strings.Builder
		for _, t := range texts {
			text.WriteString(t.Text)
		}
		result := toolResultContent{Text: text.String()}
		if t := bytes.TrimSpace([]byte(text.String())); len(t) > 0 && t[0] == '{' && json.Valid(t) {
			result = toolResultContent{JSON: json.RawMessage(t)}
		}
		blocks = []block{{ToolResult: &toolResult{ToolUseID: m.ToolCallID, Content: []toolResultContent{result}}}}
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

func textBlocks(c chat.Content, param string) ([]block, error) {
	if !c.IsSet {
		return nil, nil
	}
	if c.Parts == nil {
		if c.Text == "" {
			return nil, nil
		}
		return []block{{Text: c.Text}}, nil
	}
	var out []block
	for j, p := range c.Parts {
		if p.Type != "text" {
			return nil, proxy.InvalidRequest(fmt.Sprintf("%s.content[%d]", param, j), "only text parts are allowed here, not %q", p.Type)
		}
		if p.Text != "" {
			out = append(out, block{Text: p.Text})
		}
	}
	return out, nil
}

var imageFormats = map[string]string{"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp"}

func userBlocks(c chat.Content, param string) ([]block, error) {
	if c.Parts == nil {
		return textBlocks(c, param)
	}
	var out []block
	for j, p := range c.Parts {
		at := fmt.Sprintf("%s.content[%d]", param, j)
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, block{Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, proxy.InvalidRequest(at+".image_url", "an image part needs image_url.url")
			}
			u := p.ImageURL.URL
			if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
				out = append(out, block{Image: &image{fetch: u, param: at + ".image_url.url"}})
				continue
			}
			rest, ok := strings.CutPrefix(u, "data:")
			meta, data, ok2 := strings.Cut(rest, ",")
			mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
			format, known := imageFormats[mediaType]
			if !ok || !ok2 || !isBase64 || !known {
				return nil, proxy.InvalidRequest(at+".image_url.url", "Bedrock takes images of PNG, JPEG, GIF or WebP, as http(s) URLs or base64 data URLs")
			}
			out = append(out, block{Image: &image{Format: format, Source: imageSource{Bytes: data}}})
		default:
			return nil, proxy.InvalidRequest(at, "content parts of type %q are not supported by Bedrock's Converse API", p.Type)
		}
	}
	return out, nil
}

// finishReason maps Converse's stop reasons to OpenAI's.
func finishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return chat.FinishLength
	case "tool_use":
		return chat.FinishToolCalls
	case "guardrail_intervened", "content_filtered":
		return chat.FinishContentFilter
	}
	return chat.FinishStop
}

// chat counts as OpenAI does: prompt tokens include cache reads and writes;
// the reads are also counted apart.
func (u usage) chat() *chat.Usage {
	return chat.NewUsage(u.InputTokens+u.CacheReadInputTokens+u.CacheWriteInputTokens, u.OutputTokens, u.CacheReadInputTokens).WithCacheWrites(u.CacheWriteInputTokens)
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if len(raw) == 0 || json.Compact(&b, raw) != nil {
		return "{}"
	}
	return b.String()
}

// toCompletion translates a whole answer.
func toCompletion(b []byte, model string, now time.Time) (*chat.Completion, error) {
	var a answer
	if err := json.Unmarshal(b, &a); err != nil || a.Output.Message == nil {
		return nil, &proxy.UpstreamError{Message: "the upstream answered with something other than a Converse response"}
	}
	msg := chat.AnswerMessage{Role: "assistant"}
	var text strings.Builder
	for _, c := range a.Output.Message.Content {
		switch {
		case c.ToolUse != nil:
			msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: c.ToolUse.ToolUseID, Type: "function",
				Function: chat.FunctionCall{Name: c.ToolUse.Name, Arguments: compact(c.ToolUse.Input)}})
		case c.Text != "":
			text.WriteString(c.Text)
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	return &chat.Completion{ID: fmt.Sprintf("bedrock-%d", now.UnixNano()), Object: "chat.completion", Created: now.Unix(), Model: model,
		Choices: []chat.Choice{{Message: msg, FinishReason: finishReason(a.StopReason)}}, Usage: a.Usage.chat()}, nil
}

// fetchImages downloads the images the request names by URL, one at a
// time, and puts their bytes in it. An image that cannot be fetched, or is
// not PNG, JPEG, GIF or WebP, refuses the request with a 400 naming it.
func fetchImages(ctx context.Context, f *imagefetch.Fetcher, req *request) error {
	for _, m := range req.Messages {
		for _, b := range m.Content {
			img := b.Image
			if img == nil || img.fetch == "" {
				continue
			}
			got, err := f.Fetch(ctx, img.fetch)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return proxy.InvalidRequest(img.param, "%v", err)
			}
			format, ok := imageFormats[got.MediaType]
			if !ok {
				return proxy.InvalidRequest(img.param, "the image is %s; Bedrock takes PNG, JPEG, GIF or WebP", got.MediaType)
			}
			img.Format, img.Source.Bytes, img.fetch = format, base64.StdEncoding.EncodeToString(got.Data), ""
		}
	}
	return nil
}
