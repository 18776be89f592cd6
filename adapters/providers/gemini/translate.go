package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// toRequest translates an OpenAI chat request into a generateContent
// request, and gives the model (it goes in the URL) and whether a stream
// must end with usage. What has no equivalent is refused with a 400 naming
// the field; user (an end-user id for abuse monitoring) and
// parallel_tool_calls, which Gemini has no switch for, are left out.
func toRequest(body []byte) (*request, string, bool, error) {
	in, err := chat.Decode(body, "Gemini's generateContent API")
	if err != nil {
		return nil, "", false, err
	}
	out, err := translateRequest(in)
	return out, in.Model, in.WantsUsage(), err
}

func unsupported(param string) error {
	return proxy.InvalidRequest(param, "%s is not supported by Gemini models through this API.", param)
}

func translateRequest(in *chat.Request) (*request, error) {
	switch {
	case in.Logprobs != nil && *in.Logprobs:
		return nil, unsupported("logprobs")
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
	gc := generationConfig{StopSequences: in.Stop, Temperature: in.Temperature, TopP: in.TopP, Seed: in.Seed,
		PresencePenalty: in.PresencePenalty, FrequencyPenalty: in.FrequencyPenalty}
	if n, ok := in.MaxOutput(); ok {
		gc.MaxOutputTokens = &n
	}
	if in.N != nil && *in.N != 1 {
		gc.CandidateCount = in.N
	}
	if rf := in.ResponseFormat; rf != nil {
		switch rf.Type {
		case "text":
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
				return nil, proxy.InvalidRequest("response_format.json_schema", "json_schema needs a schema")
			}
			gc.ResponseMimeType, gc.ResponseJSONSchema = "application/json", rf.JSONSchema.Schema
		default:
			return nil, proxy.InvalidRequest("response_format.type", "response_format.type must be text, json_object or json_schema")
		}
	}
	out := &request{}
	if b, _ := json.Marshal(gc); string(b) != "{}" {
		out.GenerationConfig = &gc
	}
	names := map[string]string{} // tool call id → function name, for the results
	for i, m := range in.Messages {
		if err := addMessage(out, m, fmt.Sprintf("messages[%d]", i), names); err != nil {
			return nil, err
		}
	}
	if len(out.Contents) == 0 {
		return nil, proxy.InvalidRequest("messages", "messages must hold at least one user or assistant message")
	}
	var decls []functionDeclaration
	for i, t := range in.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			return nil, proxy.InvalidRequest(fmt.Sprintf("tools[%d]", i), "tools must be functions with a name")
		}
		d := functionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
		if p := bytes.TrimSpace(t.Function.Parameters); len(p) > 0 && string(p) != "null" {
			d.ParametersJSONSchema = t.Function.Parameters
		}
		decls = append(decls, d)
	}
	if len(decls) > 0 {
		out.Tools = []tool{{FunctionDeclarations: decls}}
	}
	mode, name, err := in.ToolChoiceMode()
	if err != nil {
		return nil, proxy.InvalidRequest("tool_choice", "%v", err)
	}
	switch mode {
	case "auto":
		out.ToolConfig = &toolConfig{functionCallingConfig{Mode: "AUTO"}}
	case "none":
		out.ToolConfig = &toolConfig{functionCallingConfig{Mode: "NONE"}}
	case "required":
		out.ToolConfig = &toolConfig{functionCallingConfig{Mode: "ANY"}}
	case "function":
		out.ToolConfig = &toolConfig{functionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{name}}}
	}
	return out, nil
}

// addMessage appends one OpenAI message: system and developer messages go
// to the system instruction, assistant turns are the model's, tool results
// are function responses in a user turn; turns of one role are merged.
func addMessage(out *request, m chat.Message, param string, names map[string]string) error {
	var role string
	var parts []part
	switch m.Role {
	case "system", "developer":
		texts, err := textParts(m.Content, param)
		if err != nil {
			return err
		}
		if out.SystemInstruction == nil {
			out.SystemInstruction = &content{}
		}
		out.SystemInstruction.Parts = append(out.SystemInstruction.Parts, texts...)
		return nil
	case "user":
		role = "user"
		p, err := userParts(m.Content, param)
		if err != nil {
			return err
		}
		parts = p
	case "assistant":
		role = "model"
		texts, err := textParts(m.Content, param)
		if err != nil {
			return err
		}
		parts = texts
		for j, c := range m.ToolCalls {
			args := json.RawMessage(`{}`)
			if strings.TrimSpace(c.Function.Arguments) != "" {
				if !isObject([]byte(c.Function.Arguments)) {
					return proxy.InvalidRequest(fmt.Sprintf("%s.tool_calls[%d].function.arguments", param, j), "tool call arguments must be a JSON object")
				}
				args = json.RawMessage(c.Function.Arguments)
			}
			names[c.ID] = c.Function.Name
			parts = append(parts, part{FunctionCall: &functionCall{ID: c.ID, Name: c.Function.Name, Args: args}})
		}
	case "tool":
		role = "user"
		name, ok := names[m.ToolCallID]
		if !ok {
			return proxy.InvalidRequest(param+".tool_call_id", "tool_call_id %q matches no earlier tool call", m.ToolCallID)
		}
		texts, err := textParts(m.Content, param)
		if err != nil {
			return err
		}
		var text strings.Builder
		for _, t := range texts {
			text.WriteString(t.Text)
		}
		resp := json.RawMessage(text.String())
		if !isObject(resp) { // the API wants an object: wrap anything else
			resp, _ = json.Marshal(map[string]string{"content": text.String()})
		}
		parts = []part{{FunctionResponse: &functionResponse{ID: m.ToolCallID, Name: name, Response: resp}}}
	default:
		return proxy.InvalidRequest(param+".role", "role %q is not supported: use system, developer, user, assistant or tool", m.Role)
	}
	if len(parts) == 0 {
		return proxy.InvalidRequest(param+".content", "a %s message must have content", m.Role)
	}
	if n := len(out.Contents); n > 0 && out.Contents[n-1].Role == role {
		out.Contents[n-1].Parts = append(out.Contents[n-1].Parts, parts...)
		return nil
	}
	out.Contents = append(out.Contents, content{Role: role, Parts: parts})
	return nil
}

