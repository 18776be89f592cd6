package proxy

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

type chunkList struct {
	c   []string
	end error
}

func (l *chunkList) Next() ([]byte, error) {
	if len(l.c) == 0 {
		return nil, l.end
	}
	c := l.c[0]
	l.c = l.c[1:]
	return []byte(c), nil
}
func (l *chunkList) Close() error { return nil }

func drain(s ChunkStream) ([]string, error) {
	var out []string
	for {
		b, err := s.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return out, err
		}
		out = append(out, string(b))
	}
}

func TestAssembling_BuildsTheAnswerAStreamGaveAndReplayGivesItBack(t *testing.T) {
	chunks := []string{
		`{"id":"c1","created":7,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
		`{"id":"c1","created":7,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}`,
		`{"id":"c1","created":7,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}`,
		`{"id":"c1","created":7,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\""}}]},"finish_reason":null}]}`,
		`{"id":"c1","created":7,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]},"finish_reason":null}]}`,
		`{"id":"c1","created":7,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"id":"c1","created":7,"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`,
	}
	var whole []byte
	passed, err := drain(newAssembling(&chunkList{c: chunks, end: io.EOF}, func(b []byte) { whole = b }))
	if err != nil || len(passed) != len(chunks) {
		t.Fatalf("passed %d chunks, %v", len(passed), err)
	}
	var c cachedCompletion
	if err := json.Unmarshal(whole, &c); err != nil {
		t.Fatalf("assembled %s: %v", whole, err)
	}
	m := c.Choices[0].Message
	if c.ID != "c1" || *m.Content != "Hello" || m.ToolCalls[0].ID != "call_1" || m.ToolCalls[0].Function.Arguments != `{"a":1}` ||
		*c.Choices[0].FinishReason != "tool_calls" || !strings.Contains(string(c.Usage), `"prompt_tokens":5`) {
		t.Fatalf("assembled %s", whole)
	}
	replayed, err := replay(whole)
	if err != nil {
		t.Fatal(err)
	}
	again := ""
	var rebuilt []byte
	out, _ := drain(newAssembling(replayed, func(b []byte) { rebuilt = b }))
	for _, o := range out {
		again += o
	}
	if string(rebuilt) != string(whole) {
		t.Fatalf("replayed and assembled again:\n%s\nwant\n%s", rebuilt, whole)
	}
}

func TestAssembling_KeepsNothingFromAStreamThatFailedOrSaidNothing(t *testing.T) {
	ok := `{"id":"c","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}`
	for name, s := range map[string]*chunkList{
		"cut":            {c: []string{ok}, end: errors.New("broken")},
		"empty":          {end: io.EOF},
		"error chunk":    {c: []string{ok, `{"error":{"message":"overloaded"}}`}, end: io.EOF},
		"not JSON":       {c: []string{ok, `{"choices":`}, end: io.EOF},
		"never finished": {c: []string{`{"id":"c","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`}, end: io.EOF},
	} {
		kept := false
		drain(newAssembling(s, func([]byte) { kept = true }))
		if kept {
			t.Errorf("%s: an answer was kept", name)
		}
	}
}
