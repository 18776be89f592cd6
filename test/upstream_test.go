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
	"time"
)

// fakeOpenAI speaks OpenAI's chat completions wire format: the outside
// world, faked. It records what it received.
type fakeOpenAI struct {
	*httptest.Server
	mu       sync.Mutex
	auth     []string
	parents  []string // the traceparent of each chat request
	bodies   []map[string]any
	released chan struct{} // a "hold" request waits for it after its first chunk
}

func newFakeOpenAI(t *testing.T) *fakeOpenAI {
	f := &fakeOpenAI{released: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOpenAI) lastAuth() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.auth[len(f.auth)-1]
}

func (f *fakeOpenAI) lastTraceparent() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parents[len(f.parents)-1]
}

func (f *fakeOpenAI) lastBody() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[len(f.bodies)-1]
}

func (f *fakeOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/embeddings" && r.Header.Get("Authorization") == "Bearer "+upstreamKey {
		var body struct{ Model string }
		json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.25,-0.5]}],"model":%q,"usage":{"prompt_tokens":4,"total_tokens":4}}`, body.Model)
		return
	}
	if (r.URL.Path == "/v1/completions" || r.URL.Path == "/v1/responses") && r.Header.Get("Authorization") == "Bearer "+upstreamKey {
		f.serveMore(w, r)
		return
	}
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	json.Unmarshal(b, &body)
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.parents = append(f.parents, r.Header.Get("traceparent"))
	f.bodies = append(f.bodies, body)
	f.mu.Unlock()

	if r.Header.Get("Authorization") != "Bearer sk-upstream-secret-0123456789" {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":{"message":"Incorrect API key provided: sk-upstr****6789.","type":"invalid_request_error","code":"invalid_api_key","param":null}}`)
		return
	}
	model, _ := body["model"].(string)
	prompt := ""
	if msgs, ok := body["messages"].([]any); ok && len(msgs) > 0 {
		prompt, _ = msgs[len(msgs)-1].(map[string]any)["content"].(string)
	}
	if strings.Contains(prompt, "slow") {
		select {
		case <-time.After(30 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case strings.Contains(prompt, "fail-500"):
		w.WriteHeader(500)
		fmt.Fprint(w, `{"error":{"message":"the model is overloaded","type":"server_error","code":null}}`)
		return
	case strings.Contains(prompt, "fail-400"):
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":{"message":"max_tokens is too large","type":"invalid_request_error","code":"invalid_value","param":"max_tokens"}}`)
		return
	}
	// Completion tokens: max_tokens when the request sets it (so that a test
	// knows a request's cost exactly), a given number for "verbose-N", else 7.
	completion := 7
	if mt, ok := body["max_tokens"].(float64); ok {
		completion = int(mt)
	}
	if _, err := fmt.Sscanf(prompt, "verbose-%d", &completion); err == nil {
		completion = max(completion, 0)
	}
	if stream, _ := body["stream"].(bool); !stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"hi from upstream"},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":11,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":3}}}`, model, completion, 11+completion)
		return
	}
	includeUsage := false
	if so, ok := body["stream_options"].(map[string]any); ok {
		includeUsage, _ = so["include_usage"].(bool)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	usage := func() string {
		if includeUsage {
			return `,"usage":null`
		}
		return ""
	}
	chunk := func(content, finish string) {
		fin := "null"
		if finish != "" {
			fin = fmt.Sprintf("%q", finish)
		}
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":%s}]%s}\n\n", model, content, fin, usage())
		fl.Flush()
	}
	chunk("hello", "")
	if strings.Contains(prompt, "hold") {
		select {
		case <-f.released:
		case <-r.Context().Done():
			return
		}
	}
	if strings.Contains(prompt, "break-mid-stream") {
		panic(http.ErrAbortHandler) // the connection drops mid-answer
	}
	chunk(" world", "")
	chunk("", "stop")
	if includeUsage {
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":%q,\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n", model)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}

// serveMore answers legacy completions and the Responses API, whole or
// streamed, with usage.
func (f *fakeOpenAI) serveMore(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Model         string `json:"model"`
		Stream        bool   `json:"stream"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	b, _ := io.ReadAll(r.Body)
	json.Unmarshal(b, &body)
	f.mu.Lock()
	var raw map[string]any
	json.Unmarshal(b, &raw)
	f.bodies = append(f.bodies, raw)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	responses := r.URL.Path == "/v1/responses"
	if !body.Stream {
		w.Header().Set("Content-Type", "application/json")
		if responses {
			fmt.Fprintf(w, `{"id":"resp_1","object":"response","created_at":1700000000,"status":"completed","model":%q,"output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there","annotations":[]}]}],"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":2},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":12}}`, body.Model)
			return
		}
		fmt.Fprintf(w, `{"id":"cmpl-1","object":"text_completion","created":1700000000,"model":%q,"choices":[{"text":"done","index":0,"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`, body.Model)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	if responses {
		for _, ev := range []string{
			fmt.Sprintf(`{"type":"response.created","sequence_number":0,"response":{"id":"resp_2","object":"response","status":"in_progress","model":%q,"output":[],"usage":null}}`, body.Model),
			`{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}`,
			`{"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":" there"}`,
			fmt.Sprintf(`{"type":"response.completed","sequence_number":3,"response":{"id":"resp_2","object":"response","status":"completed","model":%q,"output":[],"usage":{"input_tokens":8,"output_tokens":2,"total_tokens":10}}}`, body.Model),
		} {
			var typ struct{ Type string }
			json.Unmarshal([]byte(ev), &typ)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ.Type, ev)
			fl.Flush()
		}
		return
	}
	for _, text := range []string{"do", "ne"} {
		fmt.Fprintf(w, "data: {\"id\":\"cmpl-2\",\"object\":\"text_completion\",\"created\":1700000000,\"model\":%q,\"choices\":[{\"text\":%q,\"index\":0,\"finish_reason\":null}]}\n\n", body.Model, text)
		fl.Flush()
	}
	if body.StreamOptions != nil && body.StreamOptions.IncludeUsage {
		fmt.Fprintf(w, "data: {\"id\":\"cmpl-2\",\"object\":\"text_completion\",\"created\":1700000000,\"model\":%q,\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n", body.Model)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}
