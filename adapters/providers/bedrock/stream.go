package bedrock

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/bedrock/eventstream"
	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/app/proxy"
)

type messages interface {
	Next() (eventstream.Message, error)
	Close() error
}

// stream translates ConverseStream's events into OpenAI chunks as they
// arrive. It is whole when the body ends after messageStop (the usage
// comes in the metadata event after it); a body that ends before, a
// malformed message, an unknown event or an exception ends it with an
// *proxy.UpstreamError.
type stream struct {
	messages     messages
	includeUsage bool
	chunks       chat.Chunks
	tools        map[int]int // content block index → tool call index
	stopped      bool
	usage        *usage
	done         bool
}

func newStream(m messages, model string, includeUsage bool, now time.Time) *stream {
	return &stream{messages: m, includeUsage: includeUsage, tools: map[int]int{},
		chunks: chat.Chunks{ID: fmt.Sprintf("bedrock-%d", now.UnixNano()), Model: model, Created: now.Unix()}}
}

var _ proxy.ChunkStream = (*stream)(nil)

func (s *stream) Close() error { return s.messages.Close() }

func (s *stream) Next() ([]byte, error) {
	for {
		if c, ok := s.chunks.Next(); ok {
			return c, nil
		}
		if s.done {
			return nil, io.EOF
		}
		m, err := s.messages.Next()
		switch {
		case errors.Is(err, io.EOF) && s.stopped:
			s.done = true
			if s.includeUsage {
				u := usage{}
				if s.usage != nil {
					u = *s.usage
				}
				s.chunks.Add(chat.Chunk{Usage: u.chat()})
			}
			continue
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, &proxy.UpstreamError{Message: "the upstream stream ended before the message was complete"}
		case errors.Is(err, eventstream.ErrMalformed):
			return nil, &proxy.UpstreamError{Message: "the upstream stream is malformed: " + err.Error()}
		case err != nil:
			return nil, err
		}
		if err := s.translate(m); err != nil {
			return nil, err
		}
	}
}

func malformed(what string) error {
	return &proxy.UpstreamError{Message: "the upstream stream is malformed: " + what}
}

func (s *stream) translate(m eventstream.Message) error {
	if m.Headers[":message-type"] == "exception" || m.Headers[":message-type"] == "error" {
		msg := "the upstream stream failed"
		var w wireError
		if json.Unmarshal(m.Payload, &w) == nil && w.Message != "" {
			msg = w.Message
		}
		return &proxy.UpstreamError{Type: m.Headers[":exception-type"], Message: msg}
	}
	switch typ := m.Headers[":event-type"]; typ {
	case "messageStart":
		empty := ""
		s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Delta: chat.Delta{Role: "assistant", Content: &empty}}}})
	case "contentBlockStart":
		var ev contentBlockStart
		if json.Unmarshal(m.Payload, &ev) != nil {
			return malformed("a contentBlockStart is not JSON")
		}
		if tu := ev.Start.ToolUse; tu != nil {
			n := len(s.tools)
			s.tools[ev.ContentBlockIndex] = n
			s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: n, ID: tu.ToolUseID, Type: "function",
				Function: chat.FunctionCallDelta{Name: tu.Name}}}}}}})
		}
	case "contentBlockDelta":
		var ev contentBlockDelta
		if json.Unmarshal(m.Payload, &ev) != nil {
			return malformed("a contentBlockDelta is not JSON")
		}
		switch d := ev.Delta; {
		case d.Text != nil && *d.Text != "":
			s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Delta: chat.Delta{Content: d.Text}}}})
		case d.ToolUse != nil:
			n, ok := s.tools[ev.ContentBlockIndex]
			if !ok {
				return malformed("tool input for a block that is not a tool use")
			}
			s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: n,
				Function: chat.FunctionCallDelta{Arguments: d.ToolUse.Input}}}}}}})
		}
	case "contentBlockStop":
	case "messageStop":
		var ev messageStop
		if json.Unmarshal(m.Payload, &ev) != nil {
			return malformed("a messageStop is not JSON")
		}
		s.stopped = true
		f := finishReason(ev.StopReason)
		s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{FinishReason: &f}}})
	case "metadata":
		var ev metadata
		if json.Unmarshal(m.Payload, &ev) != nil {
			return malformed("a metadata event is not JSON")
		}
		s.usage = ev.Usage
	default:
		return malformed("unknown event type " + typ)
	}
	return nil
}
