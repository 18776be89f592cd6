package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeAnthropic speaks Anthropic's Messages API wire format: it checks the
// headers the API requires and answers text, tool calls, errors, or a
// stream that breaks off, by the request's model.
type fakeAnthropic struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	betas  []string // the anthropic-beta header of each request
}

func (f *fakeAnthropic) lastBeta() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.betas[len(f.betas)-1]
}

func newFakeAnthropic(t *testing.T) *fakeAnthropic {
	f := &fakeAnthropic{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAnthropic) lastBody() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[len(f.bodies)-1]
}

func anthropicError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"error","error":{"type":%q,"message":%q}}`, typ, msg)
}

func (f *fakeAnthropic) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/messages" {
		anthropicError(w, 404, "not_found_error", "no such path "+r.URL.Path)
		return
	}
	if r.Header.Get("x-api-key") != upstreamKey {
		anthropicError(w, 401, "authentication_error", "invalid x-api-key")
		return
	}
	if r.Header.Get("anthropic-version") != "2023-06-01" {
		anthropicError(w, 400, "invalid_request_error", "anthropic-version header is required")
		return
	}
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil || body["max_tokens"] == nil {
		anthropicError(w, 400, "invalid_request_error", "max_tokens: Field required")
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.betas = append(f.betas, strings.Join(r.Header.Values("anthropic-beta"), ","))
	f.mu.Unlock()
	model, _ := body["model"].(string)
	_, tools := body["tools"]
	stream, _ := body["stream"].(bool)
	switch {
	case model == "claude-leaky":
		anthropicError(w, 529, "overloaded_error", "Overloaded (key "+upstreamKey+")")
	case model == "claude-missing":
		anthropicError(w, 404, "not_found_error", "model: claude-missing")
	case stream:
		f.stream(w, model, tools)
	case tools:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"msg_tool","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"location":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":12}}`, model)
	case strings.Contains(fmt.Sprint(body["system"]), "cache-write"):
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"msg_cw","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":"Cached."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":21,"output_tokens":4,"cache_read_input_tokens":9,"cache_creation_input_tokens":100}}`, model)
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"msg_text","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":"Bonjour."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":21,"output_tokens":4,"cache_read_input_tokens":9}}`, model)
	}
}

func (f *fakeAnthropic) stream(w http.ResponseWriter, model string, tools bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(typ, data string) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, data)
		w.(http.Flusher).Flush()
	}
	send("message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_s","type":"message","role":"assistant","model":%q,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":30,"output_tokens":1}}}`, model))
	if model == "claude-leaky-stream" {
		send("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded (key `+upstreamKey+`)"}}`)
		return
	}
	if model == "claude-broken" {
		send("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		send("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Half"}}`)
		return // the connection ends mid-message
	}
	send("ping", `{"type":"ping"}`)
	if tools {
		send("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_9","name":"get_weather","input":{}}}`)
		for _, part := range []string{`{\"location\":`, ` \"Rome\"}`} {
			send("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"`+part+`"}}`)
		}
		send("content_block_stop", `{"type":"content_block_stop","index":0}`)
		send("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":17}}`)
	} else {
		send("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		for _, word := range strings.Fields("Hello from Claude") {
			send("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`+word+` "}}`)
		}
		send("content_block_stop", `{"type":"content_block_stop","index":0}`)
		send("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":6}}`)
	}
	send("message_stop", `{"type":"message_stop"}`)
}
