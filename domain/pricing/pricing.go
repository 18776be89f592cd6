// Package pricing says what a request costs: list prices from a dated
// catalogue, a tenant's own prices on top, and the arithmetic, in integer
// micro-dollars.
package pricing

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/domain/usage"
)

// Price is a model's price in micro-dollars per million tokens.
type Price struct {
	Input       usage.Micros // per million prompt tokens
	Output      usage.Micros // per million completion tokens
	CachedInput usage.Micros // per million prompt tokens served from the provider's cache
	// CacheWriteInput is per million prompt tokens written to the
	// provider's cache; zero charges them as other prompt tokens.
	CacheWriteInput usage.Micros
}

// Cost prices token counts, rounding up to the micro-dollar: gatehouse
// never under-counts. Cached tokens, read from or written to the cache,
// are part of the prompt count (OpenAI's convention) and are charged at
// their own rates when there are some.
func (p Price) Cost(t usage.Tokens) usage.Micros {
	prompt, completion := max(t.Prompt, 0), max(t.Completion, 0)
	cached := min(max(t.CachedPrompt, 0), prompt)
	written := min(max(t.CacheWritePrompt, 0), prompt-cached)
	cachedRate, writeRate := p.CachedInput, p.CacheWriteInput
	if cachedRate == 0 {
		cachedRate = p.Input
	}
	if writeRate == 0 {
		writeRate = p.Input
	}
	// Token counts and prices are bounded, but a count from outside could
	// be absurd: the arithmetic saturates rather than wraps, so a cost is
	// never negative and never smaller than it should be.
	micro := addSat(addSat(addSat(mulSat(prompt-cached-written, int64(p.Input)), mulSat(cached, int64(cachedRate))),
		mulSat(written, int64(writeRate))), mulSat(completion, int64(p.Output)))
	if micro > math.MaxInt64-999_999 {
		return usage.Micros(math.MaxInt64 / 1_000_000)
	}
	return usage.Micros((micro + 999_999) / 1_000_000)
}

func mulSat(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// ModelPrice is a tenant's own price for a model.
type ModelPrice struct {
	Model string
	Price Price
	SetAt time.Time
}

// ErrInvalid is a price that input got wrong.
var ErrInvalid = errors.New("invalid price")

// maxPerMTok bounds a price: $10,000 per million tokens.
const maxPerMTok = 10_000

func perMTok(name string, v float64) (usage.Micros, error) {
	if math.IsNaN(v) || v < 0 || v > maxPerMTok {
		return 0, fmt.Errorf("%w: %s must be between 0 and %d dollars per million tokens", ErrInvalid, name, maxPerMTok)
	}
	return usage.Micros(math.Round(v * 1e6)), nil
}

// WithCacheWrite sets the price, in dollars per million tokens, of prompt
// tokens written to the provider's cache.
func (p Price) WithCacheWrite(usd float64) (Price, error) {
	w, err := perMTok("cache_write_input_usd_per_mtok", usd)
	p.CacheWriteInput = w
	return p, err
}

// FromUSD converts dollars per million tokens to a Price, checking bounds.
func FromUSD(input, output, cachedInput float64) (Price, error) {
	conv := perMTok
	in, err1 := conv("input_usd_per_mtok", input)
	out, err2 := conv("output_usd_per_mtok", output)
	cached, err3 := conv("cached_input_usd_per_mtok", cachedInput)
	return Price{Input: in, Output: out, CachedInput: cached}, errors.Join(err1, err2, err3)
}

// Catalogue is the dated list of providers' list prices, keyed by provider
// kind and model ("openai/gpt-4o-mini").
type Catalogue struct {
	Date   string // when the prices were taken from the providers' pages
	Source string
	prices map[string]Price
}

// NewCatalogue builds a catalogue.
func NewCatalogue(date, source string, prices map[string]Price) Catalogue {
	return Catalogue{Date: date, Source: source, prices: prices}
}

// Len is how many models the catalogue prices.
func (c Catalogue) Len() int { return len(c.prices) }

// Models lists the models the catalogue prices for a provider kind, by
// name, sorted.
func (c Catalogue) Models(kind string) []string {
	var out []string
	for name := range c.prices {
		if m, ok := strings.CutPrefix(name, kind+"/"); ok {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// snapshotSuffix is what a dated snapshot or a version adds to a model's
// name: -2024-07-18, -20250514, @20241022, -0125, -v1:0. Other suffixes
// (-16k, -pro, -deep-research) name other models, often at other prices.
var snapshotSuffix = regexp.MustCompile(`^([-@](\d{4}-\d{2}-\d{2}|\d{8})|-\d{4}$|-v\d)`)

var (
	bedrockRegionPrefix = regexp.MustCompile(`^(us|us-gov|eu|apac|jp|au|ca|global)\.`)
	bedrockVersion      = regexp.MustCompile(`:\d+$`)
)

// Lookup finds a model's list price: its exact name, else the longest
// catalogued name it extends with a snapshot date or a version
// (gpt-4o-mini-2024-07-18 takes gpt-4o-mini's price). A Bedrock model id
// is looked up without its cross-region inference prefix (us., eu., …) and
// its version (:0), which name the same model at the same list price.
func (c Catalogue) Lookup(kind, model string) (Price, bool) {
	if kind == "bedrock" {
		model = bedrockVersion.ReplaceAllString(bedrockRegionPrefix.ReplaceAllString(model, ""), "")
	}
	name := kind + "/" + model
	if p, ok := c.prices[name]; ok {
		return p, true
	}
	for i := len(name) - 1; i > len(kind)+1; i-- {
		if (name[i] == '-' || name[i] == '@') && snapshotSuffix.MatchString(name[i:]) {
			if p, ok := c.prices[name[:i]]; ok {
				return p, true
			}
		}
	}
	return Price{}, false
}

// ValidModel checks a "<provider>/<model>" name given for a price.
func ValidModel(model string) error {
	i := strings.IndexByte(model, '/')
	if i <= 0 || i == len(model)-1 || len(model) > 300 || strings.ContainsAny(model, "*? ") {
		return fmt.Errorf("%w: model must be <provider>/<model>, without wildcards", ErrInvalid)
	}
	return nil
}
