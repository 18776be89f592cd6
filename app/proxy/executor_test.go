package proxy

import (
	"testing"
	"time"
)

func TestBackoff_IsFullJitterUnderAnExponentialBound(t *testing.T) {
	for n, bound := range map[int]time.Duration{0: 250 * time.Millisecond, 1: 500 * time.Millisecond, 2: time.Second, 5: 8 * time.Second, 40: 8 * time.Second} {
		var sum time.Duration
		const draws = 2000
		for i := 0; i < draws; i++ {
			d := backoff(n)
			if d < 0 || d > bound {
				t.Fatalf("backoff(%d) = %v, outside [0, %v]", n, d, bound)
			}
			sum += d
		}
		// Full jitter: uniform over the bound, so the mean is about half of it.
		if mean := sum / draws; mean < bound*4/10 || mean > bound*6/10 {
			t.Errorf("backoff(%d) averages %v, want about %v", n, mean, bound/2)
		}
	}
}

func TestRetriesAndFallsBack_OnNoAnswerOrAListedStatus(t *testing.T) {
	on := []int{429, 503}
	for status, want := range map[int]bool{0: true, 429: true, 503: true, 500: false, 400: false} {
		if retries(status, on) != want || fallsBack(status, on) != want {
			t.Errorf("status %d: retries %v, falls back %v, want %v", status, retries(status, on), fallsBack(status, on), want)
		}
	}
	if fallsBack(0, nil) || fallsBack(503, nil) {
		t.Fatal("an attempt outside any fallback fell back")
	}
}
