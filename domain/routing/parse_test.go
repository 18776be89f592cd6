package routing_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/domain/routing"
)

// full uses every field a config may hold.
const full = `{
  "strategy": {"mode": "fallback", "on_status_codes": [429, 500, 503]},
  "retry": {"attempts": 3, "on_status_codes": [429, 503], "use_retry_after_header": true},
  "request_timeout": 30000, "first_token_timeout": 5000, "idle_timeout": 10000,
  "cache": {"mode": "simple", "max_age": 3600},
  "circuit_breaker": {"failure_threshold": 5, "cooldown_seconds": 30},
  "on_stream_cut": "continue",
  "targets": [
    {"name": "primary", "provider": "openai", "override_params": {"model": "gpt-4o", "max_tokens": 512}, "weight": 1,
     "retry": {"attempts": 1}, "request_timeout": 10000, "cache": {"mode": "simple"}, "circuit_breaker": {"failure_threshold": 2}},
    {"name": "pool", "strategy": {"mode": "loadbalance"}, "targets": [
      {"provider": "anthropic", "weight": 3, "override_params": {"model": "claude-sonnet-4-20250514"}},
      {"provider": "bedrock", "weight": 1}
    ]},
    {"name": "by-tier", "strategy": {"mode": "conditional",
      "conditions": [
        {"query": {"metadata.tier": {"$eq": "pro"}}, "then": "big"},
        {"query": {"$or": [{"params.max_tokens": {"$gt": 1000}}, {"metadata.region": {"$in": ["eu", "uk"]}}]}, "then": "small"}
      ],
      "default": "small"},
     "targets": [{"name": "big", "provider": "openai"}, {"name": "small", "provider": "groq"}]}
  ]
}`

