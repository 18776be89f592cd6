package anthropic

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/golden"
	"github.com/gatehouse/gatehouse/adapters/providers/sse"
	"github.com/gatehouse/gatehouse/app/proxy"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestRequests_TranslateToTheMessagesAPI(t *testing.T) {
	for _, in := range golden.Inputs(t, "request", ".in.json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			req, _, err := toRequest(golden.Read(t, in))
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.json")+".out.json", golden.JSON(t, req))
		})
	}
}

func TestAnswers_TranslateToChatCompletions(t *testing.T) {
	for _, in := range golden.Inputs(t, "answer", ".in.json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			c, err := toCompletion(golden.Read(t, in), testNow)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.json")+".out.json", golden.JSON(t, c))
		})
	}
}

// transcript runs a recorded event stream through the translation and
// writes the chunks as an OpenAI stream would carry them.
func transcript(body []byte, includeUsage bool) ([]byte, error) {
	s := newStream(sse.NewReader(io.NopCloser(bytes.NewReader(body))), includeUsage, testNow)
	defer s.Close()
	return golden.Transcript(s.Next)
}

func TestStreams_TranslateEventByEvent(t *testing.T) {
	for _, in := range golden.Inputs(t, "stream", ".in.sse") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			got, err := transcript(golden.Read(t, in), true)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.sse")+".out.sse", got)
		})
	}
}

func TestRequests_WithoutAnEquivalentAreRefusedNamingTheField(t *testing.T) {
	cases := map[string]struct{ body, param string }{
		"several answers":    {`{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`, "n"},
		"JSON mode":          {`{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}`, "response_format"},
		"logprobs":           {`{"model":"m","logprobs":true,"messages":[{"role":"user","content":"hi"}]}`, "logprobs"},
		"penalty":            {`{"model":"m","presence_penalty":0.5,"messages":[{"role":"user","content":"hi"}]}`, "presence_penalty"},
		"audio part":         {`{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]}`, "messages[0].content[0]"},
		"image not a URL":    {`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}`, "messages[0].content[0].image_url.url"},
		"data URL no b64":    {`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`, "messages[0].content[0].image_url.url"},
		"unknown role":       {`{"model":"m","messages":[{"role":"function","content":"x"}]}`, "messages[0].role"},
		"arguments not JSON": {`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, "messages[1].tool_calls[0].function.arguments"},
		"empty message":      {`{"model":"m","messages":[{"role":"user","content":""}]}`, "messages[0].content"},
		"only a system":      {`{"model":"m","messages":[{"role":"system","content":"be nice"}]}`, "messages"},
		"bad tool choice":    {`{"model":"m","tool_choice":"sometimes","messages":[{"role":"user","content":"hi"}]}`, "tool_choice"},
		"tool without name":  {`{"model":"m","tools":[{"type":"function","function":{}}],"messages":[{"role":"user","content":"hi"}]}`, "tools[0]"},
		"not JSON":           {`{"model":`, ""},
		"content a number":   {`{"model":"m","messages":[{"role":"user","content":42}]}`, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := toRequest([]byte(c.body))
			r, ok := proxy.IsRefusal(err)
			if !ok || r.Status != 400 || r.Code != "invalid_request_error" || r.Param != c.param {
				t.Fatalf("got %v (%+v), want a 400 naming %q", err, r, c.param)
			}
		})
	}
}

func TestStreams_ThatBreakEndWithAnUpstreamError(t *testing.T) {
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
	cases := map[string]string{
		"cut off":             start + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
		"invalid JSON":        start + "data: {\"type\":\"content_block_delta\",\n\n",
		"unknown event type":  start + "data: {\"type\":\"message_pause\"}\n\n",
		"error event":         start + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
		"delta before start":  "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
		"tool input for text": start + "data: {\"type\":\"content_block_delta\",\"index\":4,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}\n\n",
		"empty body":          "",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := transcript([]byte(body), true)
			var ue *proxy.UpstreamError
			if !errors.As(err, &ue) || ue.Message == "" {
				t.Fatalf("got %v, want an upstream error", err)
			}
			if name == "error event" && (ue.Type != "overloaded_error" || ue.Message != "Overloaded") {
				t.Fatalf("error event became %+v", ue)
			}
		})
	}
}

// FuzzStream feeds arbitrary bytes as an event stream: the translation
// must end (with chunks of valid JSON, or an error), never panic or hang.
func FuzzStream(f *testing.F) {
	for _, in := range []string{"testdata/stream/text.in.sse", "testdata/stream/tool_use.in.sse"} {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("data: {\"type\":\"message_start\"}\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := transcript(body, true)
		if err == nil && !bytes.Contains(body, []byte("message_stop")) {
			t.Fatalf("a stream without message_stop ended cleanly: %q", out)
		}
	})
}
