package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// events is where a stream's server-sent events come from.
type events interface {
	Next() ([]byte, error)
	Close() error
}

// stream translates a Messages API event stream into OpenAI chunks, one
// event at a time as it arrives. A stream that breaks off before
// message_stop, an event that is not JSON, an event type the gateway does
// not know, or an error event ends it with an *proxy.UpstreamError.
type stream struct {
	events       events
	includeUsage bool
	chunks       chat.Chunks

	usage    usage
	started  bool
	tools    map[int]int // content block index → tool call index
	finished bool
}

func newStream(ev events, includeUsage bool, now time.Time) *stream {
	return &stream{events: ev, includeUsage: includeUsage, chunks: chat.Chunks{Created: now.Unix()}, tools: map[int]int{}}
}

var _ proxy.ChunkStream = (*stream)(nil)

// Close closes the upstream body.
func (s *stream) Close() error { return s.events.Close() }

// Next returns the next OpenAI chunk, io.EOF after the last.
func (s *stream) Next() ([]byte, error) {
	for {
		if c, ok := s.chunks.Next(); ok {
			return c, nil
		}
		if s.finished {
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

func malformed(format string, args ...any) error {
	return &proxy.UpstreamError{Message: "the upstream stream is malformed: " + fmt.Sprintf(format, args...)}
}

func (s *stream) translate(data []byte) error {
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		return malformed("an event is not valid JSON")
	}
	if !s.started && ev.Type != "message_start" && ev.Type != "ping" && ev.Type != "error" {
		return malformed("%q before message_start", ev.Type)
	}
	switch ev.Type {
	case "message_start":
		if s.started || ev.Message == nil {
			return malformed("message_start without a message, or twice")
		}
		s.started = true
		s.chunks.ID, s.chunks.Model, s.usage = ev.Message.ID, ev.Message.Model, ev.Message.Usage
		empty := ""
		return s.emit(chat.Delta{Role: "assistant", Content: &empty}, nil)
	case "content_block_start":
		if ev.ContentBlock == nil {
			return malformed("content_block_start without a block")
		}
		switch ev.ContentBlock.Type {
		case "tool_use":
			n := len(s.tools)
			s.tools[ev.Index] = n
			return s.emit(chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: n, ID: ev.ContentBlock.ID, Type: "function",
				Function: chat.FunctionCallDelta{Name: ev.ContentBlock.Name}}}}, nil)
		case "text":
			if t := ev.ContentBlock.Text; t != "" {
				return s.emit(chat.Delta{Content: &t}, nil)
			}
		}
		return nil // thinking and server-side tool blocks are not part of an OpenAI answer
	case "content_block_delta":
		var d blockDelta
		if err := json.Unmarshal(ev.Delta, &d); err != nil {
			return malformed("a content_block_delta without a delta")
		}
		switch d.Type {
		case "text_delta":
			return s.emit(chat.Delta{Content: &d.Text}, nil)
		case "input_json_delta":
			n, ok := s.tools[ev.Index]
			if !ok {
				return malformed("tool input for block %d, which is not a tool call", ev.Index)
			}
			return s.emit(chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: n, Function: chat.FunctionCallDelta{Arguments: d.PartialJSON}}}}, nil)
		}
		return nil // thinking, signature and citation deltas
	case "content_block_stop", "ping":
		return nil
	case "message_delta":
		var d messageDelta
		if len(ev.Delta) > 0 {
			if err := json.Unmarshal(ev.Delta, &d); err != nil {
				return malformed("a message_delta's delta is not an object")
			}
		}
		s.addUsage(ev.Usage)
		if d.StopReason == "" {
			return nil
		}
		reason := finishReason(d.StopReason)
		return s.emit(chat.Delta{}, &reason)
	case "message_stop":
		s.finished = true
		if !s.includeUsage {
			return nil
		}
		s.chunks.Add(chat.Chunk{Usage: s.usage.chat()})
		return nil
	case "error":
		ue := &proxy.UpstreamError{Message: "the upstream stream failed"}
		if ev.Error != nil && ev.Error.Message != "" {
			ue.Type, ue.Message = ev.Error.Type, ev.Error.Message
		}
		return ue
	}
	return malformed("unknown event type %q", ev.Type)
}

// addUsage folds message_delta's running usage in: output tokens are a
// running total; input counts come only when they changed.
func (s *stream) addUsage(u *usageDelta) {
	if u == nil {
		return
	}
	set := func(dst *int64, v *int64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.usage.OutputTokens, u.OutputTokens)
	set(&s.usage.InputTokens, u.InputTokens)
	set(&s.usage.CacheCreationInputTokens, u.CacheCreationInputTokens)
	set(&s.usage.CacheReadInputTokens, u.CacheReadInputTokens)
}

func (s *stream) emit(d chat.Delta, finish *string) error {
	s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Index: 0, Delta: d, FinishReason: finish}}})
	return nil
}
