// Package pricing carries the embedded, dated catalogue of list prices.
package pricing

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse/domain/pricing"
)

//go:embed catalogue.json
var catalogueJSON []byte

type catalogueFile struct {
	Date   string `json:"date"`
	Source string `json:"source"`
	Prices map[string]struct {
		Input       float64 `json:"input"`
		Output      float64 `json:"output"`
		CachedInput float64 `json:"cached_input"`
		CacheWrite  float64 `json:"cache_write_input"`
	} `json:"prices"`
}

// Catalogue reads the embedded catalogue.
func Catalogue() (pricing.Catalogue, error) {
	var f catalogueFile
	if err := json.Unmarshal(catalogueJSON, &f); err != nil {
		return pricing.Catalogue{}, fmt.Errorf("price catalogue: %w", err)
	}
	prices := make(map[string]pricing.Price, len(f.Prices))
	for model, p := range f.Prices {
		if err := pricing.ValidModel(model); err != nil {
			return pricing.Catalogue{}, fmt.Errorf("price catalogue: %s: %w", model, err)
		}
		price, err := pricing.FromUSD(p.Input, p.Output, p.CachedInput)
		if err == nil {
			price, err = price.WithCacheWrite(p.CacheWrite)
		}
		if err != nil {
			return pricing.Catalogue{}, fmt.Errorf("price catalogue: %s: %w", model, err)
		}
		prices[model] = price
	}
	return pricing.NewCatalogue(f.Date, f.Source, prices), nil
}
