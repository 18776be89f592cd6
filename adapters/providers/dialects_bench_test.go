package providers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/anthropic"
	"github.com/gatehouse/gatehouse/adapters/providers/bedrock"
	"github.com/gatehouse/gatehouse/adapters/providers/bedrock/eventstream"
	"github.com/gatehouse/gatehouse/adapters/providers/cohere"
	"github.com/gatehouse/gatehouse/adapters/providers/gemini"
	"github.com/gatehouse/gatehouse/adapters/providers/imagefetch"
	"github.com/gatehouse/gatehouse/adapters/providers/openai"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// The benchmarks below send one OpenAI chat request through each kind's
// client to a canned upstream in memory (no network): the same-dialect
// kind passes the body through, the others translate the request, the
// answer and every streamed event. The answers carry the same text and
// usage in each provider's own wire format.

// benchRequest is a multi-turn request with a system prompt, a tool and
// a tool result: what an agent sends on its second turn (about 2 KB).
var benchRequest = func() []byte {
	long := strings.Repeat("The customer asked about the delivery window and the invoice address. ", 12)
	r := map[string]any{
		"model":       "m",
		"max_tokens":  512,
		"temperature": 0.2,
		"messages": []any{
			map[string]any{"role": "system", "content": "You are a support agent for an online shop. " + long},
			map[string]any{"role": "user", "content": "Where is my order 4711?"},
			map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"id": "call_1", "type": "function",
				"function": map[string]any{"name": "order_status", "arguments": `{"order_id":"4711"}`}}}},
			map[string]any{"role": "tool", "tool_call_id": "call_1", "content": `{"status":"shipped","carrier":"DHL","eta":"2026-11-27"}`},
		},
		"tools": []any{map[string]any{"type": "function", "function": map[string]any{"name": "order_status", "description": "Looks up an order",
			"parameters": map[string]any{"type": "object", "properties": map[string]any{"order_id": map[string]any{"type": "string"}}, "required": []string{"order_id"}}}}},
	}
	b, _ := json.Marshal(r)
	return b
}()

// The answer's text, streamed as these pieces.
var benchPieces = strings.SplitAfter("Your order 4711 was shipped with DHL and should arrive on 27 November. You can follow it with the tracking link in your confirmation e-mail. Is there anything else I can help with?", " ")

type canned struct {
	answer, stream []byte
	contentType    string
}

func sse(events ...string) []byte {
	var b bytes.Buffer
	for _, e := range events {
		if name, data, ok := strings.Cut(e, "\x00"); ok {
			fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", name, data)
			continue
		}
		fmt.Fprintf(&b, "data: %s\n\n", e)
	}
	return b.Bytes()
}

func quoted(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var text = quoted(strings.Join(benchPieces, ""))

func openAIUpstream() canned {
	events := []string{}
	for _, p := range benchPieces {
		events = append(events, `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":`+quoted(p)+`},"finish_reason":null}]}`)
	}
	events = append(events, `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":410,"completion_tokens":38,"total_tokens":448}}`, "[DONE]")
	return canned{contentType: "text/event-stream", stream: sse(events...),
		answer: []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":` + text +
			`,"refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":410,"completion_tokens":38,"total_tokens":448}}`)}
}

func anthropicUpstream() canned {
	events := []string{"message_start\x00" + `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","stop_reason":null,"usage":{"input_tokens":410,"output_tokens":1}}}`,
		"content_block_start\x00" + `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`}
	for _, p := range benchPieces {
		events = append(events, "content_block_delta\x00"+`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+quoted(p)+`}}`)
	}
	events = append(events, "content_block_stop\x00"+`{"type":"content_block_stop","index":0}`,
		"message_delta\x00"+`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":38}}`,
		"message_stop\x00"+`{"type":"message_stop"}`)
	return canned{contentType: "text/event-stream", stream: sse(events...),
		answer: []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":` + text +
			`}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":410,"output_tokens":38}}`)}
}

func geminiUpstream() canned {
	var events []string
	for i, p := range benchPieces {
		finish := ""
		if i == len(benchPieces)-1 {
			finish = `"finishReason":"STOP",`
		}
		events = append(events, `{"candidates":[{"content":{"parts":[{"text":`+quoted(p)+`}],"role":"model"},`+finish+`"index":0}],"usageMetadata":{"promptTokenCount":410,"candidatesTokenCount":`+fmt.Sprint(i+1)+`,"totalTokenCount":`+fmt.Sprint(411+i)+`},"modelVersion":"m","responseId":"r"}`)
	}
	return canned{contentType: "text/event-stream", stream: sse(events...),
		answer: []byte(`{"candidates":[{"content":{"parts":[{"text":` + text + `}],"role":"model"},"finishReason":"STOP","index":0}],` +
			`"usageMetadata":{"promptTokenCount":410,"candidatesTokenCount":38,"totalTokenCount":448},"modelVersion":"m","responseId":"r"}`)}
}

