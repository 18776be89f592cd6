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

// fakeGemini speaks the Gemini API's wire format: generateContent and
// streamGenerateContent (alt=sse), the key in x-goog-api-key.
type fakeGemini struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newFakeGemini(t *testing.T) *fakeGemini {
	f := &fakeGemini{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGemini) lastBody() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[len(f.bodies)-1]
}

func googleError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":%q}}`, code, msg, status)
}

func (f *fakeGemini) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("x-goog-api-key") != upstreamKey {
		googleError(w, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1beta/models/")
	model, method, ok2 := strings.Cut(rest, ":")
	if ok && ok2 && method == "batchEmbedContents" {
		var body struct {
			Requests []struct {
				Model string `json:"model"`
			} `json:"requests"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		if len(body.Requests) == 0 || body.Requests[0].Model != "models/"+model {
			googleError(w, 400, "INVALID_ARGUMENT", "each request must name the model")
			return
		}
		vecs := make([]string, len(body.Requests))
		for i := range vecs {
			vecs[i] = `{"values":[1,0,0.5]}`
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"embeddings":[%s]}`, strings.Join(vecs, ","))
		return
	}
	if !ok || !ok2 || (method != "generateContent" && method != "streamGenerateContent") {
		googleError(w, 404, "NOT_FOUND", "no such method "+r.URL.Path)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	if json.Unmarshal(b, &body) != nil {
		googleError(w, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.mu.Unlock()
	_, tools := body["tools"]
	switch {
	case model == "gemini-missing":
		googleError(w, 404, "NOT_FOUND", "models/gemini-missing is not found for API version v1beta")
	case method == "streamGenerateContent":
		if r.URL.Query().Get("alt") != "sse" {
			googleError(w, 400, "INVALID_ARGUMENT", "the gateway must ask for server-sent events")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(data string) { fmt.Fprintf(w, "data: %s\r\n\r\n", data); w.(http.Flusher).Flush() }
		send(fmt.Sprintf(`{"candidates":[{"content":{"parts":[{"text":"Hello"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12},"modelVersion":%q}`, model))
		if model == "gemini-broken" {
			return
		}
		send(fmt.Sprintf(`{"candidates":[{"content":{"parts":[{"text":" from Gemini"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":4,"thoughtsTokenCount":2,"totalTokenCount":18},"modelVersion":%q}`, model))
	case tools:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"location":"Oslo"}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":7,"totalTokenCount":37},"modelVersion":%q}`, model)
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"candidates":[{"content":{"parts":[{"text":"Hei."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":2,"cachedContentTokenCount":4,"totalTokenCount":12},"modelVersion":%q,"responseId":"g-1"}`, model)
	}
}
