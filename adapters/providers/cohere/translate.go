package cohere

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// toRequest translates an OpenAI chat request into a v2 Chat request, and
// says whether a stream must end with usage. What has no equivalent is
// refused with a 400 naming the field; user and parallel_tool_calls, which
// the API has no place for, are left out.
func toRequest(body []byte) (*request, bool, error) {
	in, err := chat.Decode(body, "Cohere's v2 Chat API")
	if err != nil {
		return nil, false, err
	}
	out, err := translateRequest(in)
	return out, in.WantsUsage(), err
}

func unsupported(param string) error {
	return proxy.InvalidRequest(param, "%s is not supported by Cohere models through this API.", param)
}

func translateRequest(in *chat.Request) (*request, error) {
	switch {
	case in.N != nil && *in.N != 1:
		return nil, unsupported("n")
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
	out := &request{Model: in.Model, Temperature: in.Temperature, P: in.TopP, StopSequences: in.Stop, Seed: in.Seed,
		FrequencyPenalty: in.FrequencyPenalty, PresencePenalty: in.PresencePenalty, Stream: in.Stream}
	if n, ok := in.MaxOutput(); ok {
		out.MaxTokens = &n
	}
	if rf := in.ResponseFormat; rf != nil {
		switch rf.Type {
		case "text":
		case "json_object":
			out.ResponseFormat = &responseFormat{Type: "json_object"}
		case "json_schema":
			if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
				return nil, proxy.InvalidRequest("response_format.json_schema", "json_schema needs a schema")
			}
			out.ResponseFormat = &responseFormat{Type: "json_object", JSONSchema: rf.JSONSchema.Schema}
		default:
			return nil, proxy.InvalidRequest("response_format.type", "response_format.type must be text, json_object or json_schema")
		}
	}
	for i, m := range in.Messages {
		msg, err := toMessage(m, fmt.Sprintf("messages[%d]", i))
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, msg)
	}
	for i, t := range in.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			return nil, proxy.InvalidRequest(fmt.Sprintf("tools[%d]", i), "tools must be functions with a name")
		}
		out.Tools = append(out.Tools, tool{Type: "function", Function: function{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters}})
	}
	mode, _, err := in.ToolChoiceMode()
	if err != nil {
		return nil, proxy.InvalidRequest("tool_choice", "%v", err)
	}
	switch mode {
	case "required":
		out.ToolChoice = "REQUIRED"
	case "none":
		out.ToolChoice = "NONE"
	case "function":
		return nil, proxy.InvalidRequest("tool_choice", "Cohere models cannot be made to call one named function: use \"required\" with only that tool")
	}
	return out, nil
}

// toMessage carries one message over: the roles and shapes are the same
// but for developer messages, which are system messages here, and content
// parts, of which text and images are taken.
func toMessage(m chat.Message, param string) (message, error) {
	role := m.Role
	switch role {
	case "developer":
		role = "system"
	case "system", "user", "assistant", "tool":
	default:
		return message{}, proxy.InvalidRequest(param+".role", "role %q is not supported: use system, developer, user, assistant or tool", m.Role)
	}
	out := message{Role: role, ToolCallID: m.ToolCallID}
	for _, c := range m.ToolCalls {
		args := c.Function.Arguments
		if strings.TrimSpace(args) == "" {
			args = "{}"
		}
		out.ToolCalls = append(out.ToolCalls, toolCall{ID: c.ID, Type: "function", Function: functionCall{Name: c.Function.Name, Arguments: args}})
	}
	if !m.Content.IsSet {
		return out, nil
	}
	if m.Content.Parts == nil {
		b, err := json.Marshal(m.Content.Text)
		out.Content = b
		return out, err
	}
	parts := make([]contentPart, 0, len(m.Content.Parts))
	for j, p := range m.Content.Parts {
		switch {
		case p.Type == "text":
			parts = append(parts, contentPart{Type: "text", Text: p.Text})
		case p.Type == "image_url" && role == "user" && p.ImageURL != nil && p.ImageURL.URL != "":
			parts = append(parts, contentPart{Type: "image_url", ImageURL: &imageURL{URL: p.ImageURL.URL, Detail: p.ImageURL.Detail}})
		default:
			return message{}, proxy.InvalidRequest(fmt.Sprintf("%s.content[%d]", param, j), "content parts of type %q are not supported here by Cohere models", p.Type)
		}
	}
	b, err := json.Marshal(parts)
	out.Content = b
	return out, err
}

// finishReason maps Cohere's finish reasons to OpenAI's.
func finishReason(reason string) string {
	switch reason {
	case "MAX_TOKENS":
		return chat.FinishLength
	case "TOOL_CALL":
		return chat.FinishToolCalls
	}
	return chat.FinishStop // COMPLETE, STOP_SEQUENCE
}

// chat counts what is billed: billed units when the API gives them.
func (u *usage) chat() *chat.Usage {
	switch {
	case u == nil:
		return chat.NewUsage(0, 0, 0)
	case u.BilledUnits != nil:
		return chat.NewUsage(u.BilledUnits.InputTokens, u.BilledUnits.OutputTokens, 0)
	case u.Tokens != nil:
		return chat.NewUsage(u.Tokens.InputTokens, u.Tokens.OutputTokens, 0)
	}
	return chat.NewUsage(0, 0, 0)
}

// toCompletion translates a whole answer.
func toCompletion(b []byte, model string, now time.Time) (*chat.Completion, error) {
	var a answer
	if err := json.Unmarshal(b, &a); err != nil || a.Message.Role == "" {
		return nil, &proxy.UpstreamError{Message: "the upstream answered with something other than a chat response"}
	}
	msg := chat.AnswerMessage{Role: "assistant"}
	var text strings.Builder
	for _, c := range a.Message.Content {
		if c.Type == "text" {
			text.WriteString(c.Text)
		}
	}
	for _, tc := range a.Message.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: tc.ID, Type: "function", Function: chat.FunctionCall{Name: tc.Function.Name, Arguments: tc.Function.Arguments}})
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	return &chat.Completion{ID: a.ID, Object: "chat.completion", Created: now.Unix(), Model: model,
		Choices: []chat.Choice{{Message: msg, FinishReason: finishReason(a.FinishReason)}}, Usage: a.Usage.chat()}, nil
}