func cohereUpstream() canned {
	events := []string{"message-start\x00" + `{"id":"c","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}`,
		"content-start\x00" + `{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}`}
	for _, p := range benchPieces {
		events = append(events, "content-delta\x00"+`{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":`+quoted(p)+`}}}}`)
	}
	events = append(events, "content-end\x00"+`{"type":"content-end","index":0}`,
		"message-end\x00"+`{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":410,"output_tokens":38}}}}`)
	return canned{contentType: "text/event-stream", stream: sse(events...),
		answer: []byte(`{"id":"c","finish_reason":"COMPLETE","message":{"role":"assistant","content":[{"type":"text","text":` + text +
			`}]},"usage":{"billed_units":{"input_tokens":410,"output_tokens":38},"tokens":{"input_tokens":410,"output_tokens":38}}}`)}
}

func bedrockUpstream() canned {
	var stream []byte
	frame := func(typ, payload string) {
		stream = append(stream, eventstream.Encode(map[string]string{":message-type": "event", ":event-type": typ, ":content-type": "application/json"}, []byte(payload))...)
	}
	frame("messageStart", `{"role":"assistant"}`)
	for _, p := range benchPieces {
		frame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":`+quoted(p)+`}}`)
	}
	frame("contentBlockStop", `{"contentBlockIndex":0}`)
	frame("messageStop", `{"stopReason":"end_turn"}`)
	frame("metadata", `{"usage":{"inputTokens":410,"outputTokens":38,"totalTokens":448},"metrics":{"latencyMs":300}}`)
	return canned{contentType: "application/vnd.amazon.eventstream", stream: stream,
		answer: []byte(`{"output":{"message":{"role":"assistant","content":[{"text":` + text + `}]}},"stopReason":"end_turn",` +
			`"usage":{"inputTokens":410,"outputTokens":38,"totalTokens":448},"metrics":{"latencyMs":300}}`)}
}

// transport answers every request at once from memory, after reading the
// request body as a server would.
type transport struct{ c canned }

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	stream := bytes.Contains(body, []byte(`"stream":true`)) || strings.Contains(r.URL.Path, "stream") || strings.HasSuffix(r.URL.Path, "-stream")
	b, ct := t.c.answer, "application/json"
	if stream {
		b, ct = t.c.stream, t.c.contentType
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {ct}}, Body: io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)), Request: r}, nil
}

func BenchmarkDialects(b *testing.B) {
	now := func() time.Time { return time.Unix(1_795_608_000, 0) }
	client := func(c canned) *http.Client { return &http.Client{Transport: transport{c}} }
	kinds := []struct {
		name string
		up   proxy.Upstream
	}{
		{"openai (pass-through)", openai.New("https://up/v1", "k", client(openAIUpstream()))},
		{"anthropic (translated)", anthropic.New("https://up", "k", client(anthropicUpstream()), now)},
		{"gemini (translated)", gemini.New("https://up/v1beta", "k", client(geminiUpstream()), now)},
		{"cohere (translated)", cohere.New("https://up", "k", client(cohereUpstream()), now)},
		{"bedrock (translated)", bedrock.New("https://up", "us-east-1", bedrock.Credentials{AccessKeyID: "AKID", SecretAccessKey: "s"}, client(bedrockUpstream()), imagefetch.New(), now)},
	}
	streamBody := bytes.Replace(benchRequest, []byte(`{`), []byte(`{"stream":true,"stream_options":{"include_usage":true},`), 1)
	ctx := context.Background()
	for _, k := range kinds {
		b.Run(k.name+"/answer", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(benchRequest)))
			for b.Loop() {
				resp, err := k.up.ChatCompletion(ctx, benchRequest)
				if err != nil || resp.Status != 200 || !bytes.Contains(resp.Body, []byte("27 November")) {
					b.Fatalf("%s: %v %s", k.name, err, resp.Body)
				}
			}
		})
		b.Run(k.name+"/stream", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(streamBody)))
			for b.Loop() {
				s, err := k.up.ChatCompletionStream(ctx, streamBody)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					if _, err := s.Next(); err != nil {
						if !errors.Is(err, io.EOF) {
							b.Fatalf("%s: %v", k.name, err)
						}
						break
					}
					n++
				}
				s.Close()
				if n < len(benchPieces) {
					b.Fatalf("%s: %d chunks", k.name, n)
				}
			}
		})
	}
}
