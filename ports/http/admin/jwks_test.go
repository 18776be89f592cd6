package admin_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/ports/http/admin"
)

// idp is an identity provider publishing a JWKS whose keys can change.
type idp struct {
	mu      sync.Mutex
	keys    []map[string]string
	fetches atomic.Int64
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (p *idp) publish(keys ...map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = keys
}

func (p *idp) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.fetches.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"keys": p.keys})
}

func rsaJWK(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "n": enc(k.N.Bytes()), "e": enc(big.NewInt(int64(k.E)).Bytes())}
}

func signKid(t *testing.T, m jwt.SigningMethod, key any, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims(nil))
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWKS_PicksTheKeyByKidAndFollowsARotation(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	p := &idp{}
	p.publish(rsaJWK("k1", &k1.PublicKey),
		map[string]string{"kty": "EC", "kid": "ec", "crv": "P-256", "x": enc(ec.PublicKey.X.FillBytes(make([]byte, 32))), "y": enc(ec.PublicKey.Y.FillBytes(make([]byte, 32)))},
		map[string]string{"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": enc(edPub)})
	srv := httptest.NewServer(p)
	defer srv.Close()
	set, err := admin.NewJWKS(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newAPI(t, admin.AuthConfig{JWKS: set})
	for name, tok := range map[string]string{
		"RS256": signKid(t, jwt.SigningMethodRS256, k1, "k1"),
		"ES256": signKid(t, jwt.SigningMethodES256, ec, "ec"),
		"EdDSA": signKid(t, jwt.SigningMethodEdDSA, edPriv, "ed"),
	} {
		if rec := get(e, "/admin/v1/tenants", tok); rec.Code != http.StatusOK {
			t.Fatalf("%s token refused: %d %s", name, rec.Code, rec.Body)
		}
	}
	// A token signed with k1 but naming the EC key's kid, an HS256 token, and
	// an unknown kid are refused.
	expectProblem(t, get(e, "/admin/v1/tenants", signKid(t, jwt.SigningMethodRS256, k1, "ec")), http.StatusUnauthorized)
	expectProblem(t, get(e, "/admin/v1/tenants", signKid(t, jwt.SigningMethodHS256, []byte(secret), "k1")), http.StatusUnauthorized)
	expectProblem(t, get(e, "/admin/v1/tenants", signKid(t, jwt.SigningMethodRS256, k2, "k2")), http.StatusUnauthorized)

	// The provider rotates to k2: a token with the new kid makes gatehouse
	// fetch the set again, and it is accepted.
	p.publish(rsaJWK("k2", &k2.PublicKey))
	set.SetMinRefresh(0)
	before := p.fetches.Load()
	if rec := get(e, "/admin/v1/tenants", signKid(t, jwt.SigningMethodRS256, k2, "k2")); rec.Code != http.StatusOK {
		t.Fatalf("token with the rotated-in kid refused: %d %s", rec.Code, rec.Body)
	}
	if p.fetches.Load() != before+1 {
		t.Fatalf("the set was fetched %d times for one unknown kid", p.fetches.Load()-before)
	}
	set.SetMinRefresh(time.Hour)
	expectProblem(t, get(e, "/admin/v1/tenants", signKid(t, jwt.SigningMethodRS256, k1, "k1")), http.StatusUnauthorized)
	if p.fetches.Load() != before+1 {
		t.Fatal("an unknown kid fetched the set again inside the refresh interval")
	}
}

func TestJWKS_RefusesASetWithoutUsableKeys(t *testing.T) {
	p := &idp{}
	p.publish(map[string]string{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"})
	srv := httptest.NewServer(p)
	defer srv.Close()
	if _, err := admin.NewJWKS(context.Background(), srv.URL, nil); err == nil {
		t.Fatal("a JWKS with only a symmetric key was accepted")
	}
}
