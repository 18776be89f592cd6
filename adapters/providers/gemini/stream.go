package gemini

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/app/proxy"
)

type events interface {
	Next() ([]byte, error)
	Close() error
}

// stream translates streamGenerateContent's chunks (server-sent events,
// alt=sse) into OpenAI chunks as they arrive. The API has no closing
// event: a stream is whole when its body ends after a finish reason; one
// that ends before, a chunk that is not JSON, or an error chunk ends it
// with an *proxy.UpstreamError.
type stream struct {
	events       events
	includeUsage bool
	chunks       chat.Chunks

	started  bool
	finished bool
	done     bool
	usage    *usageMetadata
	tools    map[int]int // candidate → tool calls so far
}

func newStream(ev events, model string, includeUsage bool, now time.Time) *stream {
	return &stream{events: ev, includeUsage: includeUsage, tools: map[int]int{},
		chunks: chat.Chunks{ID: fmt.Sprintf("gemini-%d", now.UnixNano()), Model: model, Created: now.Unix()}}
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
			if !s.finished {
				return nil, &proxy.UpstreamError{Message: "the upstream stream ended before the answer was complete"}
			}
			s.done = true
			if s.includeUsage {
				s.chunks.Add(chat.Chunk{Usage: s.usage.chat()})
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := s.translate(data); err != nil {
			return nil, err
		}
	}
}

func (s *stream) translate(data []byte) error {
	var a answer
	if err := json.Unmarshal(data, &a); err != nil {
		return &proxy.UpstreamError{Message: "the upstream stream is malformed: a chunk is not valid JSON"}
	}
	if a.Error != nil {
		return &proxy.UpstreamError{Type: a.Error.Status, Message: a.Error.Message}
	}
	if a.ResponseID != "" {
		s.chunks.ID = a.ResponseID
	}
	if a.ModelVersion != "" {
		s.chunks.Model = a.ModelVersion
	}
	if a.UsageMetadata != nil {
		s.usage = a.UsageMetadata // running totals: the last one counts
	}
	if !s.started {
		s.started = true
		empty := ""
		s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Delta: chat.Delta{Role: "assistant", Content: &empty}}}})
	}
	for _, c := range a.Candidates {
		for _, p := range c.Content.Parts {
			switch {
			case p.FunctionCall != nil:
				n := s.tools[c.Index]
				s.tools[c.Index] = n + 1
				tc := toolCall(p.FunctionCall, c.Index, n)
				s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Index: c.Index, Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{
					Index: n, ID: tc.ID, Type: "function", Function: chat.FunctionCallDelta{Name: tc.Function.Name, Arguments: tc.Function.Arguments}}}}}}})
			case p.Text != "" && !p.Thought:
				t := p.Text
				s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Index: c.Index, Delta: chat.Delta{Content: &t}}}})
			}
		}
		if c.FinishReason != "" {
			s.finished = true
			reason := finishReason(c.FinishReason, s.tools[c.Index] > 0)
			s.chunks.Add(chat.Chunk{Choices: []chat.ChunkChoice{{Index: c.Index, FinishReason: &reason}}})
		}
	}
	return nil
}
