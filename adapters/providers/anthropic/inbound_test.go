package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/adapters/providers/golden"
	"github.com/gatehouse/gatehouse/adapters/providers/sse"
	"github.com/gatehouse/gatehouse/app/proxy"
)

func TestInbound_RequestsTranslateToChat(t *testing.T) {
	for _, in := range golden.Inputs(t, "inbound/request", ".in.json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			out, err := Inbound{}.ToChat(golden.Read(t, in))
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.json")+".out.json", golden.Reindent(t, out))
		})
	}
}

func TestInbound_AnswersTranslateToMessages(t *testing.T) {
	for _, in := range golden.Inputs(t, "inbound/answer", ".in.json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			out, err := Inbound{}.FromChat(golden.Read(t, in))
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.json")+".out.json", golden.Reindent(t, out))
		})
	}
}

// chatTranscript runs recorded OpenAI chunks through the translation and
// writes the events as the Messages API's stream carries them.
func chatTranscript(body []byte) ([]byte, error) {
	r := sse.NewReader(io.NopCloser(bytes.NewReader(body)))
	s := Inbound{}.NewStream()
	var out bytes.Buffer
	emit := func(typ string, data []byte) {
		out.WriteString("event: " + typ + "\ndata: ")
		out.Write(data)
		out.WriteString("\n\n")
	}
	for {
		c, err := r.Next()
		if errors.Is(err, io.EOF) {
			s.End(emit)
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
		if err := s.Chunk(c, emit); err != nil {
			return out.Bytes(), err
		}
	}
}

func TestInbound_StreamsTranslateChunkByChunk(t *testing.T) {
	for _, in := range golden.Inputs(t, "inbound/stream", ".in.sse") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			got, err := chatTranscript(golden.Read(t, in))
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.sse")+".out.sse", got)
		})
	}
}

func TestInbound_WhatOnlyAnthropicModelsDoIsRefusedNamingTheField(t *testing.T) {
	cases := map[string]struct{ body, param string }{
		"top_k":         {`{"model":"m","max_tokens":5,"top_k":3,"messages":[{"role":"user","content":"hi"}]}`, "top_k"},
		"thinking":      {`{"model":"m","max_tokens":5000,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"hi"}]}`, "thinking"},
		"server tool":   {`{"model":"m","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"hi"}]}`, "tools[0].type"},
		"document":      {`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]}]}`, "messages[0].content[0]"},
		"bad image":     {`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, "messages[0].content[0].source"},
		"system role":   {`{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}`, "messages[0].role"},
		"tool choice":   {`{"model":"m","max_tokens":5,"tool_choice":{"type":"maybe"},"messages":[{"role":"user","content":"hi"}]}`, "tool_choice.type"},
		"image result":  {`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}]}`, "messages[0].content[0].content[0]"},
		"not an object": {`[1]`, ""},
		"mcp servers":   {`{"model":"m","max_tokens":5,"mcp_servers":[{"type":"url","url":"https://x","name":"x"}],"messages":[{"role":"user","content":"hi"}]}`, "mcp_servers"},
		"service tier":  {`{"model":"m","max_tokens":5,"service_tier":"standard_only","messages":[{"role":"user","content":"hi"}]}`, "service_tier"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Inbound{}.ToChat([]byte(c.body))
			r, ok := proxy.IsRefusal(err)
			if !ok || r.Status != 400 || r.Param != c.param {
				t.Fatalf("got %v (%+v), want a 400 naming %q", err, r, c.param)
			}
		})
	}
}

// FuzzChatStream feeds arbitrary bytes as an OpenAI chunk stream: the
// translation must end, never panic, and every event it writes is JSON.
func FuzzChatStream(f *testing.F) {
	b, err := os.ReadFile("testdata/inbound/stream/tools.in.sse")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":3,\"function\":{\"arguments\":\"x\"}}]}}]}\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, _ := chatTranscript(body)
		for _, line := range bytes.Split(out, []byte("\n")) {
			if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok && !json.Valid(d) {
				t.Fatalf("an event is not JSON: %s", d)
			}
		}
	})
}
