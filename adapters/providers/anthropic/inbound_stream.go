package anthropic

import (
	"encoding/json"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// ChatStream turns OpenAI chunks into Messages API events as they arrive.
// The message's stop reason and usage go out in message_delta when the
// chunks end, since OpenAI sends usage last.
type ChatStream struct {
	started  bool
	open     string // type of the content block open now: "", "text" or "tool_use"
	index    int    // index of the open block; the next one's when none is open
	tools    map[int]int
	stop     string
	usage    *chat.Usage
	out      func(typ string, data []byte) // where events go
	finished bool
}

// NewStream starts translating one stream.
func (Inbound) NewStream() *ChatStream { return &ChatStream{tools: map[int]int{}} }

func (s *ChatStream) emit(typ string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return // the values are built here and always encode
	}
	s.out(typ, b)
}

// Chunk translates one chunk into the events it makes, handing each to emit.
func (s *ChatStream) Chunk(data []byte, emit func(typ string, data []byte)) error {
	s.out = emit
	var c chat.Chunk
	if err := json.Unmarshal(data, &c); err != nil {
		return &proxy.UpstreamError{Message: "the upstream stream is malformed: a chunk is not valid JSON"}
	}
	if !s.started {
		s.started = true
		s.emit("message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": c.ID, "type": "message",
			"role": "assistant", "model": c.Model, "content": []block{}, "stop_reason": nil, "stop_sequence": nil,
			"usage": map[string]int64{"input_tokens": 0, "output_tokens": 0}}})
	}
	if c.Usage != nil {
		s.usage = c.Usage
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue // one answer is asked for
		}
		if t := ch.Delta.Content; t != nil && *t != "" {
			if s.open != "text" {
				s.startBlock("text", map[string]string{"type": "text", "text": ""})
			}
			s.emit("content_block_delta", map[string]any{"type": "content_block_delta", "index": s.index,
				"delta": map[string]string{"type": "text_delta", "text": *t}})
		}
		for _, tc := range ch.Delta.ToolCalls {
			if _, seen := s.tools[tc.Index]; !seen || tc.ID != "" {
				s.startBlock("tool_use", block{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: json.RawMessage(`{}`)})
				s.tools[tc.Index] = s.index
			}
			if tc.Function.Arguments != "" {
				s.emit("content_block_delta", map[string]any{"type": "content_block_delta", "index": s.tools[tc.Index],
					"delta": map[string]string{"type": "input_json_delta", "partial_json": tc.Function.Arguments}})
			}
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			s.stop = stopReason(*ch.FinishReason)
		}
	}
	return nil
}

func (s *ChatStream) startBlock(typ string, b any) {
	s.closeBlock()
	s.open = typ
	s.emit("content_block_start", map[string]any{"type": "content_block_start", "index": s.index, "content_block": b})
}

func (s *ChatStream) closeBlock() {
	if s.open == "" {
		return
	}
	s.emit("content_block_stop", map[string]any{"type": "content_block_stop", "index": s.index})
	s.open = ""
	s.index++
}

// End closes the message once the chunks have ended.
func (s *ChatStream) End(emit func(typ string, data []byte)) {
	s.out = emit
	if s.finished || !s.started {
		return
	}
	s.finished = true
	s.closeBlock()
	if s.stop == "" {
		s.stop = "end_turn"
	}
	u := usageFrom(s.usage)
	s.emit("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": s.stop, "stop_sequence": nil},
		"usage": map[string]int64{"input_tokens": u.InputTokens, "output_tokens": u.OutputTokens, "cache_read_input_tokens": u.CacheReadInputTokens}})
	s.emit("message_stop", map[string]string{"type": "message_stop"})
}
