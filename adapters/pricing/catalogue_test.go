package pricing_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/adapters/pricing"
	"github.com/gatehouse/gatehouse/domain/usage"
)

func TestCatalogue_IsDatedAndPricesEveryProviderKind(t *testing.T) {
	c, err := pricing.Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse("2006-01-02", c.Date); err != nil {
		t.Fatalf("catalogue date %q: %v", c.Date, err)
	}
	for _, m := range [][2]string{
		{"openai", "gpt-4o-mini"}, {"anthropic", "claude-sonnet-4-20250514"}, {"gemini", "gemini-2.5-flash"},
		{"bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0"}, {"cohere", "command-r"}, {"mistral", "mistral-large-latest"},
		{"bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0"}, {"bedrock", "amazon.nova-pro-v1:0"}, {"bedrock", "amazon.titan-embed-text-v2:0"},
		{"groq", "llama-3.3-70b-versatile"}, {"deepseek", "deepseek-chat"}, {"xai", "grok-3"}, {"perplexity", "sonar"},
	} {
		p, ok := c.Lookup(m[0], m[1])
		if !ok || p.Cost(usage.Tokens{Prompt: 1_000_000}) == 0 {
			t.Errorf("%s/%s: no price (%+v)", m[0], m[1], p)
		}
	}
}
