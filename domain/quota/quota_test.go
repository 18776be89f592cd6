package quota_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/usage"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWindow_IsTheCalendarWindowInUTC(t *testing.T) {
	now := date("2026-11-25T14:07:19+02:00") // a Wednesday, 12:07 UTC
	cases := []struct {
		p          quota.Period
		start, end string
	}{
		{quota.Day, "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z"},
		{quota.Week, "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"},
		{quota.Month, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
	}
	for _, c := range cases {
		s, e := quota.Window(c.p, now)
		if !s.Equal(date(c.start)) || !e.Equal(date(c.end)) {
			t.Errorf("%s: [%s, %s)", c.p, s, e)
		}
	}
	if s, e := quota.Window(quota.Total, now); !s.Equal(time.Unix(0, 0)) || !e.IsZero() {
		t.Errorf("total: [%s, %s)", s, e)
	}
	// Sunday belongs to the week that began on Monday; midnight starts a day.
	if s, _ := quota.Window(quota.Week, date("2026-11-29T23:59:59Z")); !s.Equal(date("2026-11-23T00:00:00Z")) {
		t.Errorf("sunday: %s", s)
	}
	if s, _ := quota.Window(quota.Day, date("2026-12-01T00:00:00Z")); !s.Equal(date("2026-12-01T00:00:00Z")) {
		t.Errorf("midnight: %s", s)
	}
}

func TestNewBudget_Validates(t *testing.T) {
	s := quota.Subject{TenantID: "acme", Scope: quota.ScopeTenant, ID: "acme"}
	b, err := quota.NewBudget(s, 12.5, quota.Month, true, []float64{0.8, 0.5, 0.8})
	if err != nil || b.Limit != 12_500_000 || len(b.AlertAt) != 2 || b.AlertAt[0] != 0.5 {
		t.Fatalf("%+v %v", b, err)
	}
	for name, f := range map[string]func() error{
		"negative":  func() error { _, err := quota.NewBudget(s, -1, quota.Day, true, nil); return err },
		"period":    func() error { _, err := quota.NewBudget(s, 1, "fortnight", true, nil); return err },
		"alert > 1": func() error { _, err := quota.NewBudget(s, 1, quota.Day, true, []float64{1.5}); return err },
		"alert 0":   func() error { _, err := quota.NewBudget(s, 1, quota.Day, true, []float64{0}); return err },
	} {
		if err := f(); !errors.Is(err, quota.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := quota.ValidateSubjectID(quota.Subject{TenantID: "acme", Scope: quota.ScopeTenant, ID: "other"}); err == nil {
		t.Error("a tenant budget on another tenant was accepted")
	}
	if err := quota.ValidateSubjectID(quota.Subject{TenantID: "acme", Scope: quota.ScopeKey, ID: "x"}); err == nil {
		t.Error("a key id that is not a uuid was accepted")
	}
}

func TestCrossed_NamesEachThresholdOnceAndTheLimit(t *testing.T) {
	b := quota.Budget{Limit: 1000, AlertAt: []float64{0.5, 0.8}}
	cases := []struct {
		before, after usage.Micros
		want          []float64
		exceeded      bool
	}{
		{0, 499, nil, false},
		{0, 500, []float64{0.5}, false},
		{499, 850, []float64{0.5, 0.8}, false},
		{500, 700, nil, false},
		{850, 1000, nil, true},
		{1000, 1200, nil, false}, // already exceeded: not again
		{0, 2000, []float64{0.5, 0.8}, true},
	}
	for _, c := range cases {
		got, ex := b.Crossed(c.before, c.after)
		if len(got) != len(c.want) || ex != c.exceeded {
			t.Errorf("%d→%d: %v %v, want %v %v", c.before, c.after, got, ex, c.want, c.exceeded)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%d→%d: %v, want %v", c.before, c.after, got, c.want)
			}
		}
	}
}

func TestNewPlan_ReservesTheWorstCaseAndOrdersLines(t *testing.T) {
	now := date("2026-11-25T12:34:56Z")
	price, _ := pricing.FromUSD(2, 8, 0) // $2 in, $8 out per million
	key := quota.Subject{TenantID: "acme", Scope: quota.ScopeKey, ID: "7b1f6b2e-2c36-4a47-9b1e-9f6c3c1f0a11"}
	tenant := quota.Subject{TenantID: "acme", Scope: quota.ScopeTenant, ID: "acme"}
	budgets := []quota.Budget{
		{Subject: tenant, Limit: 100_000_000, Period: quota.Month, Hard: true},
		{Subject: key, Limit: 1_000_000, Period: quota.Day, Hard: false},
	}
	limits := []quota.RateLimit{{Subject: key, RPM: 60, TPM: 100_000, Concurrency: 2}}
	p, err := quota.NewPlan(now, budgets, limits, price, true, quota.Estimate{PromptTokens: 1000, MaxOutput: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Lines) != 5 {
		t.Fatalf("lines %+v", p.Lines)
	}
	for i := 1; i < len(p.Lines); i++ {
		if p.Lines[i-1].Key() >= p.Lines[i].Key() {
			t.Fatalf("lines out of order: %s before %s", p.Lines[i-1].Key(), p.Lines[i].Key())
		}
	}
	byKind := map[quota.Kind][]quota.Line{}
	for _, l := range p.Lines {
		byKind[l.Kind] = append(byKind[l.Kind], l)
	}
	// worst case: 1000 × $2 + 500 × $8 per million = 6,000 micro-dollars
	for _, l := range byKind[quota.KindBudget] {
		if l.Amount != 6000 {
			t.Fatalf("budget line %+v", l)
		}
	}
	if b := byKind[quota.KindBudget]; !b[0].Bucket.Equal(date("2026-11-25T00:00:00Z")) || b[0].Hard {
		// key (day window, soft) sorts before tenant (month window, hard)
		t.Fatalf("key budget line %+v", b[0])
	}
	if l := byKind[quota.KindTokens][0]; l.Amount != 1500 || !l.Bucket.Equal(date("2026-11-25T12:34:00Z")) {
		t.Fatalf("tokens line %+v", l)
	}
	if _, err := quota.NewPlan(now, budgets, nil, pricing.Price{}, false, quota.Estimate{}); !errors.Is(err, quota.ErrPriceUnknown) {
		t.Fatalf("unpriced under a hard budget: %v", err)
	}
	soft := []quota.Budget{budgets[1]}
	if p, err := quota.NewPlan(now, soft, nil, pricing.Price{}, false, quota.Estimate{}); err != nil || len(p.Lines) != 0 {
		t.Fatalf("unpriced under a soft budget: %+v %v", p, err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := date("2026-11-25T12:34:56Z")
	l := quota.Line{Kind: quota.KindRequests, Bucket: now.Truncate(time.Minute)}
	if got := quota.RetryAfter(l, quota.Budget{}, now); got != 4*time.Second {
		t.Fatalf("rpm retry after %s", got)
	}
	b := quota.Budget{Period: quota.Day}
	if got := quota.RetryAfter(quota.Line{Kind: quota.KindBudget}, b, now); got != 11*time.Hour+25*time.Minute+4*time.Second {
		t.Fatalf("budget retry after %s", got)
	}
}
