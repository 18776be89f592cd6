package gemini

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/golden"
	"github.com/gatehouse/gatehouse/adapters/providers/sse"
	"github.com/gatehouse/gatehouse/app/proxy"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestRequests_TranslateToGenerateContent(t *testing.T) {
	for _, in := range golden.Inputs(t, "request", ".in.json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			req, model, _, err := toRequest(golden.Read(t, in))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(model, "gemini-") {
				t.Fatalf("model %q", model)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.json")+".out.json", golden.JSON(t, req))
		})
	}
}

func TestAnswers_TranslateToChatCompletions(t *testing.T) {
	for _, in := range golden.Inputs(t, "answer", ".in.json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			c, err := toCompletion(golden.Read(t, in), "gemini-2.5-flash", testNow)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.json")+".out.json", golden.JSON(t, c))
		})
	}
}

// transcript runs a recorded stream through the translation and writes
// the chunks as an OpenAI stream carries them.
func transcript(body []byte) ([]byte, error) {
	s := newStream(sse.NewReader(io.NopCloser(bytes.NewReader(body))), "gemini-2.5-flash", true, testNow)
	defer s.Close()
	return golden.Transcript(s.Next)
}

func TestStreams_TranslateChunkByChunk(t *testing.T) {
	for _, in := range golden.Inputs(t, "stream", ".in.sse") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			got, err := transcript(golden.Read(t, in))
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.sse")+".out.sse", got)
		})
	}
}

func TestRequests_WithoutAnEquivalentAreRefusedNamingTheField(t *testing.T) {
	cases := map[string]struct{ body, param string }{
		"logprobs":         {`{"model":"m","logprobs":true,"messages":[{"role":"user","content":"hi"}]}`, "logprobs"},
		"reasoning effort": {`{"model":"m","reasoning_effort":"low","messages":[{"role":"user","content":"hi"}]}`, "reasoning_effort"},
		"schema missing":   {`{"model":"m","response_format":{"type":"json_schema"},"messages":[{"role":"user","content":"hi"}]}`, "response_format.json_schema"},
		"unknown result":   {`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"nope","content":"x"}]}`, "messages[1].tool_call_id"},
		"arguments array":  {`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[1].tool_calls[0].function.arguments"},
		"audio part":       {`{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]}`, "messages[0].content[0]"},
		"only a system":    {`{"model":"m","messages":[{"role":"system","content":"x"}]}`, "messages"},
		"ftp image":        {`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "messages[0].content[0].image_url.url"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := toRequest([]byte(c.body))
			r, ok := proxy.IsRefusal(err)
			if !ok || r.Status != 400 || r.Param != c.param {
				t.Fatalf("got %v (%+v), want a 400 naming %q", err, r, c.param)
			}
		})
	}
}

func TestStreams_ThatBreakEndWithAnUpstreamError(t *testing.T) {
	first := "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"},\"index\":0}]}\r\n\r\n"
	for name, body := range map[string]string{
		"cut before a finish": first,
		"invalid JSON":        first + "data: {\"candidates\": [\r\n\r\n",
		"error chunk":         first + "data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded.\", \"status\": \"UNAVAILABLE\"}}\r\n\r\n",
		"empty body":          "",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := transcript([]byte(body))
			var ue *proxy.UpstreamError
			if !errors.As(err, &ue) || ue.Message == "" {
				t.Fatalf("got %v, want an upstream error", err)
			}
		})
	}
}

// FuzzStream feeds arbitrary bytes as a stream: the translation must end
// with chunks of valid JSON or an error, never panic or hang.
func FuzzStream(f *testing.F) {
	for _, in := range []string{"testdata/stream/text.in.sse", "testdata/stream/function_call.in.sse"} {
		f.Add(golden.Read(f, in))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := transcript(body)
		if err == nil && !bytes.Contains(body, []byte("finishReason")) {
			t.Fatalf("a stream without a finish reason ended cleanly: %q", out)
		}
	})
}
