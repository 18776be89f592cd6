package test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestE2E_AdminAPIAnswersBadInputAndRolesInProblemJSON(t *testing.T) {
	in := newInstallation(t)
	s := in.start()
	platform := in.token("--role", "platform_admin")
	s.mustAdmin(201, "POST", "/admin/v1/tenants", platform, map[string]string{"name": "Acme Corp"}, nil)
	s.mustAdmin(201, "POST", "/admin/v1/tenants", platform, map[string]string{"id": "other", "name": "Other"}, nil)
	tenantAdmin := in.token("--role", "tenant_admin", "--tenant", "acme-corp")
	viewer := in.token("--role", "viewer", "--tenant", "acme-corp")
	auditor := in.token("--role", "auditor", "--tenant", "acme-corp")

	cases := []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"tenant id derived from the name", "GET", "/admin/v1/tenants/acme-corp", tenantAdmin, "", 200},
		{"duplicate tenant", "POST", "/admin/v1/tenants", platform, `{"name":"Acme Corp"}`, 409},
		{"tenant admin cannot found tenants", "POST", "/admin/v1/tenants", tenantAdmin, `{"name":"x"}`, 403},
		{"malformed JSON", "POST", "/admin/v1/tenants", platform, `{"name":`, 400},
		{"unknown field", "POST", "/admin/v1/tenants", platform, `{"name":"x","nmae":"y"}`, 400},
		{"empty body", "POST", "/admin/v1/tenants/acme-corp/keys", tenantAdmin, ``, 400},
		{"bad tenant id", "POST", "/admin/v1/tenants", platform, `{"id":"Bad Id","name":"x"}`, 400},
		{"unknown provider kind", "POST", "/admin/v1/tenants/acme-corp/providers", tenantAdmin, `{"name":"p","kind":"telepathy"}`, 400},
		{"openai without key", "POST", "/admin/v1/tenants/acme-corp/providers", tenantAdmin, `{"name":"p","kind":"openai"}`, 400},
		{"provider connected", "POST", "/admin/v1/tenants/acme-corp/providers", tenantAdmin, `{"name":"p","kind":"echo"}`, 201},
		{"duplicate provider", "POST", "/admin/v1/tenants/acme-corp/providers", tenantAdmin, `{"name":"p","kind":"echo"}`, 409},
		{"viewer cannot grant keys", "POST", "/admin/v1/tenants/acme-corp/keys", viewer, `{"name":"k"}`, 403},
		{"viewer reads keys", "GET", "/admin/v1/tenants/acme-corp/keys", viewer, "", 200},
		{"viewer cannot read the raw feed", "GET", "/admin/v1/tenants/acme-corp/events", viewer, "", 403},
		{"auditor reads the raw feed", "GET", "/admin/v1/tenants/acme-corp/events", auditor, "", 200},
		{"another tenant is not found", "GET", "/admin/v1/tenants/other/keys", tenantAdmin, "", 404},
		{"another tenant cannot be changed", "POST", "/admin/v1/tenants/other/keys", tenantAdmin, `{"name":"k"}`, 404},
		{"missing tenant", "GET", "/admin/v1/tenants/nope/providers", platform, "", 404},
		{"key id not a uuid", "POST", "/admin/v1/tenants/acme-corp/keys/xyz/revoke", tenantAdmin, "", 404},
		{"unknown key", "POST", "/admin/v1/tenants/acme-corp/keys/2b1f6b2e-2c36-4a47-9b1e-9f6c3c1f0a11/revoke", tenantAdmin, "", 404},
		{"expiry in the past", "POST", "/admin/v1/tenants/acme-corp/keys", tenantAdmin, `{"name":"k","expires_at":"2001-01-01T00:00:00Z"}`, 400},
		{"bad group_by", "GET", "/admin/v1/tenants/acme-corp/spend?group_by=colour", tenantAdmin, "", 400},
		{"bad from", "GET", "/admin/v1/tenants/acme-corp/spend?from=yesterday", tenantAdmin, "", 400},
		{"bad limit", "GET", "/admin/v1/tenants/acme-corp/events?limit=5000", tenantAdmin, "", 400},
		{"bad after", "GET", "/admin/v1/tenants/acme-corp/events?after=x", tenantAdmin, "", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req, _ := http.NewRequest(c.method, s.URL+c.path, body)
			req.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			if c.status >= 400 {
				var p struct {
					Status int    `json:"status"`
					Title  string `json:"title"`
				}
				if resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(b, &p) != nil || p.Status != c.status || p.Title == "" {
					t.Fatalf("not a problem document: %s %s", resp.Header.Get("Content-Type"), b)
				}
			}
		})
	}
	if strings.Contains(in.logs.String(), `"level":"ERROR"`) {
		t.Fatalf("bad input logged as an error:\n%s", in.logs.String())
	}
}

func TestE2E_UnknownRoutesAnswerInTheirAPIsShape(t *testing.T) {
	in := newInstallation(t)
	s := in.start()
	for _, c := range []struct{ method, path, contentType, marker string }{
		{"GET", "/v1/nope", "application/json", `"error":{`},
		{"GET", "/v1/chat/completions", "application/json", `"error":{`},
		{"GET", "/admin/v1/nope", "application/problem+json", `"title":`},
	} {
		req, _ := http.NewRequest(c.method, s.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.contentType) || !strings.Contains(string(b), c.marker) {
			t.Errorf("%s %s: %d %s %s", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
}
