package test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// apiStatus calls the proxy and returns the HTTP status and OpenAI error code.
func apiStatus(t *testing.T, s *server, secret, model string) (int, string) {
	t.Helper()
	c := sdk(s, secret)
	_, err := c.Chat.Completions.New(context.Background(), chat(model, "hello"))
	if err == nil {
		return 200, ""
	}
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("not an API error: %v", err)
	}
	return apiErr.StatusCode, apiErr.Code
}

func TestE2E_TeamsAndKeyLifecycle(t *testing.T) {
	sc := newTenantScenario(t)
	s, admin := sc.s, sc.admin
	var team struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/teams", admin, map[string]any{"name": "search"}, &team)
	s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/teams/"+team.ID, admin, map[string]any{"name": "search-ranking"}, &team)
	if team.Name != "search-ranking" {
		t.Fatalf("team %+v", team)
	}
	var teams struct {
		Teams []struct{ ID string } `json:"teams"`
	}
	s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/teams", admin, nil, &teams)
	if len(teams.Teams) != 1 {
		t.Fatalf("teams %+v", teams)
	}
	s.mustAdmin(400, "POST", "/admin/v1/tenants/acme/keys", admin, map[string]any{"name": "k", "team_id": "2b1f6b2e-2c36-4a47-9b1e-9f6c3c1f0a11"}, nil)

	var k keyOut
	s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/keys", admin, map[string]any{
		"name": "ranker", "team_id": team.ID, "models": []string{"up/gpt-4o*", "up/m1"}, "metadata": map[string]string{"owner": "ann"},
	}, &k)

	t.Run("models outside the key's patterns are refused", func(t *testing.T) {
		if st, _ := apiStatus(t, s, k.Secret, "up/gpt-4o-mini"); st != 200 {
			t.Fatalf("glob match refused: %d", st)
		}
		if st, _ := apiStatus(t, s, k.Secret, "up/m1"); st != 200 {
			t.Fatalf("exact match refused: %d", st)
		}
		if st, code := apiStatus(t, s, k.Secret, "up/o3"); st != 403 || code != "model_not_allowed" {
			t.Fatalf("outside the patterns: %d %s", st, code)
		}
		s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+k.ID, admin, map[string]any{"models": []string{"up/o3"}}, nil)
		if st, _ := apiStatus(t, s, k.Secret, "up/o3"); st != 200 {
			t.Fatalf("after widening: %d", st)
		}
		if st, code := apiStatus(t, s, k.Secret, "up/m1"); st != 403 || code != "model_not_allowed" {
			t.Fatalf("after narrowing: %d %s", st, code)
		}
		s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+k.ID, admin, map[string]any{"models": nil}, nil)
		if st, _ := apiStatus(t, s, k.Secret, "up/anything"); st != 200 {
			t.Fatalf("after clearing the list: %d", st)
		}
	})

	t.Run("rotation keeps the old secret for the grace period only", func(t *testing.T) {
		old := k.Secret
		var rotated keyOut
		s.mustAdmin(200, "POST", "/admin/v1/tenants/acme/keys/"+k.ID+"/rotate", admin, map[string]any{"grace_seconds": 2}, &rotated)
		if rotated.Secret == "" || rotated.Secret == old || rotated.ID != k.ID {
			t.Fatalf("rotation answer %+v", rotated)
		}
		if st, _ := apiStatus(t, s, rotated.Secret, "up/m"); st != 200 {
			t.Fatalf("new secret: %d", st)
		}
		if st, _ := apiStatus(t, s, old, "up/m"); st != 200 {
			t.Fatalf("old secret within grace: %d", st)
		}
		time.Sleep(2100 * time.Millisecond)
		if st, code := apiStatus(t, s, old, "up/m"); st != 401 || code != "invalid_api_key" {
			t.Fatalf("old secret after grace: %d %s", st, code)
		}
		var again keyOut
		s.mustAdmin(200, "POST", "/admin/v1/tenants/acme/keys/"+k.ID+"/rotate", admin, nil, &again)
		if st, _ := apiStatus(t, s, rotated.Secret, "up/m"); st != 401 {
			t.Fatalf("rotation without grace left the previous secret working: %d", st)
		}
		k.Secret = again.Secret
	})

	t.Run("an expired key is refused", func(t *testing.T) {
		soon := time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)
		s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+k.ID, admin, map[string]any{"expires_at": soon}, nil)
		time.Sleep(1100 * time.Millisecond)
		if st, code := apiStatus(t, s, k.Secret, "up/m"); st != 401 || code != "invalid_api_key" {
			t.Fatalf("expired key: %d %s", st, code)
		}
		var got keyOut
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/keys/"+k.ID, admin, nil, &got)
		if got.Status != "expired" {
			t.Fatalf("status %q", got.Status)
		}
	})

	t.Run("a revoked key cannot be changed", func(t *testing.T) {
		s.mustAdmin(200, "POST", "/admin/v1/tenants/acme/keys/"+k.ID+"/revoke", admin, nil, nil)
		s.mustAdmin(409, "PATCH", "/admin/v1/tenants/acme/keys/"+k.ID, admin, map[string]any{"name": "x"}, nil)
		s.mustAdmin(409, "POST", "/admin/v1/tenants/acme/keys/"+k.ID+"/rotate", admin, nil, nil)
	})

	t.Run("bad patches", func(t *testing.T) {
		var k2 keyOut
		s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/keys", admin, map[string]any{"name": "other"}, &k2)
		s.mustAdmin(400, "PATCH", "/admin/v1/tenants/acme/keys/"+k2.ID, admin, map[string]any{"nmae": "x"}, nil)
		s.mustAdmin(400, "PATCH", "/admin/v1/tenants/acme/keys/"+k2.ID, admin, map[string]any{"models": "up/*"}, nil)
		s.mustAdmin(400, "PATCH", "/admin/v1/tenants/acme/keys/"+k2.ID, admin, map[string]any{"models": []string{"gpt-4o"}}, nil)
		s.mustAdmin(400, "POST", "/admin/v1/tenants/acme/keys/"+k2.ID+"/rotate", admin, map[string]any{"grace_seconds": -1}, nil)
		s.mustAdmin(400, "POST", "/admin/v1/tenants/acme/keys/"+k2.ID+"/rotate", admin, map[string]any{"grace_seconds": int64(1) << 62}, nil)
	})

	t.Run("every change is an event", func(t *testing.T) {
		var feed struct {
			Events []struct {
				Type string `json:"type"`
			} `json:"events"`
		}
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/events?limit=1000", admin, nil, &feed)
		count := map[string]int{}
		for _, e := range feed.Events {
			count[e.Type]++
		}
		if count["team.created"] != 1 || count["team.updated"] != 1 || count["key.updated"] != 3 || count["key.rotated"] != 2 {
			t.Fatalf("events %v", count)
		}
	})
}

