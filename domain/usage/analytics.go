package usage

import "math"

// LatencyBuckets is how many buckets a latency histogram has: bucket i
// counts latencies up to 1.5^i milliseconds (1 ms to about 127 s), the last
// everything longer. Histograms of any rows add up, so percentiles of any
// grouping come from a projection without the requests themselves.
const LatencyBuckets = 31

// Latency is a histogram of request latencies.
type Latency [LatencyBuckets]int64

// bucketOf is the bucket a latency falls in.
func bucketOf(ms float64) int {
	if ms <= 1 {
		return 0
	}
	i := int(math.Ceil(math.Log(ms) / math.Log(1.5)))
	return min(i, LatencyBuckets-1)
}

// Bound is the upper bound of bucket i, in milliseconds (+Inf for the last).
func Bound(i int) float64 {
	if i >= LatencyBuckets-1 {
		return math.Inf(1)
	}
	return math.Pow(1.5, float64(i))
}

// Add counts a latency.
func (h *Latency) Add(ms float64) { h[bucketOf(ms)]++ }

// Merge adds another histogram's counts.
func (h *Latency) Merge(o Latency) {
	for i := range h {
		h[i] += o[i]
	}
}

// Quantile estimates the q-quantile (0 < q ≤ 1) as the upper bound of the
// bucket it falls in (at most 50% above the true value); 0 for no counts,
// and the last finite bound for the overflow bucket.
func (h *Latency) Quantile(q float64) float64 {
	var total int64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, n := range h {
		if seen += n; seen >= rank {
			return Bound(min(i, LatencyBuckets-2))
		}
	}
	return Bound(LatencyBuckets - 2)
}