func TestParse_AcceptsEveryField(t *testing.T) {
	c, err := routing.Parse([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	root := c.Root
	if root.Strategy.Mode != routing.ModeFallback || len(root.Targets) != 3 || root.Retry.Attempts != 3 || !root.Retry.UseRetryAfter ||
		*root.RequestTimeout != 30*time.Second || *root.FirstTokenTimeout != 5*time.Second || *root.IdleTimeout != 10*time.Second ||
		root.Cache.MaxAge != time.Hour || root.CircuitBreaker.Cooldown != 30*time.Second || root.OnStreamCut != routing.StreamCutContinue {
		t.Fatalf("root %+v", root)
	}
	primary := root.Targets[0]
	if primary.Provider != "openai" || primary.OverrideParams["model"] != "gpt-4o" || primary.Cache.MaxAge != routing.DefaultCacheAge ||
		primary.CircuitBreaker.FailureThreshold != 2 || primary.CircuitBreaker.Cooldown != 30*time.Second {
		t.Fatalf("primary %+v", primary)
	}
	if pool := root.Targets[1]; pool.Targets[0].Weight != 3 || pool.Targets[1].Weight != 1 {
		t.Fatalf("pool %+v", pool)
	}
	for _, ok := range []string{
		`{"provider": "openai"}`,
		`{"targets": [{"provider": "openai"}]}`,
		`{"strategy": {"mode": "single"}, "targets": [{"provider": "openai"}]}`,
		`{"strategy": {"mode": "fallback"}, "targets": [{"provider": "a"}, {"strategy": {"mode": "fallback"}, "targets": [{"provider": "b"}, {"provider": "c"}]}]}`,
		`{"strategy": {"mode": "conditional", "conditions": [{"query": {"params.model": "x", "metadata.k": {"$ne": "v", "$regex": "^a.*"}}, "then": "a"}]}, "targets": [{"name": "a", "provider": "p"}]}`,
	} {
		if _, err := routing.Parse([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestParse_RefusesNamingTheFieldByItsPath(t *testing.T) {
	fb := func(target string) string {
		return `{"strategy": {"mode": "fallback"}, "targets": [{"provider": "a"}, ` + target + `]}`
	}
	cond := func(strategy string) string {
		return `{"strategy": ` + strategy + `, "targets": [{"name": "a", "provider": "a"}, {"name": "b", "provider": "b"}]}`
	}
	cases := map[string]struct{ config, path string }{
		"not JSON":                {`{"strategy": `, "not JSON"},
		"two values":              {`{} {}`, "one JSON object"},
		"an array":                {`[]`, "config"},
		"unknown field":           {`{"provider": "a", "virtual_key": "x"}`, "virtual_key"},
		"nothing to call":         {`{}`, "targets"},
		"name at the root":        {`{"name": "x", "provider": "a"}`, "name"},
		"bad provider":            {`{"provider": "Open AI"}`, "provider"},
		"provider and targets":    {`{"provider": "a", "targets": [{"provider": "b"}]}`, "provider"},
		"empty targets":           {`{"strategy": {"mode": "fallback"}, "targets": []}`, "targets"},
		"target not an object":    {fb(`"b"`), "targets[1]"},
		"two targets, no mode":    {`{"targets": [{"provider": "a"}, {"provider": "b"}]}`, "strategy"},
		"unknown mode":            {`{"strategy": {"mode": "random"}, "targets": [{"provider": "a"}]}`, "strategy.mode"},
		"single with two":         {`{"strategy": {"mode": "single"}, "targets": [{"provider": "a"}, {"provider": "b"}]}`, "strategy.mode"},
		"unknown strategy field":  {`{"strategy": {"mode": "fallback", "on_status": [500]}, "targets": [{"provider": "a"}]}`, "strategy.on_status"},
		"status out of range":     {`{"strategy": {"mode": "fallback", "on_status_codes": [200]}, "targets": [{"provider": "a"}]}`, "strategy.on_status_codes[0]"},
		"statuses on loadbalance": {`{"strategy": {"mode": "loadbalance", "on_status_codes": [500]}, "targets": [{"provider": "a"}]}`, "strategy.on_status_codes"},
		"zero weight":             {fb(`{"provider": "b", "weight": 0}`), "targets[1].weight"},
		"weight as a string":      {fb(`{"provider": "b", "weight": "2"}`), "targets[1].weight"},
		"duplicate names":         {`{"strategy": {"mode": "fallback"}, "targets": [{"name": "x", "provider": "a"}, {"name": "x", "provider": "b"}]}`, "targets[1].name"},
		"bad target name":         {fb(`{"name": "a b", "provider": "b"}`), "targets[1].name"},
		"override messages":       {fb(`{"provider": "b", "override_params": {"messages": []}}`), "targets[1].override_params.messages"},
		"override odd name":       {fb(`{"provider": "b", "override_params": {"a\"b": 1}}`), "targets[1].override_params"},
		"override model number":   {fb(`{"provider": "b", "override_params": {"model": 4}}`), "targets[1].override_params.model"},
		"too many retries":        {fb(`{"provider": "b", "retry": {"attempts": 11}}`), "targets[1].retry.attempts"},
		"retry without attempts":  {fb(`{"provider": "b", "retry": {}}`), "targets[1].retry.attempts"},
		"retry unknown field":     {fb(`{"provider": "b", "retry": {"attempts": 1, "backoff": 2}}`), "targets[1].retry.backoff"},
		"retry statuses":          {fb(`{"provider": "b", "retry": {"attempts": 1, "on_status_codes": ["429"]}}`), "targets[1].retry.on_status_codes[0]"},
		"retry-after not bool":    {fb(`{"provider": "b", "retry": {"attempts": 1, "use_retry_after_header": "yes"}}`), "targets[1].retry.use_retry_after_header"},
		"negative timeout":        {fb(`{"provider": "b", "request_timeout": -1}`), "targets[1].request_timeout"},
		"fractional timeout":      {fb(`{"provider": "b", "first_token_timeout": 1.5}`), "targets[1].first_token_timeout"},
		"endless idle":            {fb(`{"provider": "b", "idle_timeout": 600001}`), "targets[1].idle_timeout"},
		"semantic cache":          {fb(`{"provider": "b", "cache": {"mode": "semantic"}}`), "targets[1].cache.mode"},
		"cache age":               {fb(`{"provider": "b", "cache": {"mode": "simple", "max_age": 0}}`), "targets[1].cache.max_age"},
		"breaker threshold":       {fb(`{"provider": "b", "circuit_breaker": {"failure_threshold": 0}}`), "targets[1].circuit_breaker.failure_threshold"},
		"breaker cooldown":        {fb(`{"provider": "b", "circuit_breaker": {"cooldown_seconds": 86401}}`), "targets[1].circuit_breaker.cooldown_seconds"},
		"stream cut":              {fb(`{"provider": "b", "on_stream_cut": "retry"}`), "targets[1].on_stream_cut"},
		"nested error":            {fb(`{"strategy": {"mode": "fallback"}, "targets": [{"provider": "c", "retry": {"attempts": -1}}]}`), "targets[1].targets[0].retry.attempts"},
		"unnamed conditional":     {`{"strategy": {"mode": "conditional", "conditions": [{"query": {"metadata.a": "b"}, "then": "a"}]}, "targets": [{"provider": "a"}]}`, "strategy.mode"},
		"no conditions":           {cond(`{"mode": "conditional", "conditions": []}`), "strategy.conditions"},
		"then names nothing":      {cond(`{"mode": "conditional", "conditions": [{"query": {"metadata.a": "b"}, "then": "c"}]}`), "strategy.conditions[0].then"},
		"default names nothing":   {cond(`{"mode": "conditional", "conditions": [{"query": {"metadata.a": "b"}, "then": "a"}], "default": "z"}`), "strategy.default"},
		"conditions on fallback":  {cond(`{"mode": "fallback", "conditions": [{"query": {"metadata.a": "b"}, "then": "a"}]}`), "strategy.mode"},
		"condition field":         {cond(`{"mode": "conditional", "conditions": [{"query": {"metadata.a": "b"}, "then": "a", "else": "b"}]}`), "strategy.conditions[0].else"},
		"query on the body":       {cond(`{"mode": "conditional", "conditions": [{"query": {"messages": "x"}, "then": "a"}]}`), "strategy.conditions[0].query.messages"},
		"unknown operator":        {cond(`{"mode": "conditional", "conditions": [{"query": {"metadata.a": {"$like": "x"}}, "then": "a"}]}`), "strategy.conditions[0].query.metadata.a.$like"},
		"bad regex":               {cond(`{"mode": "conditional", "conditions": [{"query": {"metadata.a": {"$regex": "("}}, "then": "a"}]}`), "strategy.conditions[0].query.metadata.a.$regex"},
		"$in not an array":        {cond(`{"mode": "conditional", "conditions": [{"query": {"metadata.a": {"$in": "x"}}, "then": "a"}]}`), "strategy.conditions[0].query.metadata.a.$in"},
		"$or empty":               {cond(`{"mode": "conditional", "conditions": [{"query": {"$or": []}, "then": "a"}]}`), "strategy.conditions[0].query.$or"},
		"nested query error":      {cond(`{"mode": "conditional", "conditions": [{"query": {"$and": [{"metadata.a": {"$gt": {}}}]}, "then": "a"}]}`), "strategy.conditions[0].query.$and[0].metadata.a.$gt"},
	}
	deep, path := `{"provider": "a"}`, ""
	for i := 0; i < 10; i++ {
		deep = `{"targets": [` + deep + `]}`
		if i < 9 {
			path += ".targets[0]"
		}
	}
	cases["too deep"] = struct{ config, path string }{deep, path[1:] + ": targets nest deeper"}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := routing.Parse([]byte(c.config))
			if !errors.Is(err, routing.ErrInvalid) || !strings.Contains(err.Error(), c.path) {
				t.Fatalf("got %v, want an ErrInvalid naming %s", err, c.path)
			}
		})
	}
}
