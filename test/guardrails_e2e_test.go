package test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestE2E_GuardrailsArePublishedInVersionsAndValidated(t *testing.T) {
	sc := newTenantScenario(t)
	const path = "/admin/v1/tenants/acme/guardrails"
	type ref struct {
		ID         string          `json:"id"`
		Name       string          `json:"name"`
		Version    int             `json:"version"`
		Definition json.RawMessage `json:"definition"`
	}
	var v1, v2, got ref
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "no-pii", "checks": []any{map[string]any{"type": "pii", "entities": []string{"email"}}}, "action": "redact"}, &v1)
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "no-pii", "checks": []any{map[string]any{"type": "pii"}}, "action": "block", "on_error": "allow"}, &v2)
	if v1.Version != 1 || v2.Version != 2 || v1.ID != v2.ID || v1.Name != "no-pii" {
		t.Fatalf("published %+v then %+v", v1, v2)
	}
	sc.s.mustAdmin(200, "GET", path+"/no-pii", sc.admin, nil, &got)
	if got.Version != 2 || !strings.Contains(string(got.Definition), `"on_error":"allow"`) {
		t.Fatalf("latest %+v", got)
	}
	sc.s.mustAdmin(200, "GET", path+"/no-pii?version=1", sc.admin, nil, &got)
	if got.Version != 1 || !strings.Contains(string(got.Definition), `"redact"`) {
		t.Fatalf("version 1 %+v", got)
	}
	sc.s.mustAdmin(404, "GET", path+"/nope", sc.admin, nil, nil)
	var list struct{ Guardrails []ref }
	sc.s.mustAdmin(200, "GET", path, sc.admin, nil, &list)
	if len(list.Guardrails) != 1 || list.Guardrails[0].Version != 2 {
		t.Fatalf("list %+v", list)
	}
	for body, want := range map[string]string{
		`{"name": "x", "checks": [{"type": "toxicity"}]}`:                                    "checks[0].type",
		`{"name": "x", "checks": [{"type": "regex", "pattern": "(unclosed"}]}`:               "checks[0].pattern",
		`{"name": "x", "checks": [{"type": "json_schema", "schema": {"type": "nonsense"}}]}`: "checks[0].schema",
		`{"name": "x", "checks": [{"type": "pii"}], "action": "shout"}`:                      "action",
		`{"checks": [{"type": "pii"}]}`:                                                      "name is required",
		`{"name": "x y", "checks": [{"type": "pii"}]}`:                                       "name",
	} {
		var p struct{ Detail string }
		sc.s.mustAdmin(400, "POST", path, sc.admin, json.RawMessage(body), &p)
		if !strings.Contains(p.Detail, want) {
			t.Errorf("%s: detail %q, want it to name %s", body, p.Detail, want)
		}
	}
}
