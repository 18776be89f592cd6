package cohere

import (
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/app/proxy"
)

type events interface {
	Next() ([]byte, error)
	Close() error
}

// stream translates v2 Chat's events into OpenAI chunks as they arrive.
// message-end closes it; a stream that breaks off before, an event that
// is not JSON, an unknown event type or an error ends it with an
// *proxy.UpstreamError.
type stream struct {
	events       events
	includeUsage bool
	chunks       chat.Chunks
	started      bool
	tools        map[int]int // event index → tool call index
	done         bool
}

func newStream(ev events, model string, includeUsage bool, now time.Time) *stream {
	return &stream{events: ev, includeUsage: includeUsage, tools: map[int]int{}, chunks: chat.Chunks{Model: model, Created: now.Unix()}}
}

var _ proxy.ChunkStream = (*stream)(nil)

func (s *stream) Close() error { return s.events.Close() }

func (s *stream) Next() ([]byte, error) {
	for {
		if c, ok := s.chunks.Next(); ok {
			return c, nil
		}
		if s.done {
			return nil, io.EOF
		}
		data, err := s.events.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &proxy.UpstreamError{Message: "the upstream stream ended before the message was complete"}
		}
		if err != nil {
			return nil, err
		}
		if err := s.translate(data); err != nil {
			return nil, err
		}
	}
}

func malformed(what string) error {
	return &proxy.UpstreamError{Message: "the upstream stream is malformed: " + what}
}

func (s *stream) translate(data []byte) error {
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		return malformed("an event is not valid JSON")
	}
	if !s.started && ev.Type != "message-start" {
		return malformed(ev.Type + " before message-start")
	}
	var msg *eventMessage
	if ev.Delta != nil {
		msg = ev.Delta.Message
	}
	switch ev.Type {
	case "message-start":
		s.started = true
		s.chunks.ID = ev.ID
		empty := ""
		s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Delta: chat.Delta{Role: "assistant", Content: &empty}}}})
	case "content-delta":
		var d textDelta
		if msg == nil || json.Unmarshal(msg.Content, &d) != nil {
			return malformed("content-delta without text")
		}
		if d.Text != "" {
			s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Delta: chat.Delta{Content: &d.Text}}}})
		}
	case "tool-call-start":
		var tc toolCall
		if msg == nil || json.Unmarshal(msg.ToolCalls, &tc) != nil {
			return malformed("tool-call-start without a tool call")
		}
		n := len(s.tools)
		s.tools[ev.Index] = n
		s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: n, ID: tc.ID, Type: "function",
			Function: chat.FunctionCallDelta{Name: tc.Function.Name, Arguments: tc.Function.Arguments}}}}}}})
	case "tool-call-delta":
		n, ok := s.tools[ev.Index]
		var tc toolCall
		if !ok || msg == nil || json.Unmarshal(msg.ToolCalls, &tc) != nil {
			return malformed("tool-call-delta for no tool call")
		}
		s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: n,
			Function: chat.FunctionCallDelta{Arguments: tc.Function.Arguments}}}}}}})
	case "content-start", "content-end", "tool-plan-delta", "tool-call-end", "citation-start", "citation-end", "debug":
	case "message-end":
		if ev.Delta != nil && ev.Delta.Error != "" {
			return &proxy.UpstreamError{Message: ev.Delta.Error}
		}
		s.done = true
		var reason string
		var u *usage
		if ev.Delta != nil {
			reason, u = ev.Delta.FinishReason, ev.Delta.Usage
		}
		if reason == "ERROR" || reason == "TIMEOUT" {
			return &proxy.UpstreamError{Message: "the upstream ended the answer with " + reason}
		}
		f := finishReason(reason)
		s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{FinishReason: &f}}})
		if s.includeUsage {
			s.chunks.Add(chat.Chunk{Usage: u.chat()})
		}
	default:
		return malformed("unknown event type " + ev.Type)
	}
	return nil
}
