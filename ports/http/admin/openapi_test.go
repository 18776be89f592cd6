package admin_test

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/api"
	"github.com/gatehouse/gatehouse/ports/http/admin"
)

var pathParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// TestOpenAPI_DocumentsEveryAdminRouteAndNothingElse compares the routes
// echo serves under /admin/v1 with the paths and methods of api/openapi.yaml.
func TestOpenAPI_DocumentsEveryAdminRouteAndNothingElse(t *testing.T) {
	var spec struct {
		OpenAPI string                            `yaml:"openapi"`
		Paths   map[string]map[string]interface{} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &spec); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", spec.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range spec.Paths {
		for method := range ops {
			switch method {
			case "get", "post", "put", "patch", "delete":
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	e := echo.New()
	v, err := admin.NewVerifier(admin.AuthConfig{HMACSecret: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	admin.NewServer(v, admin.UseCases{}, quiet).Register(e)
	served := map[string]bool{}
	for _, r := range e.Routes() {
		if !strings.HasPrefix(r.Path, admin.Prefix) || r.Method == echo.RouteNotFound {
			continue
		}
		served[r.Method+" "+pathParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var missing, stale []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			stale = append(stale, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("routes served but not in api/openapi.yaml: %v", missing)
	}
	if len(stale) > 0 {
		t.Errorf("routes in api/openapi.yaml that are not served: %v", stale)
	}
	if len(served) < 10 {
		t.Fatalf("only %d admin routes found: the test is not seeing the API", len(served))
	}
	if _, ok := served[http.MethodGet+" "+admin.Prefix+"/openapi.yaml"]; !ok {
		t.Fatal("the spec is not served")
	}
}
