package bedrock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/bedrock/eventstream"
	"github.com/gatehouse/gatehouse/adapters/providers/golden"
	"github.com/gatehouse/gatehouse/adapters/providers/imagefetch"
	"github.com/gatehouse/gatehouse/app/proxy"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const testModel = "anthropic.claude-3-5-sonnet-20241022-v2:0"

func TestRequests_TranslateToConverse(t *testing.T) {
	for _, in := range golden.Inputs(t, "request", ".in.json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			req, _, _, err := toRequest(golden.Read(t, in))
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
			c, err := toCompletion(golden.Read(t, in), testModel, testNow)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.json")+".out.json", golden.JSON(t, c))
		})
	}
}

// frames encodes a readable transcript, one {"event"|"exception", "payload"}
// object per line, as ConverseStream sends it.
func frames(t testing.TB, jsonl []byte) []byte {
	var out []byte
	sc := bufio.NewScanner(bytes.NewReader(jsonl))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var line struct {
			Event, Exception string
			Payload          json.RawMessage
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("transcript line %q: %v", sc.Text(), err)
		}
		headers := map[string]string{":message-type": "event", ":event-type": line.Event, ":content-type": "application/json"}
		if line.Exception != "" {
			headers = map[string]string{":message-type": "exception", ":exception-type": line.Exception, ":content-type": "application/json"}
		}
		out = append(out, eventstream.Encode(headers, line.Payload)...)
	}
	return out
}

func transcript(body []byte) ([]byte, error) {
	s := newStream(eventstream.NewReader(io.NopCloser(bytes.NewReader(body))), testModel, true, testNow)
	defer s.Close()
	return golden.Transcript(s.Next)
}

func TestStreams_TranslateEventByEvent(t *testing.T) {
	for _, in := range golden.Inputs(t, "stream", ".in.jsonl") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			got, err := transcript(frames(t, golden.Read(t, in)))
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(in, ".in.jsonl")+".out.sse", got)
		})
	}
}

func TestRequests_WithoutAnEquivalentAreRefusedNamingTheField(t *testing.T) {
	cases := map[string]struct{ body, param string }{
		"several answers":   {`{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`, "n"},
		"json mode":         {`{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}`, "response_format"},
		"penalty":           {`{"model":"m","presence_penalty":0.5,"messages":[{"role":"user","content":"hi"}]}`, "presence_penalty"},
		"image by FTP":      {`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "messages[0].content[0].image_url.url"},
		"image of a bmp":    {`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AA=="}}]}]}`, "messages[0].content[0].image_url.url"},
		"audio part":        {`{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]}`, "messages[0].content[0]"},
		"unknown role":      {`{"model":"m","messages":[{"role":"function","content":"x"}]}`, "messages[0].role"},
		"bad arguments":     {`{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{"}}]}]}`, "messages[1].tool_calls[0].function.arguments"},
		"system only":       {`{"model":"m","messages":[{"role":"system","content":"x"}]}`, "messages"},
		"none after a call": {`{"model":"m","tool_choice":"none","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"a","content":"1"}]}`, "tool_choice"},
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
	start := `{"event": "messageStart", "payload": {"role": "assistant"}}` + "\n" +
		`{"event": "contentBlockDelta", "payload": {"contentBlockIndex": 0, "delta": {"text": "Hi"}}}` + "\n"
	whole := frames(t, []byte(start+`{"event": "messageStop", "payload": {"stopReason": "end_turn"}}`))
	for name, body := range map[string][]byte{
		"cut off between events": frames(t, []byte(start)),
		"cut off inside one":     whole[:len(whole)-5],
		"invalid JSON":           frames(t, []byte(start+`{"event": "contentBlockDelta", "payload": "{\"contentBlockIndex\":"}`)),
		"unknown event type":     frames(t, []byte(start+`{"event": "messagePause", "payload": {}}`)),
		"an exception":           frames(t, []byte(start+`{"exception": "throttlingException", "payload": {"message": "Too many tokens, please wait."}}`)),
		"args for no call":       frames(t, []byte(start+`{"event": "contentBlockDelta", "payload": {"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{"}}}}`)),
		"bad checksum":           append(frames(t, []byte(start)), 0, 0, 0, 16, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0),
		"not an event stream":    []byte("data: {\"choices\":[]}\n\n"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := transcript(body)
			var ue *proxy.UpstreamError
			if !errors.As(err, &ue) || ue.Message == "" {
				t.Fatalf("got %v, want an upstream error", err)
			}
		})
	}
}

func TestStreams_AnExceptionKeepsTheUpstreamMessage(t *testing.T) {
	_, err := transcript(frames(t, []byte(`{"event": "messageStart", "payload": {"role": "assistant"}}`+"\n"+
		`{"exception": "throttlingException", "payload": {"message": "Too many tokens, please wait."}}`)))
	var ue *proxy.UpstreamError
	if !errors.As(err, &ue) || ue.Message != "Too many tokens, please wait." || ue.Type != "throttlingException" {
		t.Fatalf("got %#v", err)
	}
}

// FuzzStream feeds arbitrary bytes as an event stream: the translation
// must end with chunks of valid JSON or an error, never panic or hang.
func FuzzStream(f *testing.F) {
	for _, in := range []string{"testdata/stream/text.in.jsonl", "testdata/stream/tool_call.in.jsonl"} {
		f.Add(frames(f, golden.Read(f, in)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := transcript(body)
		if err == nil && !bytes.Contains(body, []byte("messageStop")) {
			t.Fatalf("a stream without messageStop ended cleanly: %q", out)
		}
	})
}

func TestRequests_ImagesByURLAreFetchedAndSentAsBytes(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cat.png":
			w.Write(png) // no Content-Type: sniffed
		case "/page.html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html></html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	body := func(url string) []byte {
		return []byte(`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes?"},` +
			`{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"` + url + `"}}]}]}`)
	}
	req, _, _, err := toRequest(body(srv.URL + "/cat.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fetchImages(context.Background(), imagefetch.NewForTests(), req); err != nil {
		t.Fatal(err)
	}
	img := req.Messages[2].Content[1].Image
	if img.Format != "png" || img.Source.Bytes != base64.StdEncoding.EncodeToString(png) {
		t.Fatalf("image sent as %+v", img)
	}
	for path, want := range map[string]string{"/gone.png": "answered 404", "/page.html": "text/html"} {
		req, _, _, err := toRequest(body(srv.URL + path))
		if err != nil {
			t.Fatal(err)
		}
		err = fetchImages(context.Background(), imagefetch.NewForTests(), req)
		r, ok := proxy.IsRefusal(err)
		if !ok || r.Status != 400 || r.Param != "messages[2].content[1].image_url.url" || !strings.Contains(r.Message, want) {
			t.Fatalf("%s: %v (%+v)", path, err, r)
		}
	}
	// The gateway's own network is out of reach.
	req, _, _, _ = toRequest(body(srv.URL + "/cat.png"))
	if _, ok := proxy.IsRefusal(fetchImages(context.Background(), imagefetch.New(), req)); !ok {
		t.Fatal("an image on loopback was fetched")
	}
}
