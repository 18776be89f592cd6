package query

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// SpendRow is one cell of the spend projection: a day, key, provider and model.
type SpendRow struct {
	Day              time.Time
	KeyID            uuid.UUID
	TeamID           uuid.UUID // uuid.Nil: no team
	Provider         string
	Model            string
	Requests         int64
	PromptTokens     int64
	CompletionTokens int64
	Cost             usage.Micros
}

// SpendReader reads the spend projection.
type SpendReader interface {
	SpendRows(ctx context.Context, tenantID string, from, to time.Time) ([]SpendRow, error)
}

// Spend asks for a tenant's spend over [From, To), grouped.
type Spend struct {
	Principal access.Principal
	TenantID  string
	From, To  time.Time
	GroupBy   string // key, team, model, provider, day, or empty for the total only
}

// SpendTotals is one line of a spend report.
type SpendTotals struct {
	Group            string
	Requests         int64
	PromptTokens     int64
	CompletionTokens int64
	Cost             usage.Micros
}

func (t *SpendTotals) add(r SpendRow) {
	t.Requests += r.Requests
	t.PromptTokens += r.PromptTokens
	t.CompletionTokens += r.CompletionTokens
	t.Cost += r.Cost
}

// SpendReport is the total and the groups asked for.
type SpendReport struct {
	From, To time.Time
	GroupBy  string
	Total    SpendTotals
	Groups   []SpendTotals
}

// ErrInvalidQuery is a query parameter that cannot be answered.
var ErrInvalidQuery = fmt.Errorf("invalid query")

var spendGroups = map[string]func(SpendRow) string{
	"key": func(r SpendRow) string { return r.KeyID.String() },
	"team": func(r SpendRow) string {
		if r.TeamID == uuid.Nil {
			return "none"
		}
		return r.TeamID.String()
	},
	"model":    func(r SpendRow) string { return r.Model },
	"provider": func(r SpendRow) string { return r.Provider },
	"day":      func(r SpendRow) string { return r.Day.Format("2006-01-02") },
}

// SpendHandler answers Spend from the projection.
type SpendHandler struct {
	tenants Tenants
	reader  SpendReader
}

// NewSpendHandler wires the handler.
func NewSpendHandler(tenants Tenants, reader SpendReader) SpendHandler {
	if tenants == nil || reader == nil {
		panic("query.NewSpendHandler: nil dependency")
	}
	return SpendHandler{tenants: tenants, reader: reader}
}

// Handle answers q.
func (h SpendHandler) Handle(ctx context.Context, q Spend) (SpendReport, error) {
	if err := readableTenant(h.tenants, q.Principal, q.TenantID); err != nil {
		return SpendReport{}, err
	}
	groupOf, ok := spendGroups[q.GroupBy]
	if q.GroupBy != "" && !ok {
		return SpendReport{}, fmt.Errorf("%w: group_by must be one of key, team, model, provider, day", ErrInvalidQuery)
	}
	if !q.From.Before(q.To) {
		return SpendReport{}, fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	rows, err := h.reader.SpendRows(ctx, q.TenantID, q.From, q.To)
	if err != nil {
		return SpendReport{}, err
	}
	rep := SpendReport{From: q.From, To: q.To, GroupBy: q.GroupBy, Groups: []SpendTotals{}}
	groups := map[string]*SpendTotals{}
	for _, r := range rows {
		rep.Total.add(r)
		if groupOf == nil {
			continue
		}
		g := groupOf(r)
		if groups[g] == nil {
			groups[g] = &SpendTotals{Group: g}
		}
		groups[g].add(r)
	}
	for _, g := range groups {
		rep.Groups = append(rep.Groups, *g)
	}
	sort.Slice(rep.Groups, func(i, j int) bool { return rep.Groups[i].Group < rep.Groups[j].Group })
	return rep, nil
}
