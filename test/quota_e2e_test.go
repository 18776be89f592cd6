package test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// pricedScenario: model up/metered costs nothing per prompt token and
// $1,000 per million completion tokens, so a request with max_tokens 100
// (which the fake upstream then uses in full) costs exactly $0.10, and its
// reservation is exactly its cost.
func pricedScenario(t *testing.T) *tenantScenario {
	sc := newTenantScenario(t)
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/prices", sc.admin,
		map[string]any{"model": "up/metered", "input_usd_per_mtok": 0, "output_usd_per_mtok": 1000}, nil)
	return sc
}

func metered(maxTokens int64, prompt string) openai.ChatCompletionNewParams {
	p := chat("up/metered", prompt)
	if maxTokens > 0 {
		p.MaxTokens = openai.Int(maxTokens)
	}
	return p
}

func budgetStatus(t *testing.T, s *server, admin, scope, id string) (spent, reserved float64) {
	var b struct {
		SpentUSD    float64 `json:"spent_usd"`
		ReservedUSD float64 `json:"reserved_usd"`
	}
	s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/budgets/"+scope+"/"+id, admin, nil, &b)
	return b.SpentUSD, b.ReservedUSD
}

func TestE2E_AHardBudgetHoldsAcrossTwoReplicasUnderConcurrency(t *testing.T) {
	sc := pricedScenario(t)
	a, admin, k := sc.s, sc.admin, sc.key
	b := sc.in.start()
	a.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/budgets/key/"+k.ID, admin, map[string]any{"limit_usd": 2.5, "period": "day", "hard": true}, nil)
	eventually(t, 5*time.Second, func() error { // replica b knows the budget and the price
		var st struct {
			LimitUSD float64 `json:"limit_usd"`
		}
		if b.adminDo("GET", "/admin/v1/tenants/acme/budgets/key/"+k.ID, admin, nil, &st) != 200 {
			return errors.New("replica b does not know the budget yet")
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)

	var mu sync.Mutex
	ok, refused := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			c := openai.NewClient(option.WithBaseURL(s.URL+"/v1/"), option.WithAPIKey(k.Secret), option.WithMaxRetries(0))
			_, err := c.Chat.Completions.New(context.Background(), metered(100, "hello"))
			mu.Lock()
			defer mu.Unlock()
			var apiErr *openai.Error
			switch {
			case err == nil:
				ok++
			case errors.As(err, &apiErr) && apiErr.StatusCode == 429 && apiErr.Code == "budget_exceeded" && apiErr.Type == "insufficient_quota":
				refused++
			default:
				t.Errorf("request %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	if ok != 25 || refused != 75 {
		t.Fatalf("%d served and %d refused; a $2.50 budget pays for exactly 25 requests of $0.10", ok, refused)
	}
	eventually(t, 5*time.Second, func() error {
		spent, reserved := budgetStatus(t, a, admin, "key", k.ID)
		if spent != 2.5 || reserved != 0 {
			return fmt.Errorf("budget spent %.6f, reserved %.6f", spent, reserved)
		}
		return nil
	})
	a.stop()
	b.stop()
	var recorded int64
	sc.in.pool().QueryRow(context.Background(),
		`SELECT coalesce(sum((convert_from(record, 'UTF8')::json->'data'->>'cost_micros')::bigint), 0) FROM events WHERE type = 'request.completed'`).Scan(&recorded)
	if recorded != 2_500_000 {
		t.Fatalf("recorded spend %d micro-dollars, want exactly the $2.50 limit", recorded)
	}
}

func TestE2E_BudgetsWithoutMaxTokensOvershootByAtMostTheExcessOfOneRequest(t *testing.T) {
	sc := pricedScenario(t)
	s, admin, k := sc.s, sc.admin, sc.key
	// A request without max_tokens reserves 4,096 completion tokens ($4.096
	// here); this one uses 5,000 ($5.00): 904 tokens ($0.904) more.
	s.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/budgets/tenant/acme", admin, map[string]any{"limit_usd": 4.5, "period": "month"}, nil)
	c := sdk(s, k.Secret)
	if _, err := c.Chat.Completions.New(context.Background(), metered(0, "verbose-5000")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		spent, _ := budgetStatus(t, s, admin, "tenant", "acme")
		if spent != 5.0 {
			return fmt.Errorf("spent %.3f", spent)
		}
		return nil
	})
	// The overshoot ($0.50 past the $4.50 limit) is within the documented
	// bound: what one request in flight used beyond its reservation ($0.904).
	if st, code := apiStatus(t, s, k.Secret, "up/metered"); st != 429 || code != "budget_exceeded" {
		t.Fatalf("after the budget is spent: %d %s", st, code)
	}
}

func TestE2E_SoftBudgetsServeAndAlertOncePerThreshold(t *testing.T) {
	sc := pricedScenario(t)
	s, admin, k := sc.s, sc.admin, sc.key
	s.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/budgets/key/"+k.ID, admin,
		map[string]any{"limit_usd": 0.25, "period": "week", "hard": false, "alert_at": []float64{0.5, 0.8}}, nil)
	c := sdk(s, k.Secret)
	for i := 0; i < 4; i++ { // $0.40 on a $0.25 soft budget: all served
		if _, err := c.Chat.Completions.New(context.Background(), metered(100, "hello")); err != nil {
			t.Fatalf("request %d refused under a soft budget: %v", i, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	eventually(t, 5*time.Second, func() error {
		var feed struct {
			Events []struct {
				Type string `json:"type"`
				Data struct {
					Threshold float64 `json:"threshold"`
				} `json:"data"`
			} `json:"events"`
		}
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/events?limit=1000", admin, nil, &feed)
		alerts, exceeded := []float64{}, 0
		for _, e := range feed.Events {
			switch e.Type {
			case "budget.alerted":
				alerts = append(alerts, e.Data.Threshold)
			case "budget.exceeded":
				exceeded++
			}
		}
		if len(alerts) != 2 || exceeded != 1 {
			return fmt.Errorf("alerts %v, exceeded %d", alerts, exceeded)
		}
		return nil
	})
}

func TestE2E_PriceUnknownUnderAHardBudget(t *testing.T) {
	sc := newTenantScenario(t)
	s, admin, k := sc.s, sc.admin, sc.key
	s.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/budgets/key/"+k.ID, admin, map[string]any{"limit_usd": 10}, nil)
	if st, code := apiStatus(t, s, k.Secret, "up/house-model"); st != 403 || code != "price_unknown" {
		t.Fatalf("unpriced model under a hard budget: %d %s", st, code)
	}
	if st, _ := apiStatus(t, s, k.Secret, "up/gpt-4o-mini"); st != 200 {
		t.Fatalf("catalogued model: %d", st)
	}
	s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/prices", admin, map[string]any{"model": "up/house-model", "input_usd_per_mtok": 1, "output_usd_per_mtok": 1}, nil)
	if st, _ := apiStatus(t, s, k.Secret, "up/house-model"); st != 200 {
		t.Fatalf("after its price is set: %d", st)
	}
}

func TestE2E_RateLimitsRefuseWithRetryAfterAndReportHeaders(t *testing.T) {
	sc := newTenantScenario(t)
	s, admin, k := sc.s, sc.admin, sc.key
	s.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/rate-limits/key/"+k.ID, admin, map[string]any{"rpm": 3}, nil)
	var hdr http.Header
	c := openai.NewClient(option.WithBaseURL(s.URL+"/v1/"), option.WithAPIKey(k.Secret), option.WithMaxRetries(0),
		option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			res, err := next(r)
			if res != nil {
				hdr = res.Header
			}
			return res, err
		}))
	for i := 0; i < 3; i++ {
		if _, err := c.Chat.Completions.New(context.Background(), chat("up/m", "hello")); err != nil {
			t.Fatal(err)
		}
		if hdr.Get("x-ratelimit-limit-requests") != "3" || hdr.Get("x-ratelimit-remaining-requests") != fmt.Sprint(2-i) {
			t.Fatalf("request %d headers: limit %q remaining %q", i, hdr.Get("x-ratelimit-limit-requests"), hdr.Get("x-ratelimit-remaining-requests"))
		}
	}
	_, err := c.Chat.Completions.New(context.Background(), chat("up/m", "hello"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("fourth request in the minute: %v", err)
	}
	if hdr.Get("Retry-After") == "" {
		t.Fatal("no Retry-After on a rate-limit refusal")
	}
	if hdr.Get("x-ratelimit-limit-requests") != "3" || hdr.Get("x-ratelimit-remaining-requests") != "0" {
		t.Fatalf("refusal headers: limit %q remaining %q", hdr.Get("x-ratelimit-limit-requests"), hdr.Get("x-ratelimit-remaining-requests"))
	}

	// Concurrency: one request in flight at a time.
	s.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/rate-limits/key/"+k.ID, admin, map[string]any{"concurrency": 1}, nil)
	time.Sleep(200 * time.Millisecond)
	first := make(chan error, 1)
	admitted := make(chan struct{})
	go func() {
		held := sdk(s, k.Secret)
		st := held.Chat.Completions.NewStreaming(context.Background(), chat("up/m", "hold"))
		if st.Next() {
			close(admitted) // in flight: its first chunk is here, the rest is held upstream
		}
		for st.Next() {
		}
		first <- st.Err()
	}()
	select {
	case <-admitted:
	case err := <-first:
		t.Fatalf("the held request ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the held request was not answered")
	}
	if st, code := apiStatus(t, s, k.Secret, "up/m"); st != 429 || code != "rate_limit_exceeded" {
		t.Fatalf("second request while one is in flight: %d %s", st, code)
	}
	close(sc.up.released)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if st, _ := apiStatus(t, s, k.Secret, "up/m"); st != 200 {
			return fmt.Errorf("after the first finished: %d", st)
		}
		return nil
	})
}

func TestE2E_BudgetAndLimitChangesReachAnotherReplicaWithinASecond(t *testing.T) {
	sc := pricedScenario(t)
	a, admin, k := sc.s, sc.admin, sc.key
	b := sc.in.start()
	eventually(t, 5*time.Second, func() error {
		if st, _ := apiStatus(t, b, k.Secret, "up/metered"); st != 200 {
			return fmt.Errorf("replica b: %d", st)
		}
		return nil
	})
	within := func(what string, change func(), refusedOnB func() bool) {
		t.Helper()
		change()
		at := time.Now()
		for !refusedOnB() {
			if time.Since(at) > time.Second {
				t.Fatalf("%s: replica b still serves after %s", what, time.Since(at))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	within("a zero budget", func() {
		a.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/budgets/key/"+k.ID, admin, map[string]any{"limit_usd": 0}, nil)
	}, func() bool {
		st, code := apiStatus(t, b, k.Secret, "up/metered")
		return st == 429 && code == "budget_exceeded"
	})
	a.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/budgets/key/"+k.ID, admin, map[string]any{"limit_usd": 1000}, nil)
	within("a limit of one request a minute", func() {
		a.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/rate-limits/tenant/acme", admin, map[string]any{"rpm": 1}, nil)
	}, func() bool {
		st, code := apiStatus(t, b, k.Secret, "up/metered")
		return st == 429 && code == "rate_limit_exceeded"
	})
}