func TestE2E_KeyChangesReachAnotherReplicaWithinASecond(t *testing.T) {
	sc := newTenantScenario(t)
	a, admin, k := sc.s, sc.admin, sc.key
	b := sc.in.start()
	eventually(t, 5*time.Second, func() error {
		if st, _ := apiStatus(t, b, k.Secret, "up/m"); st != 200 {
			return errors.New("replica b does not know the key yet")
		}
		return nil
	})
	within := func(what string, change func(), refused func() bool) {
		t.Helper()
		change()
		at := time.Now()
		for !refused() {
			if time.Since(at) > time.Second {
				t.Fatalf("%s: replica b still serves after %s", what, time.Since(at))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	within("narrowed models", func() {
		a.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+k.ID, admin, map[string]any{"models": []string{"up/other"}}, nil)
	}, func() bool { st, _ := apiStatus(t, b, k.Secret, "up/m"); return st == http.StatusForbidden })
	var rotated keyOut
	within("rotation without grace", func() {
		a.mustAdmin(200, "POST", "/admin/v1/tenants/acme/keys/"+k.ID+"/rotate", admin, nil, &rotated)
	}, func() bool { st, _ := apiStatus(t, b, k.Secret, "up/other"); return st == http.StatusUnauthorized })
	within("expiry", func() {
		a.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+k.ID, admin,
			map[string]any{"expires_at": time.Now().Add(100 * time.Millisecond).UTC().Format(time.RFC3339Nano)}, nil)
	}, func() bool {
		st, _ := apiStatus(t, b, rotated.Secret, "up/other")
		return st == http.StatusUnauthorized
	})
}

func TestE2E_PricesCostEveryRequestAndAMissingPriceIsRaisedOnce(t *testing.T) {
	sc := newTenantScenario(t)
	s, admin, k := sc.s, sc.admin, sc.key
	// The provider "up" is of kind openai: the catalogue prices gpt-4o-mini.
	for _, m := range []string{"up/gpt-4o-mini", "up/house-model", "up/house-model"} {
		if st, _ := apiStatus(t, s, k.Secret, m); st != 200 {
			t.Fatalf("%s: %d", m, st)
		}
	}
	s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/prices", admin, map[string]any{"model": "up/house-model", "input_usd_per_mtok": 1000, "output_usd_per_mtok": 2000}, nil)
	if st, _ := apiStatus(t, s, k.Secret, "up/house-model"); st != 200 {
		t.Fatal(st)
	}
	s.mustAdmin(400, "POST", "/admin/v1/tenants/acme/prices", admin, map[string]any{"model": "house-model", "input_usd_per_mtok": 1, "output_usd_per_mtok": 1}, nil)
	s.mustAdmin(400, "POST", "/admin/v1/tenants/acme/prices", admin, map[string]any{"model": "up/x", "input_usd_per_mtok": -1, "output_usd_per_mtok": 1}, nil)
	s.mustAdmin(400, "POST", "/admin/v1/tenants/acme/prices", admin, map[string]any{"model": "up/x", "input_usd_per_mtok": 1}, nil)
	var sheet struct {
		Prices    []struct{ Model string } `json:"prices"`
		Catalogue struct {
			Date   string `json:"date"`
			Models int    `json:"models"`
		} `json:"catalogue"`
	}
	s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/prices", admin, nil, &sheet)
	if len(sheet.Prices) != 1 || sheet.Catalogue.Date == "" || sheet.Catalogue.Models < 20 {
		t.Fatalf("price sheet %+v", sheet)
	}

	type completed struct {
		Model      string `json:"model"`
		CostMicros int64  `json:"cost_micros"`
		Priced     bool   `json:"priced"`
	}
	eventually(t, 5*time.Second, func() error {
		var feed struct {
			Events []struct {
				Type string    `json:"type"`
				Data completed `json:"data"`
			} `json:"events"`
		}
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/events?limit=1000", admin, nil, &feed)
		var got []completed
		missing := 0
		for _, e := range feed.Events {
			switch e.Type {
			case "request.completed":
				got = append(got, e.Data)
			case "price.missing":
				missing++
			}
		}
		if len(got) != 4 || missing != 1 {
			return fmt.Errorf("%d completed, %d price.missing", len(got), missing)
		}
		// fake upstream: 11 prompt (3 cached) + 7 completion tokens.
		// gpt-4o-mini: 8 × 0.15 + 3 × 0.075 + 7 × 0.60 = 5.625 → 6 micro-dollars.
		// house-model after its price: 11 × 1000 + 7 × 2000 = 25,000 micro-dollars.
		want := []completed{{"up/gpt-4o-mini", 6, true}, {"up/house-model", 0, false}, {"up/house-model", 0, false}, {"up/house-model", 25000, true}}
		for i := range want {
			if got[i] != want[i] {
				return fmt.Errorf("request %d recorded %+v, want %+v", i, got[i], want[i])
			}
		}
		return nil
	})
}

func TestE2E_RequestLogFiltersAndPagesAndSpendGroupsByTeam(t *testing.T) {
	sc := newTenantScenario(t)
	s, admin := sc.s, sc.admin
	var team struct{ ID string }
	s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/teams", admin, map[string]any{"name": "search"}, &team)
	var teamKey keyOut
	s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/keys", admin, map[string]any{"name": "t", "team_id": team.ID}, &teamKey)
	call := func(secret, model, feature string) {
		c := openai.NewClient(option.WithBaseURL(s.URL+"/v1/"), option.WithAPIKey(secret), option.WithMaxRetries(0),
			option.WithHeader("x-gatehouse-metadata", `{"feature":"`+feature+`"}`))
		c.Chat.Completions.New(context.Background(), chat(model, "hello"))
	}
	call(sc.key.Secret, "up/gpt-4o-mini", "chat")
	call(sc.key.Secret, "up/gpt-4o-mini", "search")
	call(teamKey.Secret, "up/gpt-4o-mini", "search")
	call(teamKey.Secret, "nope/x", "search") // rejected: unknown provider

	type page struct {
		Requests []struct {
			KeyID    string            `json:"key_id"`
			Outcome  string            `json:"outcome"`
			Status   int               `json:"status"`
			Code     string            `json:"code"`
			Metadata map[string]string `json:"metadata"`
			CostUSD  float64           `json:"cost_usd"`
		} `json:"requests"`
		NextCursor string `json:"next_cursor"`
	}
	eventually(t, 10*time.Second, func() error {
		var p page
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests", admin, nil, &p)
		if len(p.Requests) != 4 {
			return fmt.Errorf("%d rows", len(p.Requests))
		}
		return nil
	})
	var p page
	s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests?metadata.feature=search&status=200", admin, nil, &p)
	if len(p.Requests) != 2 || p.Requests[0].Metadata["feature"] != "search" || p.Requests[0].CostUSD <= 0 {
		t.Fatalf("metadata and status filter: %+v", p.Requests)
	}
	s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests?key="+teamKey.ID, admin, nil, &p)
	if len(p.Requests) != 2 || p.Requests[0].Outcome != "rejected" || p.Requests[0].Code != "model_not_found" {
		t.Fatalf("key filter, newest first: %+v", p.Requests)
	}
	s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests?model=up/gpt-4o-mini&limit=2", admin, nil, &p)
	first := p
	if len(first.Requests) != 2 || first.NextCursor == "" {
		t.Fatalf("first page %+v", first)
	}
	s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests?model=up/gpt-4o-mini&limit=2&cursor="+first.NextCursor, admin, nil, &p)
	if len(p.Requests) != 1 || p.NextCursor != "" {
		t.Fatalf("second page %+v", p)
	}
	s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/requests?cursor=nonsense", admin, nil, nil)
	s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/requests?limit=1000", admin, nil, nil)
	s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/requests?status=99999999999", admin, nil, nil)
	s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/requests?status=42", admin, nil, nil)
	s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/requests?model=a%00b", admin, nil, nil)
	s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/requests?metadata.feature=%00", admin, nil, nil)
	s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/requests?metadata.%ff=x", admin, nil, nil)

	eventually(t, 10*time.Second, func() error {
		var spend struct {
			Groups []struct {
				Group    string `json:"group"`
				Requests int64  `json:"requests"`
			} `json:"groups"`
		}
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/spend?group_by=team", admin, nil, &spend)
		got := map[string]int64{}
		for _, g := range spend.Groups {
			got[g.Group] = g.Requests
		}
		if len(got) != 2 || got[team.ID] != 1 || got["none"] != 2 {
			return fmt.Errorf("spend by team %v", got)
		}
		return nil
	})
}
