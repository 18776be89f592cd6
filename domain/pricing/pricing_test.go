package pricing_test

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/usage"
)

func TestCost_RoundsUpAndChargesCachedTokensAtTheirRate(t *testing.T) {
	p, err := pricing.FromUSD(2.5, 10, 1.25) // gpt-4o
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tokens usage.Tokens
		want   usage.Micros
	}{
		{usage.Tokens{Prompt: 1_000_000}, 2_500_000},
		{usage.Tokens{Completion: 1_000_000}, 10_000_000},
		{usage.Tokens{Prompt: 1000, Completion: 500}, 2_500 + 5_000},
		{usage.Tokens{Prompt: 1000, CachedPrompt: 400}, 600*2_500/1000 + 400*1_250/1000},
		{usage.Tokens{Prompt: 1}, 3}, // 2.5 micro-dollars, rounded up
		{usage.Tokens{}, 0},
	} {
		if got := p.Cost(c.tokens); got != c.want {
			t.Errorf("Cost(%+v) = %d, want %d", c.tokens, got, c.want)
		}
	}
	noCachedRate, _ := pricing.FromUSD(3, 15, 0)
	if got := noCachedRate.Cost(usage.Tokens{Prompt: 1000, CachedPrompt: 1000}); got != 3_000 {
		t.Fatalf("cached tokens without a cached rate: %d", got)
	}
}

func TestCost_ChargesCacheWritesAtTheirOwnRate(t *testing.T) {
	sonnet, _ := pricing.FromUSD(3, 15, 0.30)
	sonnet, err := sonnet.WithCacheWrite(3.75)
	if err != nil {
		t.Fatal(err)
	}
	// 4,195 prompt tokens: 2,095 plain, 2,000 read from the cache, 100 written to it.
	got := sonnet.Cost(usage.Tokens{Prompt: 4195, Completion: 503, CachedPrompt: 2000, CacheWritePrompt: 100})
	want := usage.Micros((2095*3_000_000 + 2000*300_000 + 100*3_750_000 + 503*15_000_000 + 999_999) / 1_000_000)
	if got != want {
		t.Fatalf("cost %d, want %d", got, want)
	}
	if _, err := sonnet.WithCacheWrite(-1); !errors.Is(err, pricing.ErrInvalid) {
		t.Fatal("a negative cache write price was accepted")
	}
	// Without a write rate, writes cost what other prompt tokens do; more
	// written than the prompt holds is capped, never negative.
	plain, _ := pricing.FromUSD(3, 15, 0)
	if got := plain.Cost(usage.Tokens{Prompt: 1000, CacheWritePrompt: 5000}); got != 3_000 {
		t.Fatalf("cache writes without a rate: %d", got)
	}
}

func TestFromUSD_RefusesNegativeAndAbsurdPrices(t *testing.T) {
	for _, v := range [][3]float64{{-1, 1, 0}, {1, 20_000, 0}, {1, 1, -0.5}} {
		if _, err := pricing.FromUSD(v[0], v[1], v[2]); !errors.Is(err, pricing.ErrInvalid) {
			t.Errorf("%v accepted", v)
		}
	}
}

func TestCatalogue_FindsDatedSnapshotsByTheirBaseName(t *testing.T) {
	mini, _ := pricing.FromUSD(0.15, 0.6, 0.075)
	full, _ := pricing.FromUSD(2.5, 10, 1.25)
	c := pricing.NewCatalogue("2025-08-01", "test", map[string]pricing.Price{"openai/gpt-4o": full, "openai/gpt-4o-mini": mini})
	for model, want := range map[string]pricing.Price{
		"gpt-4o":                 full,
		"gpt-4o-2024-08-06":      full,
		"gpt-4o-mini":            mini,
		"gpt-4o-mini-2024-07-18": mini,
	} {
		if got, ok := c.Lookup("openai", model); !ok || got != want {
			t.Errorf("%s: %+v %v", model, got, ok)
		}
	}
	for _, model := range []string{"gpt-4", "gpt-4omni", "o3"} {
		if _, ok := c.Lookup("openai", model); ok {
			t.Errorf("%s priced", model)
		}
	}
	if _, ok := c.Lookup("anthropic", "gpt-4o"); ok {
		t.Error("a price crossed providers")
	}
}

func TestCost_SaturatesInsteadOfWrapping(t *testing.T) {
	p, _ := pricing.FromUSD(10_000, 10_000, 0)
	got := p.Cost(usage.Tokens{Prompt: 1 << 62, Completion: 1 << 62})
	if got <= 0 || got < p.Cost(usage.Tokens{Prompt: 1 << 40}) {
		t.Fatalf("huge counts cost %d", got)
	}
	if p.Cost(usage.Tokens{Prompt: -5, Completion: -5}) != 0 {
		t.Fatal("negative counts cost something")
	}
}

func TestCatalogue_OnlyDatesAndVersionsExtendAName(t *testing.T) {
	base, _ := pricing.FromUSD(0.5, 1.5, 0)
	c := pricing.NewCatalogue("2025-08-07", "test", map[string]pricing.Price{"openai/gpt-3.5-turbo": base, "openai/o1": base,
		"bedrock/anthropic.claude-3-5-haiku": base})
	for _, m := range []string{"gpt-3.5-turbo-16k", "o1-pro", "o1-mini"} {
		if _, ok := c.Lookup("openai", m); ok {
			t.Errorf("%s took another model's price", m)
		}
	}
	for _, km := range [][3]string{
		{"openai", "gpt-3.5-turbo-0125", "yes"},
		{"openai", "gpt-3.5-turbo-0125x", "no"},
		{"bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", "yes"},
	} {
		if _, ok := c.Lookup(km[0], km[1]); ok != (km[2] == "yes") {
			t.Errorf("%s/%s priced=%v", km[0], km[1], ok)
		}
	}
}
