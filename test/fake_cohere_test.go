package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeCohere speaks Cohere's v2 Chat wire format.
func fakeCohere(t *testing.T) *httptest.Server { return fakeCohereHolding(t, nil) }

// fakeCohereHolding is fakeCohere whose stream for command-held sends its
// first text and then waits for release before the rest.
func fakeCohereHolding(t *testing.T, release <-chan struct{}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/embed" && r.Header.Get("Authorization") == "Bearer "+upstreamKey {
			var body struct {
				Texts     []string `json:"texts"`
				InputType string   `json:"input_type"`
			}
			json.NewDecoder(r.Body).Decode(&body)
			if body.InputType == "" {
				w.WriteHeader(400)
				fmt.Fprint(w, `{"message":"input_type is required"}`)
				return
			}
			vecs := make([]string, len(body.Texts))
			for i := range vecs {
				vecs[i] = "[0.5,0.25,-1]"
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"e-1","embeddings":{"float":[%s]},"texts":[],"meta":{"billed_units":{"input_tokens":%d}}}`, strings.Join(vecs, ","), 3*len(body.Texts))
			return
		}
		if r.URL.Path != "/v2/chat" || r.Header.Get("Authorization") != "Bearer "+upstreamKey {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"message":"invalid api token"}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var body struct {
			Model  string            `json:"model"`
			Stream bool              `json:"stream"`
			Tools  []json.RawMessage `json:"tools"`
		}
		json.Unmarshal(b, &body)
		switch {
		case body.Model == "command-missing":
			w.WriteHeader(404)
			fmt.Fprint(w, `{"message":"model 'command-missing' not found, make sure the correct model ID was used and that you have access to the model."}`)
			return
		case len(body.Tools) > 0 && !body.Stream:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"c-t","finish_reason":"TOOL_CALL","message":{"role":"assistant","tool_plan":"I will look up the weather.","tool_calls":[{"id":"get_weather_x1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Madrid\"}"}}]},"usage":{"billed_units":{"input_tokens":30,"output_tokens":12}}}`)
			return
		}
		if !body.Stream {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"c-1","finish_reason":"COMPLETE","message":{"role":"assistant","content":[{"type":"text","text":"Hola."}]},"usage":{"billed_units":{"input_tokens":6,"output_tokens":2},"tokens":{"input_tokens":200,"output_tokens":2}}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		events := []string{
			`{"id":"c-2","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}`,
			`{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}`,
			`{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"Hola"}}}}`,
			`{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":" mundo"}}}}`,
			`{"type":"content-end","index":0}`,
			`{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":6,"output_tokens":3}}}}`,
		}
		if body.Model == "command-broken" {
			events = events[:3] // the connection ends mid-message
		}
		for i, ev := range events {
			if i == 3 && body.Model == "command-held" && release != nil {
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
			}
			var typ struct{ Type string }
			json.Unmarshal([]byte(ev), &typ)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ.Type, ev)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}
