package routing_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/domain/routing"
)

func mustParse(t *testing.T, s string) routing.Config {
	t.Helper()
	c, err := routing.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func lookup(fields map[string]any) routing.Lookup {
	return func(f string) (any, bool) { v, ok := fields[f]; return v, ok }
}

func targets(p routing.Plan) []string {
	var out []string
	for _, a := range p.Attempts {
		out = append(out, a.Target+"="+a.Provider+"/"+a.Model)
	}
	return out
}

func TestPlan_FallbackListsEveryTargetInOrderWithInheritedSettings(t *testing.T) {
	c := mustParse(t, full)
	p, err := c.Plan(routing.Request{Model: "openai/gpt-4o-mini", Lookup: lookup(map[string]any{"metadata.tier": "pro"})}, func() float64 { return 0.1 }, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := targets(p)
	want := []string{"primary=openai/gpt-4o", "pool/targets[0]=anthropic/claude-sonnet-4-20250514", "by-tier/big=openai/gpt-4o-mini"}
	if len(got) != len(want) {
		t.Fatalf("attempts %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("attempts %v, want %v", got, want)
		}
	}
	primary, pooled := p.Attempts[0], p.Attempts[1]
	// The target's own settings win; the rest comes from the root.
	if primary.Retry.Attempts != 1 || primary.RequestTimeout != 10*time.Second || primary.FirstTokenTimeout != 5*time.Second ||
		primary.Breaker.FailureThreshold != 2 || primary.OnStreamCut != routing.StreamCutContinue {
		t.Fatalf("primary %+v", primary)
	}
	if pooled.Retry.Attempts != 3 || pooled.RequestTimeout != 30*time.Second || pooled.Breaker.FailureThreshold != 5 ||
		pooled.Cache.MaxAge != time.Hour || len(pooled.FallbackOn) != 3 || pooled.FallbackOn[2] != 503 {
		t.Fatalf("pooled %+v", pooled)
	}
	if primary.Override["max_tokens"] == nil || pooled.Override["max_tokens"] != nil {
		t.Fatalf("overrides %v %v", primary.Override, pooled.Override)
	}
}

func TestPlan_LoadbalanceFollowsTheWeights(t *testing.T) {
	c := mustParse(t, `{"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "a", "weight": 3}, {"provider": "b", "weight": 1}]}`)
	rnd := rand.New(rand.NewPCG(1, 2))
	hits := map[string]int{}
	for i := 0; i < 1000; i++ {
		p, err := c.Plan(routing.Request{Model: "m"}, rnd.Float64, nil)
		if err != nil || len(p.Attempts) != 1 {
			t.Fatalf("%+v %v", p, err)
		}
		hits[p.Attempts[0].Provider]++
	}
	if share := float64(hits["a"]) / 1000; share < 0.70 || share > 0.80 {
		t.Fatalf("3:1 sent %.1f%% to a", 100*share)
	}
	// A loadbalanced target outside any fallback has no fallback.
	p, _ := c.Plan(routing.Request{Model: "m"}, rnd.Float64, nil)
	if p.Attempts[0].FallbackOn != nil {
		t.Fatalf("fallback statuses outside a fallback: %v", p.Attempts[0].FallbackOn)
	}
}

func TestPlan_SkipsTargetsWhoseCircuitIsOpen(t *testing.T) {
	open := func(a routing.Attempt) bool { return a.Provider == "a" }
	lb := mustParse(t, `{"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "a", "weight": 1000}, {"provider": "b", "weight": 1}]}`)
	p, err := lb.Plan(routing.Request{Model: "m"}, func() float64 { return 0 }, open)
	if err != nil || len(p.Attempts) != 1 || p.Attempts[0].Provider != "b" || len(p.Skipped) != 1 {
		t.Fatalf("%+v %v", p, err)
	}
	fb := mustParse(t, `{"strategy": {"mode": "fallback"}, "targets": [{"provider": "a"}, {"provider": "b"}]}`)
	p, _ = fb.Plan(routing.Request{Model: "m"}, nil, open)
	if got := targets(p); len(got) != 1 || got[0] != "targets[1]=b/m" {
		t.Fatalf("fallback %v", got)
	}
	all := func(routing.Attempt) bool { return true }
	p, err = fb.Plan(routing.Request{Model: "m"}, nil, all)
	if err != nil || len(p.Attempts) != 0 || len(p.Skipped) != 2 {
		t.Fatalf("all open: %+v %v", p, err)
	}
}

func TestPlan_ConditionalMatchesMetadataAndParameters(t *testing.T) {
	c := mustParse(t, `{"strategy": {"mode": "conditional", "conditions": [
	  {"query": {"metadata.tier": {"$in": ["pro", "enterprise"]}, "params.stream": true}, "then": "fast"},
	  {"query": {"$or": [{"params.max_tokens": {"$gte": 4000}}, {"metadata.region": {"$regex": "^eu-"}}]}, "then": "big"},
	  {"query": {"$and": [{"metadata.tier": {"$ne": "free"}}, {"params.temperature": {"$lt": 0.5}}]}, "then": "exact"},
	  {"query": {"metadata.tier": {"$nin": ["free", "pro"]}, "params.model": {"$eq": "m"}}, "then": "other"}
	], "default": "cheap"}, "targets": [
	  {"name": "fast", "provider": "f"}, {"name": "big", "provider": "b"}, {"name": "exact", "provider": "e"},
	  {"name": "other", "provider": "o"}, {"name": "cheap", "provider": "c"}]}`)
	for want, fields := range map[string]map[string]any{
		"f": {"metadata.tier": "pro", "params.stream": true},
		"b": {"metadata.tier": "pro", "params.max_tokens": 8000.0},
		"e": {"metadata.tier": "pro", "params.temperature": 0.2},
		"o": {"metadata.tier": "team", "params.model": "m", "params.temperature": 0.9},
		"c": {"metadata.tier": "free", "params.temperature": 0.1},
	} {
		p, err := c.Plan(routing.Request{Model: "m", Lookup: lookup(fields)}, nil, nil)
		if err != nil || len(p.Attempts) != 1 || p.Attempts[0].Provider != want {
			t.Errorf("%v: %+v %v, want %s", fields, p.Attempts, err, want)
		}
	}
	if p, _ := c.Plan(routing.Request{Model: "m", Lookup: lookup(map[string]any{"metadata.region": "eu-west"})}, nil, nil); p.Attempts[0].Provider != "b" {
		t.Errorf("regex: %+v", p.Attempts)
	}
	// Metadata values are strings: a number compares with them as a number.
	n := mustParse(t, `{"strategy": {"mode": "conditional", "conditions": [{"query": {"metadata.priority": {"$gt": 5}}, "then": "hi"}]},
	  "targets": [{"name": "hi", "provider": "h"}]}`)
	if p, err := n.Plan(routing.Request{Lookup: lookup(map[string]any{"metadata.priority": "10"})}, nil, nil); err != nil || p.Attempts[0].Provider != "h" {
		t.Errorf("numeric metadata: %+v %v", p, err)
	}
	if _, err := n.Plan(routing.Request{Lookup: lookup(map[string]any{"metadata.priority": "1"})}, nil, nil); !errors.Is(err, routing.ErrNoMatch) {
		t.Errorf("no match and no default: %v", err)
	}
}

func TestPlan_NestedFallbackInsideLoadbalance(t *testing.T) {
	c := mustParse(t, `{"strategy": {"mode": "loadbalance"}, "targets": [
	  {"name": "east", "weight": 1, "strategy": {"mode": "fallback", "on_status_codes": [503]}, "targets": [{"provider": "e1"}, {"provider": "e2"}]},
	  {"name": "west", "weight": 1, "strategy": {"mode": "fallback"}, "targets": [{"provider": "w1"}, {"provider": "w2"}]}]}`)
	p, err := c.Plan(routing.Request{Model: "m"}, func() float64 { return 0.9 }, nil)
	if got := targets(p); err != nil || len(got) != 2 || got[0] != "west/targets[0]=w1/m" || got[1] != "west/targets[1]=w2/m" {
		t.Fatalf("%v %v", got, err)
	}
	p, _ = c.Plan(routing.Request{Model: "m"}, func() float64 { return 0.1 }, nil)
	if len(p.Attempts[0].FallbackOn) != 1 || p.Attempts[0].FallbackOn[0] != 503 {
		t.Fatalf("east falls back on %v", p.Attempts[0].FallbackOn)
	}
}
