package admin

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
)

// AuthConfig says how admin tokens are verified: an HS256 secret or a
// public key (RS256, ES256/ES384, EdDSA), and the issuer and audience when set.
type AuthConfig struct {
	HMACSecret []byte
	PublicKey  crypto.PublicKey
	JWKS       *JWKS // keys picked by the token's kid
	Issuer     string
	Audience   string
}

// Claims are gatehouse's admin token claims.
type Claims struct {
	jwt.RegisteredClaims
	Roles  []string `json:"roles"`
	Tenant string   `json:"tenant,omitempty"`
}

// Verifier checks admin JWTs.
type Verifier struct {
	parser *jwt.Parser
	key    any
}

// NewVerifier builds a verifier; exactly one of secret and public key.
func NewVerifier(cfg AuthConfig) (*Verifier, error) {
	var methods []string
	var key any
	switch pk := cfg.PublicKey.(type) {
	case nil:
		if cfg.JWKS != nil {
			methods, key = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"}, cfg.JWKS
			break
		}
		if len(cfg.HMACSecret) < 32 {
			return nil, errors.New("admin JWT secret must be at least 32 bytes")
		}
		methods, key = []string{jwt.SigningMethodHS256.Alg()}, cfg.HMACSecret
	case *rsa.PublicKey:
		methods, key = []string{"RS256", "RS384", "RS512"}, pk
	case *ecdsa.PublicKey:
		switch pk.Curve {
		case elliptic.P256():
			methods = []string{"ES256"}
		case elliptic.P384():
			methods = []string{"ES384"}
		default:
			return nil, errors.New("admin JWT public key: only P-256 and P-384 ECDSA keys are supported")
		}
		key = pk
	case ed25519.PublicKey:
		methods, key = []string{"EdDSA"}, pk
	default:
		return nil, fmt.Errorf("admin JWT public key of type %T is not supported", cfg.PublicKey)
	}
	if (cfg.PublicKey != nil || cfg.JWKS != nil) && len(cfg.HMACSecret) > 0 || cfg.PublicKey != nil && cfg.JWKS != nil {
		return nil, errors.New("admin JWT: configure one of a secret, a public key or a JWKS URL")
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithLeeway(30 * time.Second)}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &Verifier{parser: jwt.NewParser(opts...), key: key}, nil
}

// errUnauthenticated is every failed verification, told apart only in logs.
var errUnauthenticated = errors.New("unauthenticated")

// Verify checks a token and returns who it names.
func (v *Verifier) Verify(token string) (access.Principal, error) {
	var claims Claims
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		set, ok := v.key.(*JWKS)
		if !ok {
			return v.key, nil
		}
		kid, _ := t.Header["kid"].(string)
		pk, err := set.Key(context.Background(), kid)
		if err != nil {
			return nil, err
		}
		if !algFits(t.Method.Alg(), pk) {
			return nil, fmt.Errorf("alg %s does not fit the key %q", t.Method.Alg(), kid)
		}
		return pk, nil
	})
	if err != nil {
		return access.Principal{}, fmt.Errorf("%w: %v", errUnauthenticated, err)
	}
	if claims.Subject == "" {
		return access.Principal{}, fmt.Errorf("%w: token has no sub", errUnauthenticated)
	}
	p := access.Principal{Subject: claims.Subject, TenantID: claims.Tenant}
	for _, r := range claims.Roles {
		role, err := access.ParseRole(r)
		if err != nil {
			return access.Principal{}, fmt.Errorf("%w: %v", errUnauthenticated, err)
		}
		p.Roles = append(p.Roles, role)
	}
	if len(p.Roles) == 0 {
		return access.Principal{}, fmt.Errorf("%w: token has no roles", errUnauthenticated)
	}
	return p, nil
}

const principalKey = "principal"

// authenticate requires a valid bearer token on every admin route it wraps.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get("Authorization")
		if len(h) < 8 || !strings.EqualFold(h[:7], "bearer ") {
			s.signInFailed(c, "missing bearer token")
			return s.unauthorized(c, "missing bearer token")
		}
		p, err := s.verifier.Verify(strings.TrimSpace(h[7:]))
		if err != nil {
			s.log.Info("admin token refused", "path", c.Path(), "reason", err.Error())
			s.signInFailed(c, err.Error())
			return s.unauthorized(c, "invalid or expired token")
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// signInFailed records a refused sign-in at a tenant's route in that
// tenant's log (rate-limited there); routes of no tenant record nothing.
func (s *Server) signInFailed(c echo.Context, reason string) {
	tenant := c.Param("tenant")
	if tenant == "" || s.uc.SignInFailed == nil {
		return
	}
	ip, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		ip = c.Request().RemoteAddr
	}
	if _, err := s.uc.SignInFailed.Handle(c.Request().Context(), command.RecordSignInFailure{TenantID: tenant, Reason: reason,
		Route: c.Request().Method + " " + c.Path(), RemoteAddr: ip, TraceID: middleware.TraceID(c)}); err != nil {
		s.log.Warn("record a refused sign-in", "tenant", tenant, "err", err)
	}
}

func (s *Server) unauthorized(c echo.Context, detail string) error {
	c.Response().Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin"`)
	return problem(c, http.StatusUnauthorized, "Unauthorized", detail)
}

func principal(c echo.Context) access.Principal {
	p, _ := c.Get(principalKey).(access.Principal)
	return p
}

// Mint signs an admin token with an HS256 secret or a private key; the
// token command uses it.
func Mint(signingKey any, claims Claims) (string, error) {
	var m jwt.SigningMethod
	switch k := signingKey.(type) {
	case []byte:
		m = jwt.SigningMethodHS256
	case *rsa.PrivateKey:
		m = jwt.SigningMethodRS256
	case *ecdsa.PrivateKey:
		m = jwt.SigningMethodES256
		if k.Curve == elliptic.P384() {
			m = jwt.SigningMethodES384
		}
	case ed25519.PrivateKey:
		m = jwt.SigningMethodEdDSA
	default:
		return "", fmt.Errorf("cannot sign with a key of type %T", signingKey)
	}
	return jwt.NewWithClaims(m, claims).SignedString(signingKey)
}

// algFits keeps a JWKS key to the algorithms of its own kind.
func algFits(alg string, pk crypto.PublicKey) bool {
	switch k := pk.(type) {
	case *rsa.PublicKey:
		return alg == "RS256" || alg == "RS384" || alg == "RS512"
	case *ecdsa.PublicKey:
		return (alg == "ES256" && k.Curve == elliptic.P256()) || (alg == "ES384" && k.Curve == elliptic.P384())
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