func isObject(b []byte) bool {
	var obj map[string]json.RawMessage
	return json.Unmarshal(b, &obj) == nil && obj != nil
}

func textParts(c chat.Content, param string) ([]part, error) {
	if !c.IsSet {
		return nil, nil
	}
	if c.Parts == nil {
		if c.Text == "" {
			return nil, nil
		}
		return []part{{Text: c.Text}}, nil
	}
	var out []part
	for j, p := range c.Parts {
		if p.Type != "text" {
			return nil, proxy.InvalidRequest(fmt.Sprintf("%s.content[%d]", param, j), "only text parts are allowed here, not %q", p.Type)
		}
		if p.Text != "" {
			out = append(out, part{Text: p.Text})
		}
	}
	return out, nil
}

func userParts(c chat.Content, param string) ([]part, error) {
	if c.Parts == nil {
		return textParts(c, param)
	}
	var out []part
	for j, p := range c.Parts {
		at := fmt.Sprintf("%s.content[%d]", param, j)
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, part{Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, proxy.InvalidRequest(at+".image_url", "an image part needs image_url.url")
			}
			img, err := imagePart(p.ImageURL.URL)
			if err != nil {
				return nil, proxy.InvalidRequest(at+".image_url.url", "%v", err)
			}
			out = append(out, img)
		default:
			return nil, proxy.InvalidRequest(at, "content parts of type %q are not supported by Gemini models through this API", p.Type)
		}
	}
	return out, nil
}

var imageTypes = map[string]string{".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif", ".heic": "image/heic"}

// imagePart reads an image URL: a data: URL becomes inline data, an
// http(s) URL a file reference with its type guessed from its name.
func imagePart(u string) (part, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isBase64 || mediaType == "" {
			return part{}, fmt.Errorf("a data URL must be data:<media type>;base64,<data>")
		}
		return part{InlineData: &blob{MimeType: mediaType, Data: data}}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		name, _, _ := strings.Cut(u, "?")
		mime, ok := imageTypes[strings.ToLower(path.Ext(name))]
		if !ok {
			mime = "image/jpeg"
		}
		return part{FileData: &fileData{MimeType: mime, FileURI: u}}, nil
	}
	return part{}, fmt.Errorf("an image URL must be http(s) or a base64 data URL")
}

// finishReason maps Gemini's finish reasons to OpenAI's.
func finishReason(reason string, calledTools bool) string {
	switch reason {
	case "MAX_TOKENS":
		return chat.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE":
		return chat.FinishContentFilter
	}
	if calledTools {
		return chat.FinishToolCalls
	}
	return chat.FinishStop
}

// chat counts as OpenAI does: thinking tokens are output tokens.
func (u *usageMetadata) chat() *chat.Usage {
	if u == nil {
		return chat.NewUsage(0, 0, 0)
	}
	return chat.NewUsage(u.PromptTokenCount, u.CandidatesTokenCount+u.ThoughtsTokenCount, u.CachedContentTokenCount)
}

// toolCall names a function call as an OpenAI tool call; calls without an
// id get one from their place in the answer.
func toolCall(fc *functionCall, candidate, n int) chat.ToolCall {
	id := fc.ID
	if id == "" {
		id = fmt.Sprintf("call_%d_%d", candidate, n)
	}
	args := "{}"
	if len(fc.Args) > 0 && string(fc.Args) != "null" {
		var b bytes.Buffer
		if json.Compact(&b, fc.Args) == nil {
			args = b.String()
		}
	}
	return chat.ToolCall{ID: id, Type: "function", Function: chat.FunctionCall{Name: fc.Name, Arguments: args}}
}

// toCompletion translates a whole answer; a prompt the API blocked comes
// back as an empty answer finished by the content filter.
func toCompletion(b []byte, model string, now time.Time) (*chat.Completion, error) {
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, &proxy.UpstreamError{Message: "the upstream answered with something other than a generateContent response"}
	}
	c := &chat.Completion{ID: a.ResponseID, Object: "chat.completion", Created: now.Unix(), Model: a.ModelVersion, Usage: a.UsageMetadata.chat()}
	if c.Model == "" {
		c.Model = model
	}
	if c.ID == "" {
		c.ID = fmt.Sprintf("gemini-%d", now.UnixNano())
	}
	for _, cand := range a.Candidates {
		msg := chat.AnswerMessage{Role: "assistant"}
		var text strings.Builder
		for _, p := range cand.Content.Parts {
			switch {
			case p.FunctionCall != nil:
				msg.ToolCalls = append(msg.ToolCalls, toolCall(p.FunctionCall, cand.Index, len(msg.ToolCalls)))
			case p.Text != "" && !p.Thought:
				text.WriteString(p.Text)
			}
		}
		if text.Len() > 0 || len(msg.ToolCalls) == 0 {
			s := text.String()
			msg.Content = &s
		}
		c.Choices = append(c.Choices, chat.Choice{Index: cand.Index, Message: msg, FinishReason: finishReason(cand.FinishReason, len(msg.ToolCalls) > 0)})
	}
	if len(c.Choices) == 0 {
		empty := ""
		c.Choices = []chat.Choice{{Message: chat.AnswerMessage{Role: "assistant", Content: &empty}, FinishReason: chat.FinishContentFilter}}
	}
	return c, nil
}
