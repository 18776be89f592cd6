package usage_test

import (
	"math"
	"testing"

	"github.com/gatehouse/gatehouse/domain/usage"
)

func TestLatency_QuantilesOfMergedHistograms(t *testing.T) {
	var a, b usage.Latency
	for i := 1; i <= 90; i++ {
		a.Add(float64(i)) // 1..90 ms
	}
	for i := 0; i < 10; i++ {
		b.Add(5000) // 5 s
	}
	a.Merge(b)
	p50, p95 := a.Quantile(0.5), a.Quantile(0.95)
	// The estimate is the bucket's upper bound: at or above the true value, by at most half.
	if p50 < 50 || p50 > 75 || p95 < 5000 || p95 > 7500 {
		t.Fatalf("p50 %v p95 %v", p50, p95)
	}
	var empty usage.Latency
	if empty.Quantile(0.5) != 0 {
		t.Fatal("an empty histogram has a median")
	}
	var slow usage.Latency
	slow.Add(1e9)
	if q := slow.Quantile(1); math.IsInf(q, 0) || q < 100000 {
		t.Fatalf("the overflow bucket: %v", q)
	}
}
