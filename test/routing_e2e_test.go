package test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestE2E_ConfigsArePublishedInVersionsAndValidated(t *testing.T) {
	sc := newTenantScenario(t)
	const path = "/admin/v1/tenants/acme/configs"
	type ref struct {
		ID      string          `json:"id"`
		Name    string          `json:"name"`
		Version int             `json:"version"`
		Config  json.RawMessage `json:"config"`
	}
	var v1, v2 ref
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "support-bot", "config": map[string]any{
		"strategy": map[string]any{"mode": "fallback"}, "targets": []any{map[string]any{"provider": "up", "override_params": map[string]any{"model": "gpt-4o"}}, map[string]any{"provider": "up"}}}}, &v1)
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "support-bot", "config": map[string]any{"provider": "up"}}, &v2)
	if v1.Version != 1 || v2.Version != 2 || v1.ID != v2.ID || v1.ID == "" || v1.Name != "support-bot" {
		t.Fatalf("published %+v then %+v", v1, v2)
	}
	var got ref
	sc.s.mustAdmin(200, "GET", path+"/support-bot", sc.admin, nil, &got)
	if got.Version != 2 || string(got.Config) != `{"provider":"up"}` {
		t.Fatalf("latest %+v", got)
	}
	sc.s.mustAdmin(200, "GET", path+"/support-bot?version=1", sc.admin, nil, &got)
	if got.Version != 1 || !strings.Contains(string(got.Config), `"mode":"fallback"`) {
		t.Fatalf("version 1 %+v", got)
	}
	sc.s.mustAdmin(404, "GET", path+"/support-bot?version=3", sc.admin, nil, nil)
	sc.s.mustAdmin(404, "GET", path+"/nope", sc.admin, nil, nil)
	sc.s.mustAdmin(400, "GET", path+"/support-bot?version=x", sc.admin, nil, nil)
	var list struct{ Configs []ref }
	sc.s.mustAdmin(200, "GET", path, sc.admin, nil, &list)
	if len(list.Configs) != 1 || list.Configs[0].Version != 2 {
		t.Fatalf("list %+v", list)
	}

	for body, want := range map[string]string{
		`{"name": "x", "config": {"strategy": {"mode": "fallback"}, "targets": [{"provider": "up", "retry": {"attempts": 99}}]}}`: "targets[0].retry.attempts",
		`{"name": "x", "config": {"strategy": {"mode": "fallback"}, "targets": [{"provider": "up"}, {"provider": "ghost"}]}}`:     `targets[1].provider: no provider connection named "ghost"`,
		`{"name": "x y", "config": {"provider": "up"}}`: "name",
		`{"name": "x"}`: "config is required",
		`{"name": "x", "config": {"provider": "up", "virtual_key": "pk-1"}}`: "virtual_key",
	} {
		var p struct{ Detail string }
		sc.s.mustAdmin(400, "POST", path, sc.admin, json.RawMessage(body), &p)
		if !strings.Contains(p.Detail, want) {
			t.Errorf("%s: detail %q, want it to name %s", body, p.Detail, want)
		}
	}

	var k struct {
		Config *string `json:"config"`
	}
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"config": "support-bot"}, &k)
	if k.Config == nil || *k.Config != "support-bot" {
		t.Fatalf("key config %v", k.Config)
	}
	sc.s.mustAdmin(400, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"config": "nope"}, nil)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"config": nil}, &k)
	if k.Config != nil {
		t.Fatalf("key config after null %v", *k.Config)
	}
}
