package routing_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/domain/routing"
)

func TestCircuit_OpensAfterTheThresholdAndOneTrialDecides(t *testing.T) {
	b := routing.Breaker{FailureThreshold: 3, Cooldown: 30 * time.Second}
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var c routing.Circuit
	allow := func(at time.Time) (bool, bool) { return c.Allow(b, at) }
	for i := 0; i < 2; i++ {
		if ok, _ := allow(t0); !ok {
			t.Fatal("a closed circuit refused a call")
		}
		c.Report(b, true, false, t0)
	}
	c.Report(b, false, false, t0) // a success resets the count
	for i := 0; i < 3; i++ {
		allow(t0)
		c.Report(b, true, false, t0)
	}
	if ok, _ := allow(t0.Add(29 * time.Second)); c.State != routing.CircuitOpen || !c.Open(b, t0.Add(29*time.Second)) || ok {
		t.Fatalf("after 3 failures: %+v", c)
	}
	after := t0.Add(30 * time.Second)
	if c.Open(b, after) {
		t.Fatalf("the cooldown ended: %+v", c)
	}
	if ok, trial := allow(after); !ok || !trial || c.State != routing.CircuitHalfOpen {
		t.Fatalf("the trial: %+v", c)
	}
	if ok, _ := allow(after); !c.Open(b, after) || ok {
		t.Fatal("a second call went through while the trial was in flight")
	}
	// A call let in before the circuit opened, ending now, decides nothing.
	c.Report(b, false, false, after)
	c.Abandon(false)
	if c.State != routing.CircuitHalfOpen || !c.Open(b, after) {
		t.Fatalf("a stale outcome moved the circuit: %+v", c)
	}
	c.Abandon(true) // the trial's client left: the next call is the trial
	if ok, trial := allow(after); !ok || !trial {
		t.Fatal("an abandoned trial kept the circuit from its next trial")
	}
	c.Report(b, true, true, after) // the trial failed: open for another cooldown
	if c.State != routing.CircuitOpen || !c.Open(b, after.Add(29*time.Second)) {
		t.Fatalf("a failed trial: %+v", c)
	}
	later := after.Add(30 * time.Second)
	_, trial := allow(later)
	c.Report(b, false, trial, later)
	if c.State != routing.CircuitClosed || c.Failures != 0 || c.Open(b, later) {
		t.Fatalf("a trial that succeeded: %+v", c)
	}
}

func TestCounts_OnlyTheTargetsFaults(t *testing.T) {
	for status, want := range map[int]bool{0: true, 429: true, 500: true, 503: true, 400: false, 401: false, 404: false, 200: false} {
		if routing.Counts(status) != want {
			t.Errorf("Counts(%d) = %v", status, !want)
		}
	}
}
