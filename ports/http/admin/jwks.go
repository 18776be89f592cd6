package admin

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// JWKS holds the keys of a JSON Web Key Set fetched from a URL: cached,
// refreshed periodically, and fetched again (at most every minRefresh) when
// a token names a kid it does not hold, which is how an identity provider's
// key rotation reaches gatehouse.
type JWKS struct {
	url    string
	client *http.Client

	mu         sync.Mutex
	keys       map[string]crypto.PublicKey
	fetched    time.Time
	minRefresh time.Duration
}

const (
	jwksMaxAge     = 10 * time.Minute
	jwksMinRefresh = 10 * time.Second
)

// NewJWKS fetches the set once, so that a wrong URL stops start-up.
func NewJWKS(ctx context.Context, url string, client *http.Client) (*JWKS, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	j := &JWKS{url: url, client: client, minRefresh: jwksMinRefresh}
	if err := j.refresh(ctx); err != nil {
		return nil, err
	}
	return j, nil
}

// SetMinRefresh changes how soon an unknown kid may fetch the set again.
func (j *JWKS) SetMinRefresh(d time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.minRefresh = d
}

// Key returns the public key with the given kid.
func (j *JWKS) Key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	k, ok := j.keys[kid]
	stale := time.Since(j.fetched) > jwksMaxAge
	if (!ok || stale) && time.Since(j.fetched) >= j.minRefresh {
		if err := j.refreshLocked(ctx); err != nil && !ok {
			return nil, err
		}
		k, ok = j.keys[kid]
	}
	if !ok {
		return nil, fmt.Errorf("no key with kid %q in the JWKS", kid)
	}
	return k, nil
}

func (j *JWKS) refresh(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.refreshLocked(ctx)
}

func (j *JWKS) refreshLocked(ctx context.Context) error {
	j.fetched = time.Now() // also after a failure: do not hammer the provider
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return fmt.Errorf("JWKS: %w", err)
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return fmt.Errorf("JWKS fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS fetch: status %d", resp.StatusCode)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("JWKS: %w", err)
	}
	keys := map[string]crypto.PublicKey{}
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pk, err := k.publicKey()
		if err != nil {
			continue // a key of a kind gatehouse does not verify with: not usable, not fatal
		}
		keys[k.Kid] = pk
	}
	if len(keys) == 0 {
		return errors.New("JWKS: no usable signing key (RSA, EC P-256/P-384 or Ed25519)")
	}
	j.keys = keys
	return nil
}

// jwk is one JSON Web Key (RFC 7517/7518/8037).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func (k jwk) publicKey() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err1 := b64(k.N)
		e, err2 := b64(k.E)
		if err := errors.Join(err1, err2); err != nil || len(e) > 4 {
			return nil, fmt.Errorf("RSA key %s: bad n or e", k.Kid)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		default:
			return nil, fmt.Errorf("EC curve %q", k.Crv)
		}
		x, err1 := b64(k.X)
		y, err2 := b64(k.Y)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		pk := &ecdsa.PublicKey{Curve: curve, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		if !curve.IsOnCurve(pk.X, pk.Y) {
			return nil, errors.New("EC point not on curve")
		}
		return pk, nil
	case "OKP":
		x, err := b64(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("OKP key %s: only Ed25519", k.Kid)
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("key type %q", k.Kty)
}
