package proxy

import (
	"encoding/json"
	"errors"
	"io"
	"sort"
)

// The OpenAI chat shapes a cached answer is replayed from and a streamed
// answer assembled into.
type (
	cachedCompletion struct {
		ID                string          `json:"id"`
		Object            string          `json:"object"`
		Created           int64           `json:"created"`
		Model             string          `json:"model"`
		SystemFingerprint *string         `json:"system_fingerprint,omitempty"`
		Choices           []cachedChoice  `json:"choices"`
		Usage             json.RawMessage `json:"usage,omitempty"`
	}
	cachedChoice struct {
		Index        int           `json:"index"`
		Message      cachedMessage `json:"message"`
		FinishReason *string       `json:"finish_reason"`
	}
	cachedMessage struct {
		Role      string           `json:"role"`
		Content   *string          `json:"content"`
		Refusal   *string          `json:"refusal"`
		ToolCalls []cachedToolCall `json:"tool_calls,omitempty"`
	}
	cachedToolCall struct {
		Index    *int   `json:"index,omitempty"`
		ID       string `json:"id,omitempty"`
		Type     string `json:"type,omitempty"`
		Function struct {
			Name      string `json:"name,omitempty"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	streamedChunk struct {
		Error             json.RawMessage `json:"error"`
		ID                string          `json:"id"`
		Created           int64           `json:"created"`
		Model             string          `json:"model"`
		SystemFingerprint *string         `json:"system_fingerprint,omitempty"`
		Choices           []streamedDelta `json:"choices"`
		Usage             json.RawMessage `json:"usage"`
	}
	streamedDelta struct {
		Index int `json:"index"`
		Delta struct {
			Role      string           `json:"role"`
			Content   *string          `json:"content"`
			Refusal   *string          `json:"refusal"`
			ToolCalls []cachedToolCall `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	}
)

// replay turns a cached chat completion into the chunks of a stream: for
// each choice its role, its text, its tool calls and its finish reason,
// then the usage.
func replay(body []byte) (ChunkStream, error) {
	var c cachedCompletion
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, err
	}
	var out [][]byte
	add := func(choices []any, usage json.RawMessage) {
		chunk := map[string]any{"id": c.ID, "object": "chat.completion.chunk", "created": c.Created, "model": c.Model, "choices": choices}
		if c.SystemFingerprint != nil {
			chunk["system_fingerprint"] = *c.SystemFingerprint
		}
		if usage != nil {
			chunk["usage"] = usage
		}
		b, _ := json.Marshal(chunk)
		out = append(out, b)
	}
	delta := func(i int, d map[string]any, finish *string) []any {
		return []any{map[string]any{"index": i, "delta": d, "finish_reason": finish}}
	}
	for _, ch := range c.Choices {
		add(delta(ch.Index, map[string]any{"role": "assistant", "content": ""}, nil), nil)
		if ch.Message.Content != nil && *ch.Message.Content != "" {
			add(delta(ch.Index, map[string]any{"content": *ch.Message.Content}, nil), nil)
		}
		if ch.Message.Refusal != nil && *ch.Message.Refusal != "" {
			add(delta(ch.Index, map[string]any{"refusal": *ch.Message.Refusal}, nil), nil)
		}
		for j, tc := range ch.Message.ToolCalls {
			call := tc
			call.Index = &j
			add(delta(ch.Index, map[string]any{"tool_calls": []cachedToolCall{call}}, nil), nil)
		}
		add(delta(ch.Index, map[string]any{}, ch.FinishReason), nil)
	}
	if len(c.Usage) > 0 && string(c.Usage) != "null" {
		add([]any{}, c.Usage)
	}
	return &replayed{chunks: out}, nil
}

type replayed struct {
	chunks [][]byte
	i      int
}

func (r *replayed) Next() ([]byte, error) {
	if r.i == len(r.chunks) {
		return nil, io.EOF
	}
	r.i++
	return r.chunks[r.i-1], nil
}

func (r *replayed) Close() error { return nil }

// assembling passes a stream's chunks on and builds the whole answer from
// them; when the stream ends cleanly, done gets it.
type assembling struct {
	inner   ChunkStream
	done    func(completion []byte)
	c       cachedCompletion
	choices map[int]*cachedChoice
	broken  bool
}

func newAssembling(inner ChunkStream, done func([]byte)) *assembling {
	return &assembling{inner: inner, done: done, choices: map[int]*cachedChoice{}}
}

func (a *assembling) Next() ([]byte, error) {
	b, err := a.inner.Next()
	switch {
	case errors.Is(err, io.EOF):
		if !a.broken && a.done != nil {
			if whole, err := a.completion(); err == nil {
				a.done(whole)
			}
			a.done = nil
		}
		return b, err
	case err != nil:
		a.broken = true
		return b, err
	}
	a.fold(b)
	return b, nil
}

func (a *assembling) Close() error { return a.inner.Close() }

func (a *assembling) fold(b []byte) {
	var ch streamedChunk
	if json.Unmarshal(b, &ch) != nil || (len(ch.Error) > 0 && string(ch.Error) != "null") {
		a.broken = true // not an answer, or an error sent as a chunk: nothing to keep
		return
	}
	if a.c.ID == "" {
		a.c.ID, a.c.Created, a.c.Model, a.c.SystemFingerprint = ch.ID, ch.Created, ch.Model, ch.SystemFingerprint
	}
	if len(ch.Usage) > 0 && string(ch.Usage) != "null" {
		a.c.Usage = ch.Usage
	}
	for _, d := range ch.Choices {
		c := a.choices[d.Index]
		if c == nil {
			c = &cachedChoice{Index: d.Index, Message: cachedMessage{Role: "assistant"}}
			a.choices[d.Index] = c
		}
		if d.Delta.Content != nil {
			text := ""
			if c.Message.Content != nil {
				text = *c.Message.Content
			}
			text += *d.Delta.Content
			c.Message.Content = &text
		}
		if d.Delta.Refusal != nil {
			text := ""
			if c.Message.Refusal != nil {
				text = *c.Message.Refusal
			}
			text += *d.Delta.Refusal
			c.Message.Refusal = &text
		}
		for _, tc := range d.Delta.ToolCalls {
			i := 0
			if tc.Index != nil {
				i = *tc.Index
			}
			for len(c.Message.ToolCalls) <= i {
				c.Message.ToolCalls = append(c.Message.ToolCalls, cachedToolCall{})
			}
			call := &c.Message.ToolCalls[i]
			if tc.ID != "" {
				call.ID = tc.ID
			}
			if tc.Type != "" {
				call.Type = tc.Type
			}
			call.Function.Name += tc.Function.Name
			call.Function.Arguments += tc.Function.Arguments
		}
		if d.FinishReason != nil {
			c.FinishReason = d.FinishReason
		}
	}
}

func (a *assembling) completion() ([]byte, error) {
	a.c.Object = "chat.completion"
	if len(a.choices) == 0 {
		return nil, errors.New("the stream held no answer")
	}
	indexes := make([]int, 0, len(a.choices))
	for i := range a.choices {
		indexes = append(indexes, i)
	}
	sort.Ints(indexes)
	for _, i := range indexes {
		c := *a.choices[i]
		if c.FinishReason == nil {
			return nil, errors.New("a choice never finished")
		}
		a.c.Choices = append(a.c.Choices, c)
	}
	return json.Marshal(a.c)
}
