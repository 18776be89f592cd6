package test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/api"
)

// routeCase is one admin route as the matrix exercises it.
type routeCase struct {
	method, path string // path as in api/openapi.yaml
	kind         string // create-tenant | list | read | write | audit
	body         func(n int) any
}

var adminRoutes = []routeCase{
	{"POST", "/admin/v1/tenants", "create-tenant", func(n int) any { return map[string]string{"id": fmt.Sprintf("made-%d", n), "name": "made"} }},
	{"GET", "/admin/v1/tenants", "list", nil},
	{"GET", "/admin/v1/tenants/{tenant}", "read", nil},
	{"PATCH", "/admin/v1/tenants/{tenant}", "write", func(n int) any { return map[string]int{"payload_retention_days": 1 + n%300} }},
	{"POST", "/admin/v1/tenants/{tenant}/teams", "write", func(int) any { return map[string]string{"name": "t"} }},
	{"GET", "/admin/v1/tenants/{tenant}/teams", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/teams/{team}", "read", nil},
	{"PATCH", "/admin/v1/tenants/{tenant}/teams/{team}", "write", func(n int) any { return map[string]string{"name": fmt.Sprint("renamed-", n)} }},
	{"POST", "/admin/v1/tenants/{tenant}/providers", "write", func(n int) any { return map[string]string{"name": fmt.Sprint("p", n), "kind": "echo"} }},
	{"GET", "/admin/v1/tenants/{tenant}/providers", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/providers/{name}/health", "read", nil},
	{"POST", "/admin/v1/tenants/{tenant}/providers/{name}/rotate", "write", func(n int) any { return map[string]string{"api_key": fmt.Sprint("sk-new-", n)} }},
	{"POST", "/admin/v1/tenants/{tenant}/keys", "write", func(int) any { return map[string]string{"name": "k"} }},
	{"GET", "/admin/v1/tenants/{tenant}/keys", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/keys/{key}", "read", nil},
	{"PATCH", "/admin/v1/tenants/{tenant}/keys/{key}", "write", func(n int) any { return map[string]string{"name": fmt.Sprint("k", n)} }},
	{"POST", "/admin/v1/tenants/{tenant}/keys/{key}/rotate", "write", nil},
	{"POST", "/admin/v1/tenants/{tenant}/keys/{key}/revoke", "write", nil},
	{"POST", "/admin/v1/tenants/{tenant}/prices", "write", func(int) any {
		return map[string]any{"model": "echo/x", "input_usd_per_mtok": 1, "output_usd_per_mtok": 1}
	}},
	{"GET", "/admin/v1/tenants/{tenant}/prices", "read", nil},
	{"PUT", "/admin/v1/tenants/{tenant}/budgets/{scope}/{id}", "write", func(int) any { return map[string]any{"limit_usd": 100} }},
	{"GET", "/admin/v1/tenants/{tenant}/budgets/{scope}/{id}", "read", nil},
	{"PUT", "/admin/v1/tenants/{tenant}/rate-limits/{scope}/{id}", "write", func(int) any { return map[string]any{"rpm": 1000} }},
	{"GET", "/admin/v1/tenants/{tenant}/rate-limits/{scope}/{id}", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/spend", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/requests", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/requests/{request}", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/requests/export", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/analytics", "read", nil},
	{"POST", "/admin/v1/tenants/{tenant}/webhooks", "write", func(int) any {
		return map[string]any{"url": "https://hooks.example.com/x", "events": []string{"key.revoked"}, "secret": "0123456789abcdef"}
	}},
	{"GET", "/admin/v1/tenants/{tenant}/webhooks", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/webhooks/{webhook}/deliveries", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/events", "audit", nil},
	{"GET", "/admin/v1/tenants/{tenant}/audit/export", "audit", nil},
	{"GET", "/admin/v1/tenants/{tenant}/audit/checkpoint", "audit", nil},
	{"GET", "/admin/v1/tenants/{tenant}/audit", "audit", nil},
	{"GET", "/admin/v1/tenants/{tenant}/audit/access", "audit", nil},
	{"GET", "/admin/v1/audit/verifier-key", "list", nil},
	{"POST", "/admin/v1/tenants/{tenant}/configs", "write", func(n int) any {
		return map[string]any{"name": fmt.Sprint("cfg-", n), "config": map[string]string{"provider": "llm"}}
	}},
	{"GET", "/admin/v1/tenants/{tenant}/configs", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/configs/{name}", "read", nil},
	{"POST", "/admin/v1/tenants/{tenant}/guardrails", "write", func(n int) any {
		return map[string]any{"name": fmt.Sprint("g-", n), "checks": []any{map[string]string{"type": "pii"}}}
	}},
	{"GET", "/admin/v1/tenants/{tenant}/guardrails", "read", nil},
	{"GET", "/admin/v1/tenants/{tenant}/guardrails/{name}", "read", nil},
}

// principalCase is a token and the tenant it is for ("" for platform-wide).
type principalCase struct {
	name, role, tenant string
}

var principals = []principalCase{
	{"platform_admin", "platform_admin", ""},
	{"platform auditor", "auditor", ""},
	{"tenant_admin", "tenant_admin", "acme"},
	{"auditor", "auditor", "acme"},
	{"viewer", "viewer", "acme"},
}

// expected is the status class a principal gets on a route of a tenant:
// "ok" (2xx), 403 or 404.
func expected(p principalCase, kind, tenant string) string {
	if kind == "list" {
		return "ok"
	}
	if kind == "create-tenant" {
		if p.role == "platform_admin" && p.tenant == "" {
			return "ok"
		}
		return "403"
	}
	if p.tenant != "" && p.tenant != tenant {
		return "404" // another tenant's resources do not exist for this token
	}
	switch kind {
	case "read":
		return "ok"
	case "write":
		if p.role == "platform_admin" || p.role == "tenant_admin" {
			return "ok"
		}
		return "403"
	case "audit":
		if p.role == "viewer" {
			return "403"
		}
		return "ok"
	}
	return "?"
}

func TestE2E_RoleMatrix_EveryAdminRouteEveryRoleOwnAndOtherTenant(t *testing.T) {
	// Every route in the OpenAPI document (but the document itself) is in the matrix.
	var spec struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &spec); err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, r := range adminRoutes {
		covered[r.method+" "+r.path] = true
	}
	for path, ops := range spec.Paths {
		for m := range ops {
			if m == "parameters" || path == "/admin/v1/openapi.yaml" {
				continue
			}
			if !covered[strings.ToUpper(m)+" "+path] {
				t.Errorf("%s %s is not in the role matrix", strings.ToUpper(m), path)
			}
		}
	}

	in := newInstallation(t)
	s := in.start()
	platform := in.token("--role", "platform_admin")
	type fixture struct{ team, request, webhook string }
	fixtures := map[string]fixture{}
	for _, tn := range []string{"acme", "other"} {
		s.mustAdmin(201, "POST", "/admin/v1/tenants", platform, map[string]string{"id": tn, "name": tn}, nil)
		var team struct{ ID string }
		s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tn+"/teams", platform, map[string]string{"name": "team"}, &team)
		s.mustAdmin(200, "PUT", "/admin/v1/tenants/"+tn+"/budgets/tenant/"+tn, platform, map[string]any{"limit_usd": 10}, nil)
		s.mustAdmin(200, "PUT", "/admin/v1/tenants/"+tn+"/rate-limits/tenant/"+tn, platform, map[string]any{"rpm": 10}, nil)
		s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tn+"/providers", platform,
			map[string]string{"name": "llm", "kind": "openai-compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-old"}, nil)
		s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tn+"/configs", platform, map[string]any{"name": "llm", "config": map[string]string{"provider": "llm"}}, nil)
		s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tn+"/guardrails", platform, map[string]any{"name": "llm", "checks": []any{map[string]string{"type": "secrets"}}}, nil)
		// One request, recorded in the tenant's request log (its upstream is unreachable: a 502).
		var k keyOut
		s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tn+"/keys", platform, map[string]string{"name": "caller"}, &k)
		req, _ := http.NewRequest("POST", s.URL+"/v1/chat/completions", strings.NewReader(`{"model":"llm/x","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+k.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var id string
		eventually(t, 10*time.Second, func() error {
			var page struct {
				Requests []struct {
					RequestID string `json:"request_id"`
				}
			}
			s.mustAdmin(200, "GET", "/admin/v1/tenants/"+tn+"/requests", platform, nil, &page)
			if len(page.Requests) == 0 {
				return fmt.Errorf("no request of %s in the log yet", tn)
			}
			id = page.Requests[0].RequestID
			return nil
		})
		var hook struct{ ID string }
		s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tn+"/webhooks", platform,
			map[string]any{"url": "https://hooks.example.com/x", "events": []string{"key.revoked"}, "secret": "0123456789abcdef"}, &hook)
		fixtures[tn] = fixture{team: team.ID, request: id, webhook: hook.ID}
	}
	n := 0
	for _, p := range principals {
		args := []string{"--role", p.role}
		if p.tenant != "" {
			args = append(args, "--tenant", p.tenant)
		}
		tok := in.token(args...)
		for _, tenant := range []string{"acme", "other"} {
			for _, r := range adminRoutes {
				n++
				var k keyOut // a fresh key per call, so that revoke and rotate always have one
				s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tenant+"/keys", platform, map[string]string{"name": "fresh"}, &k)
				path := strings.NewReplacer("{tenant}", tenant, "{team}", fixtures[tenant].team, "{key}", k.ID,
					"{scope}", "tenant", "{id}", tenant, "{name}", "llm", "{request}", fixtures[tenant].request,
					"{webhook}", fixtures[tenant].webhook).Replace(r.path)
				var body any
				if r.body != nil {
					body = r.body(n)
				}
				status := s.adminDo(r.method, path, tok, body, nil)
				got := fmt.Sprint(status)
				if status >= 200 && status < 300 {
					got = "ok"
				}
				if want := expected(p, r.kind, tenant); got != want {
					t.Errorf("%s on %s: %s %s answered %d, want %s", p.name, tenant, r.method, path, status, want)
				}
			}
		}
	}
}
