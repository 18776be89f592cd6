package test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/option"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver: it keeps the spans it gets.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	o := &otlpReceiver{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(b, &req) != nil {
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		o.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				o.spans = append(o.spans, ss.Spans...)
			}
		}
		o.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(o.Close)
	return o
}

// trace is the spans of one trace, by name.
func (o *otlpReceiver) trace(traceID string) map[string]*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]*tracepb.Span{}
	for _, s := range o.spans {
		if hex.EncodeToString(s.TraceId) == traceID {
			out[s.Name] = s
		}
	}
	return out
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			if v := kv.Value.GetStringValue(); v != "" {
				return v
			}
			return fmt.Sprint(kv.Value.GetIntValue())
		}
	}
	return ""
}

func TestE2E_ASpanPerRequestOverOTLPWithGenAIAttributes(t *testing.T) {
	rcv := newOTLPReceiver(t)
	in := newInstallation(t)
	up := newFakeOpenAI(t)
	s := in.start("OTEL_EXPORTER_OTLP_ENDPOINT="+rcv.URL, "OTEL_BSP_SCHEDULE_DELAY=100")
	admin := in.token("--role", "platform_admin")
	k := s.setupTenant(admin, "acme", "up", up.URL+"/v1", upstreamKey)
	s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/guardrails", admin, map[string]any{"name": "no-secrets", "checks": []any{map[string]any{"type": "secrets"}}}, nil)
	s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+k.ID, admin, map[string]any{"guardrails": map[string]any{"input": []string{"no-secrets"}}}, nil)

	const traceID, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	client := sdk(s, k.Secret)
	eventually(t, 5*time.Second, func() error {
		_, err := client.Chat.Completions.New(context.Background(), chat("up/gpt-4o-mini", "hello"),
			option.WithHeader("traceparent", "00-"+traceID+"-"+parent+"-01"))
		return err
	})
	// The upstream continues the trace.
	if tp := up.lastTraceparent(); !strings.HasPrefix(tp, "00-"+traceID+"-") || strings.Contains(tp, parent) {
		t.Fatalf("the upstream got traceparent %q", tp)
	}
	var spans map[string]*tracepb.Span
	eventually(t, 10*time.Second, func() error {
		spans = rcv.trace(traceID)
		for _, name := range []string{"POST /v1/chat/completions", "gatehouse.authenticate", "gatehouse.policy", "gatehouse.guardrail", "gatehouse.upstream", "gatehouse.event.append"} {
			if spans[name] == nil {
				return fmt.Errorf("no %s span among %d", name, len(spans))
			}
		}
		return nil
	})
	root := spans["POST /v1/chat/completions"]
	if hex.EncodeToString(root.ParentSpanId) != parent || root.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Fatalf("the request's span does not continue the caller's: %x", root.ParentSpanId)
	}
	for key, want := range map[string]string{"gen_ai.system": "openai", "gen_ai.request.model": "up/gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini",
		"gen_ai.usage.input_tokens": "", "gen_ai.usage.output_tokens": ""} {
		if got := attr(root, key); got == "" || (want != "" && got != want) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for _, name := range []string{"gatehouse.authenticate", "gatehouse.policy", "gatehouse.guardrail", "gatehouse.upstream", "gatehouse.event.append"} {
		if string(spans[name].ParentSpanId) != string(root.SpanId) {
			t.Errorf("%s is not a child of the request's span", name)
		}
	}
	if attr(spans["gatehouse.upstream"], "gen_ai.system") != "openai" || attr(spans["gatehouse.guardrail"], "gatehouse.guardrail") != "no-secrets" {
		t.Errorf("child attributes: %v / %v", spans["gatehouse.upstream"].Attributes, spans["gatehouse.guardrail"].Attributes)
	}
	// A stream's output guardrail has its span too, from the stream's start to its verdict.
	s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+k.ID, admin, map[string]any{"guardrails": map[string]any{"output": []string{"no-secrets"}}}, nil)
	const streamTrace = "5bf92f3577b34da6a3ce929d0e0e4737"
	eventually(t, 5*time.Second, func() error {
		st := client.Chat.Completions.NewStreaming(context.Background(), chat("up/gpt-4o-mini", "hello"),
			option.WithHeader("traceparent", "00-"+streamTrace+"-"+parent+"-01"))
		for st.Next() {
		}
		return st.Err()
	})
	eventually(t, 10*time.Second, func() error {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		for _, sp := range rcv.spans {
			if hex.EncodeToString(sp.TraceId) == streamTrace && sp.Name == "gatehouse.guardrail" && attr(sp, "gatehouse.stage") == "output" {
				return nil
			}
		}
		return fmt.Errorf("no output guardrail span")
	})
	// A request without a traceparent is a new trace with gatehouse's trace id.
	var resp *http.Response
	if _, err := client.Chat.Completions.New(context.Background(), chat("up/gpt-4o-mini", "hello"), option.WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	own := resp.Header.Get("x-gatehouse-trace-id")
	eventually(t, 10*time.Second, func() error {
		if rcv.trace(own)["POST /v1/chat/completions"] == nil {
			return fmt.Errorf("no span for trace %s", own)
		}
		return nil
	})
}
