package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// flakyUpstream is an OpenAI-compatible upstream that fails on demand, by
// the model asked for, so that each target of a routing config can be
// told how to behave:
//
//	ok-<x>              answers "from ok-<x>"
//	status-<code>       answers <code> (with Retry-After: 1 for 429)
//	flaky-<n>-<code>    answers <code> n times, then like ok
//	slow-<ms>           answers after <ms> milliseconds
//	cut-<n>             streams n chunks, then the connection ends
//	silent-<ms>         streams one chunk, then nothing for <ms>
//	half-<x>            sends half its answer's body, then closes the connection
//	empty-<x>           streams nothing but [DONE]
//	leaky-<x>           answers leakyAnswer (streamed 5 bytes a chunk)
//	json-<x>            answers {"answer":"<x>"}
//	tool-<x>            calls a tool with leakyArguments (streamed 5 bytes a chunk)
//
// It counts the calls per model, and the calls its caller gave up on.
type flakyUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	calls  map[string]int
	bodies map[string][]byte // the last request for each model
	gone   map[string]int    // calls whose caller went away before the answer
}

func (f *flakyUpstream) abandoned(model string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gone[model]
}

func (f *flakyUpstream) lastBody(model string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[model]
}

func newFlakyUpstream(t *testing.T) *flakyUpstream {
	f := &flakyUpstream{calls: map[string]int{}, bodies: map[string][]byte{}, gone: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *flakyUpstream) count(model string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[model]
}

func (f *flakyUpstream) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body struct {
		Model     string `json:"model"`
		Stream    bool   `json:"stream"`
		MaxTokens *int   `json:"max_tokens"`
	}
	json.Unmarshal(b, &body)
	f.mu.Lock()
	f.calls[body.Model]++
	f.bodies[body.Model] = b
	n := f.calls[body.Model]
	f.mu.Unlock()
	kind, arg, _ := strings.Cut(body.Model, "-")
	fail := func(code int) {
		if code == 429 {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"message":"failing with %d on purpose","type":"server_error","code":null}}`, code)
	}
	switch kind {
	case "status":
		code, _ := strconv.Atoi(arg)
		fail(code)
		return
	case "flaky":
		times, code, _ := strings.Cut(arg, "-")
		k, _ := strconv.Atoi(times)
		c, _ := strconv.Atoi(code)
		if n <= k {
			fail(c)
			return
		}
	case "slow":
		ms, _ := strconv.Atoi(arg)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			f.mu.Lock()
			f.gone[body.Model]++
			f.mu.Unlock()
			return
		}
	}
	text := "from " + body.Model
	switch kind {
	case "leaky":
		text = leakyAnswer
	case "json":
		text = fmt.Sprintf(`{"answer":%q}`, arg)
	}
	if kind == "half" {
		whole := fmt.Sprintf(`{"id":"c","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}]}`, body.Model, text)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(whole)))
		w.Write([]byte(whole[:len(whole)/2]))
		return // the connection ends with half the promised body
	}
	if kind == "tool" {
		f.callTool(w, body.Model, body.Stream)
		return
	}
	if !body.Stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`, body.Model, text)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(content string) {
		fmt.Fprintf(w, "data: {\"id\":%q,\"object\":\"chat.completion.chunk\",\"created\":%d,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", "chatcmpl-"+body.Model, len(body.Model), body.Model, content)
		w.(http.Flusher).Flush()
	}
	words := strings.Fields(text)
	if kind == "leaky" { // split where it hurts: every 5 bytes, through the e-mail, the card and the key
		words = nil
		for i := 0; i < len(text); i += 5 {
			words = append(words, text[i:min(i+5, len(text))])
		}
	}
	switch kind {
	case "empty":
		fmt.Fprint(w, "data: [DONE]\n\n") // a stream with no answer in it
		return
	case "cut":
		k, _ := strconv.Atoi(arg)
		for i := 0; i < k; i++ {
			chunk(fmt.Sprint("w", i, " "))
		}
		return // the connection ends mid-answer
	case "silent":
		ms, _ := strconv.Atoi(arg)
		chunk(words[0] + " ")
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	for _, word := range words {
		if kind == "leaky" {
			chunk(word)
			continue
		}
		chunk(word + " ")
	}
	id := "chatcmpl-" + body.Model
	fmt.Fprintf(w, "data: {\"id\":%q,\"object\":\"chat.completion.chunk\",\"created\":%d,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", id, len(body.Model), body.Model)
	fmt.Fprintf(w, "data: {\"id\":%q,\"object\":\"chat.completion.chunk\",\"created\":%d,\"model\":%q,\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\ndata: [DONE]\n\n", id, len(body.Model), body.Model)
}

// leakyAnswer is an answer with an e-mail, a card number and an access key.
const leakyAnswer = "Contact jane.doe@example.com, pay with 4111 1111 1111 1111, deploy with AKIAIOSFODNN7EXAMPLE. Done."

// leakyArguments are a tool call's arguments holding leakyAnswer.
const leakyArguments = `{"note":"` + leakyAnswer + `"}`

// callTool answers with a call of the tool "send" with leakyArguments,
// streamed with the arguments split every 5 bytes.
func (f *flakyUpstream) callTool(w http.ResponseWriter, model string, stream bool) {
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":null,`+
			`"tool_calls":[{"id":"call_1","type":"function","function":{"name":"send","arguments":%q}}]},"finish_reason":"tool_calls"}],`+
			`"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`, model, leakyArguments)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(delta, finish string) {
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-t\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":%s}]}\n\n", model, delta, finish)
		w.(http.Flusher).Flush()
	}
	chunk(`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"send","arguments":""}}]}`, "null")
	for i := 0; i < len(leakyArguments); i += 5 {
		piece, _ := json.Marshal(leakyArguments[i:min(i+5, len(leakyArguments))])
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":`+string(piece)+`}}]}`, "null")
	}
	chunk(`{}`, `"tool_calls"`)
	fmt.Fprint(w, "data: [DONE]\n\n")
}
