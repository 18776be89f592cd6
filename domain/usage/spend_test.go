package usage_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/usage"
)

func TestSpendFold_AddsSuccessesByCellAndIgnoresFailures(t *testing.T) {
	k1, k2 := uuid.New(), uuid.New()
	at := time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)
	ok := func(k uuid.UUID, model string, p, c int64, cost usage.Micros) usage.RequestCompleted {
		return usage.RequestCompleted{KeyID: k, Provider: "up", Model: model, Status: 200, Tokens: usage.Tokens{Prompt: p, Completion: c}, CostMicros: cost}
	}
	var f usage.SpendFold
	f.Add("acme", at, ok(k1, "up/a", 10, 5, 100))
	f.Add("acme", at.Add(30*time.Minute), ok(k1, "up/a", 1, 1, 1)) // same hour
	f.Add("acme", at.Add(time.Hour), ok(k1, "up/a", 2, 2, 2))      // next hour
	f.Add("acme", at, ok(k2, "up/a", 3, 3, 3))
	f.Add("acme", at, usage.RequestCompleted{KeyID: k1, Provider: "up", Model: "up/a", Status: 502})
	if len(f.Deltas) != 3 || f.Deltas[0].Requests != 2 {
		t.Fatalf("a failed call that used nothing was counted: %+v", f.Deltas)
	}
	// Billed upstream, never delivered: it used tokens, so it counts.
	gone := ok(k2, "up/a", 4, 4, 4)
	gone.Status = 499
	f.Add("acme", at, gone)
	if len(f.Deltas) != 3 || f.Deltas[2].Requests != 2 || f.Deltas[2].PromptTokens != 7 {
		t.Fatalf("a billed but undelivered answer was not counted: %+v", f.Deltas[2])
	}
	if len(f.Deltas) != 3 {
		t.Fatalf("want 3 cells, got %+v", f.Deltas)
	}
	first := f.Deltas[0]
	if first.Requests != 2 || first.PromptTokens != 11 || first.CompletionTokens != 6 || first.Cost != 101 || !first.Cell.Hour.Equal(at.Truncate(time.Hour)) {
		t.Fatalf("first cell %+v", first)
	}
}
