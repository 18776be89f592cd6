package cohere

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

func TestRequests_TranslateToV2Chat(t *testing.T) {
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
			c, err := toCompletion(golden.Read(t, in), "command-a-03-2025", testNow)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.json")+".out.json", golden.JSON(t, c))
		})
	}
}

func transcript(body []byte) ([]byte, error) {
	s := newStream(sse.NewReader(io.NopCloser(bytes.NewReader(body))), "command-a-03-2025", true, testNow)
	defer s.Close()
	return golden.Transcript(s.Next)
}

func TestStreams_TranslateEventByEvent(t *testing.T) {
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
		"several answers":  {`{"model":"m","n":3,"messages":[{"role":"user","content":"hi"}]}`, "n"},
		"named function":   {`{"model":"m","tool_choice":{"type":"function","function":{"name":"f"}},"messages":[{"role":"user","content":"hi"}]}`, "tool_choice"},
		"audio part":       {`{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]}`, "messages[0].content[0]"},
		"image from model": {`{"model":"m","messages":[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, "messages[0].content[0]"},
		"unknown role":     {`{"model":"m","messages":[{"role":"function","content":"x"}]}`, "messages[0].role"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := toRequest([]byte(c.body))
			r, ok := proxy.IsRefusal(err)
			if !ok || r.Status != 400 || r.Param != c.param {
				t.Fatalf("got %v (%+v), want a 400 naming %q", err, r, c.param)
			}
		})
	}
}

func TestStreams_ThatBreakEndWithAnUpstreamError(t *testing.T) {
	start := "event: message-start\ndata: {\"id\":\"x\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\"}}}\n\n"
	for name, body := range map[string]string{
		"cut off":            start + "data: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"Hi\"}}}}\n\n",
		"invalid JSON":       start + "data: {\"type\":\n\n",
		"unknown event type": start + "data: {\"type\":\"message-pause\"}\n\n",
		"error at the end":   start + "data: {\"type\":\"message-end\",\"delta\":{\"error\":\"internal server error\",\"finish_reason\":\"ERROR\"}}\n\n",
		"delta before start": "data: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"Hi\"}}}}\n\n",
		"args for no call":   start + "data: {\"type\":\"tool-call-delta\",\"index\":2,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":\"{\"}}}}}\n\n",
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

// FuzzStream feeds arbitrary bytes as an event stream: the translation
// must end with chunks of valid JSON or an error, never panic or hang.
func FuzzStream(f *testing.F) {
	for _, in := range []string{"testdata/stream/text.in.sse", "testdata/stream/tool_call.in.sse"} {
		f.Add(golden.Read(f, in))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := transcript(body)
		if err == nil && !bytes.Contains(body, []byte("message-end")) {
			t.Fatalf("a stream without message-end ended cleanly: %q", out)
		}
	})
}
