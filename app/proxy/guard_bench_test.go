package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/domain/guardrail"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// everyCheck is a guardrail running every local check.
type everyCheck struct{ g guardrail.Published }

func (e everyCheck) Guardrail(string, string) (guardrail.Published, error) { return e.g, nil }
func (everyCheck) Team(string, uuid.UUID) (tenancy.Team, bool)             { return tenancy.Team{}, false }

func newEveryCheck(tb testing.TB) everyCheck {
	def := `{"checks": [{"type": "pii"}, {"type": "secrets"}, {"type": "prompt_injection"},
	  {"type": "regex", "pattern": "(?i)internal use only"}, {"type": "words", "words": ["darn", "heck", "blast"]},
	  {"type": "length", "max_chars": 100000}], "action": "redact"}`
	g, err := guardrail.Parse([]byte(def), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return everyCheck{g: guardrail.Published{Name: "all", Version: 1, Guardrail: g}}
}

// prompt4K is a 4 KB prompt of ordinary text, nothing in it to find.
var prompt4K = func() []byte {
	text := strings.Repeat("Our customer wrote in about the delivery of order 4711 and the invoice address on file. ", 47)[:4096]
	b, _ := json.Marshal(map[string]any{"model": "up/gpt-4o-mini", "messages": []any{map[string]string{"role": "user", "content": text}}})
	return b
}()

// streamedAnswer is a 400-chunk answer, a word a chunk.
func streamedAnswer() [][]byte {
	var out [][]byte
	for i := 0; i < 400; i++ {
		out = append(out, []byte(fmt.Sprintf(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"word%d "},"finish_reason":null}]}`, i)))
	}
	return append(out,
		[]byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`),
		[]byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":24,"completion_tokens":400,"total_tokens":424}}`))
}

func benchmarkPrompt(b *testing.B, f *fixture) {
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(prompt4K)))
	for b.Loop() {
		x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: prompt4K, TraceID: "t"})
		if err != nil {
			b.Fatal(err)
		}
		x.Finish(ctx, nil)
		f.events = f.events[:0]
	}
}

// benchmarkStream is a streamed call of 400 chunks, read to its end, or
// to its first chunk only (what a guardrail adds to the time to the first
// token).
func benchmarkStream(b *testing.B, f *fixture, firstOnly bool) {
	ctx := context.Background()
	body := []byte(`{"model":"up/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Tell me a long story."}]}`)
	answer := streamedAnswer()
	b.ReportAllocs()
	for b.Loop() {
		f.upstream.chunks = answer
		x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: body, TraceID: "t"})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := x.Next(); err != nil || firstOnly {
				break
			}
		}
		x.Finish(ctx, nil)
		f.events = f.events[:0]
	}
}

func guarded(b *testing.B) *fixture {
	f := newFixtureWith(b, newEveryCheck(b))
	f.key.Guardrails = key.Guardrails{Input: []string{"all"}, Output: []string{"all"}}
	return f
}

// The gateway's own work for a 4 KB prompt, then for a streamed answer of
// 400 chunks (and to its first chunk), without and with a guardrail running every local check on
// input and output (make bench reports them side by side).
func BenchmarkChatCompletions_Prompt4K(b *testing.B)          { benchmarkPrompt(b, newFixture(b)) }
func BenchmarkChatCompletions_Prompt4KGuarded(b *testing.B)   { benchmarkPrompt(b, guarded(b)) }
func BenchmarkChatCompletions_Stream400(b *testing.B)         { benchmarkStream(b, newFixture(b), false) }
func BenchmarkChatCompletions_Stream400Guarded(b *testing.B)  { benchmarkStream(b, guarded(b), false) }
func BenchmarkChatCompletions_FirstChunk(b *testing.B)        { benchmarkStream(b, newFixture(b), true) }
func BenchmarkChatCompletions_FirstChunkGuarded(b *testing.B) { benchmarkStream(b, guarded(b), true) }
