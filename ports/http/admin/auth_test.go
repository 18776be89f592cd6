package admin_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/tenancy"
	"github.com/gatehouse/gatehouse/ports/http/admin"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
	"github.com/gatehouse/gatehouse/ports/projectors"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const secret = "0123456789abcdef0123456789abcdef-test"

// newAPI serves the admin API over a directory holding tenants acme and other.
func newAPI(t *testing.T, cfg admin.AuthConfig) *echo.Echo {
	t.Helper()
	v, err := admin.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := projectors.NewDirectory()
	for _, id := range []string{"acme", "other"} {
		dir.Apply([]eventlog.Recorded{{Envelope: eventlog.Envelope{TenantID: id, Version: 1, OccurredAt: time.Now(),
			Event: tenancy.TenantCreated{V: 1, TenantID: id, Name: id}}}})
	}
	e := echo.New()
	e.Use(middleware.Trace())
	admin.NewServer(v, admin.UseCases{
		ListTenants: query.NewListTenantsHandler(dir),
		GetTenant:   query.NewGetTenantHandler(dir),
	}, quiet).Register(e)
	return e
}

func claims(mod func(*admin.Claims)) admin.Claims {
	now := time.Now()
	c := admin.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: "ann", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now)},
		Roles:            []string{"platform_admin"},
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

func sign(t *testing.T, m jwt.SigningMethod, key any, c admin.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(e *echo.Echo, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func expectProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q", ct)
	}
	var p admin.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != status || p.Title == "" {
		t.Fatalf("problem body %s (%v)", rec.Body, err)
	}
}

func TestAuth_HS256RefusesEveryBadToken(t *testing.T) {
	e := newAPI(t, admin.AuthConfig{HMACSecret: []byte(secret), Issuer: "https://idp.example", Audience: "gatehouse"})
	good := func(c *admin.Claims) { c.Issuer = "https://idp.example"; c.Audience = jwt.ClaimStrings{"gatehouse"} }
	hs := func(mod func(*admin.Claims)) string {
		return sign(t, jwt.SigningMethodHS256, []byte(secret), claims(func(c *admin.Claims) { good(c); mod(c) }))
	}
	if rec := get(e, "/admin/v1/tenants", hs(func(*admin.Claims) {})); rec.Code != http.StatusOK {
		t.Fatalf("valid token refused: %d %s", rec.Code, rec.Body)
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(good)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	cases := map[string]string{
		"missing":        "",
		"garbage":        "not.a.token",
		"alg none":       none,
		"wrong secret":   sign(t, jwt.SigningMethodHS256, []byte(secret+"x"), claims(good)),
		"HS512":          sign(t, jwt.SigningMethodHS512, []byte(secret), claims(good)),
		"expired":        hs(func(c *admin.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour)) }),
		"no expiry":      hs(func(c *admin.Claims) { c.ExpiresAt = nil }),
		"not yet valid":  hs(func(c *admin.Claims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)) }),
		"wrong issuer":   hs(func(c *admin.Claims) { c.Issuer = "https://evil.example" }),
		"wrong audience": hs(func(c *admin.Claims) { c.Audience = jwt.ClaimStrings{"other"} }),
		"no roles":       hs(func(c *admin.Claims) { c.Roles = nil }),
		"unknown role":   hs(func(c *admin.Claims) { c.Roles = []string{"root"} }),
		"no subject":     hs(func(c *admin.Claims) { c.Subject = "" }),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			rec := get(e, "/admin/v1/tenants", tok)
			expectProblem(t, rec, http.StatusUnauthorized)
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("no WWW-Authenticate header")
			}
		})
	}
}

func TestAuth_PublicKeysAndAlgorithmConfusion(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	cases := []struct {
		name   string
		pub    any
		method jwt.SigningMethod
		priv   any
	}{
		{"RS256", &rsaKey.PublicKey, jwt.SigningMethodRS256, rsaKey},
		{"ES256", &ecKey.PublicKey, jwt.SigningMethodES256, ecKey},
		{"EdDSA", edPub, jwt.SigningMethodEdDSA, edPriv},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newAPI(t, admin.AuthConfig{PublicKey: c.pub})
			if rec := get(e, "/admin/v1/tenants", sign(t, c.method, c.priv, claims(nil))); rec.Code != http.StatusOK {
				t.Fatalf("valid %s token refused: %d %s", c.name, rec.Code, rec.Body)
			}
			// HS/RS confusion: an HS256 token whose secret is the public key's bytes.
			der, _ := x509.MarshalPKIXPublicKey(c.pub)
			pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			for _, k := range [][]byte{der, pemBytes} {
				expectProblem(t, get(e, "/admin/v1/tenants", sign(t, jwt.SigningMethodHS256, k, claims(nil))), http.StatusUnauthorized)
			}
		})
	}
}

func TestAuth_TenantTokenCannotSeeAnotherTenant(t *testing.T) {
	e := newAPI(t, admin.AuthConfig{HMACSecret: []byte(secret)})
	tok := sign(t, jwt.SigningMethodHS256, []byte(secret), claims(func(c *admin.Claims) {
		c.Roles, c.Tenant = []string{"tenant_admin"}, "acme"
	}))
	if rec := get(e, "/admin/v1/tenants/acme", tok); rec.Code != http.StatusOK {
		t.Fatalf("own tenant: %d %s", rec.Code, rec.Body)
	}
	other := get(e, "/admin/v1/tenants/other", tok)
	missing := get(e, "/admin/v1/tenants/nope", tok)
	expectProblem(t, other, http.StatusNotFound)
	expectProblem(t, missing, http.StatusNotFound)
	var a, b admin.Problem
	json.Unmarshal(other.Body.Bytes(), &a)
	json.Unmarshal(missing.Body.Bytes(), &b)
	if a.Title != b.Title || a.Detail != b.Detail {
		t.Fatalf("another tenant's resource is told apart from a missing one: %+v vs %+v", a, b)
	}
	var list struct {
		Tenants []struct{ ID string } `json:"tenants"`
	}
	json.Unmarshal(get(e, "/admin/v1/tenants", tok).Body.Bytes(), &list)
	if len(list.Tenants) != 1 || list.Tenants[0].ID != "acme" {
		t.Fatalf("tenant token lists %+v", list.Tenants)
	}
}
