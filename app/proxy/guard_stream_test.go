package proxy_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// TestGuardedStream_EmptyFinishReasonsUsageAndLogprobs: servers that send
// finish_reason "" on every chunk do not end the text's lane (a key split
// across chunks is still caught), a held chunk that carries usage is not
// dropped, and logprobs (the text's tokens) do not pass a guardrail.
func TestGuardedStream_EmptyFinishReasonsUsageAndLogprobs(t *testing.T) {
	f := newFixtureWith(t, newEveryCheck(t))
	f.key.Guardrails = key.Guardrails{Output: []string{"all"}}
	chunk := func(content, finish, extra string) []byte {
		return []byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":` +
			mustJSON(content) + `},"logprobs":{"content":[{"token":` + mustJSON(content) + `}]},"finish_reason":` + finish + `}]` + extra + `}`)
	}
	f.upstream.chunks = [][]byte{
		chunk("the key is AKIAIOSF", `""`, ""),
		chunk("ODNN7EXAMPLE, AKIA", `""`, `,"usage":{"prompt_tokens":24,"completion_tokens":9,"total_tokens":33}`),
		chunk("", `"stop"`, ""),
	}
	ctx := context.Background()
	x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", TraceID: "t",
		Body: []byte(`{"model":"up/gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for {
		c, err := x.Next()
		if err != nil {
			break
		}
		out.Write(c)
	}
	x.Finish(ctx, nil)
	if got := out.String(); strings.Contains(got, "AKIAIOSF") || !strings.Contains(got, "[REDACTED:AWS_ACCESS_KEY]") || strings.Contains(got, `"token"`) {
		t.Fatalf("passed on: %s", got)
	}
	var done usage.RequestCompleted
	for _, e := range f.events {
		if rc, ok := e.Event.(usage.RequestCompleted); ok {
			done = rc
		}
	}
	if done.Tokens.Completion != 9 || done.UsageEstimated {
		t.Fatalf("the usage was lost: %+v", done.Tokens)
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
