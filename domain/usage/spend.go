package usage

import (
	"time"

	"github.com/google/uuid"
)

// SpendCell is where spend is counted: a tenant's key, provider and model in one hour.
type SpendCell struct {
	TenantID string
	Hour     time.Time
	KeyID    uuid.UUID
	TeamID   uuid.UUID // uuid.Nil for a key without a team
	Provider string
	Model    string
}

// SpendDelta is what some completed requests add to a cell.
type SpendDelta struct {
	Cell             SpendCell
	Requests         int64
	PromptTokens     int64
	CompletionTokens int64
	Cost             Micros
}

// SpendFold adds completed requests up by cell.
type SpendFold struct {
	index  map[SpendCell]int
	Deltas []SpendDelta // one per cell, in the order cells were first seen
}

// Add counts a request that succeeded, or that used tokens or money even
// though it did not end well (an answer the upstream billed but the client
// never received). A failed upstream call that used nothing costs nothing.
func (f *SpendFold) Add(tenantID string, at time.Time, e RequestCompleted) {
	if !e.Succeeded() && e.Tokens == (Tokens{}) && e.CostMicros == 0 {
		return
	}
	if f.index == nil {
		f.index = map[SpendCell]int{}
	}
	c := SpendCell{TenantID: tenantID, Hour: Hour(at), KeyID: e.KeyID, Provider: e.Provider, Model: e.Model}
	if e.TeamID != nil {
		c.TeamID = *e.TeamID
	}
	i, ok := f.index[c]
	if !ok {
		i = len(f.Deltas)
		f.index[c] = i
		f.Deltas = append(f.Deltas, SpendDelta{Cell: c})
	}
	d := &f.Deltas[i]
	d.Requests++
	d.PromptTokens += e.Tokens.Prompt
	d.CompletionTokens += e.Tokens.Completion
	d.Cost += e.CostMicros
}
