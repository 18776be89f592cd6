package pricing

import "github.com/gatehouse/gatehouse/domain/usage"

// PriceSet sets a tenant's price for a model, over the catalogue's.
type PriceSet struct {
	V           int          `json:"v"`
	Model       string       `json:"model"` // <provider connection>/<model>
	Input       usage.Micros `json:"input_micros_per_mtok"`
	Output      usage.Micros `json:"output_micros_per_mtok"`
	CachedInput usage.Micros `json:"cached_input_micros_per_mtok"`
	CacheWrite  usage.Micros `json:"cache_write_input_micros_per_mtok,omitempty"`
}

func (PriceSet) EventType() string { return "price.set" }
func (PriceSet) EventVersion() int { return 1 }

// Price is the price the event sets.
func (e PriceSet) Price() Price {
	return Price{Input: e.Input, Output: e.Output, CachedInput: e.CachedInput, CacheWriteInput: e.CacheWrite}
}

// PriceMissing notes, once per tenant and model, that a model was called
// with no known price: its requests are recorded as unpriced, not as free.
type PriceMissing struct {
	V     int    `json:"v"`
	Model string `json:"model"`
}

func (PriceMissing) EventType() string { return "price.missing" }
func (PriceMissing) EventVersion() int { return 1 }

// StreamID is the stream of a tenant's prices for one model.
func StreamID(model string) string { return "price:" + model }

// MissingStreamID is the stream whose single event says a model's price was missing.
func MissingStreamID(model string) string { return "price-missing:" + model }
