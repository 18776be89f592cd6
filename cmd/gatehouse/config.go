package main

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/adapters/vault"
	"github.com/gatehouse/gatehouse/ports/http/admin"
)

// Config is every setting, read and checked once at start.
type Config struct {
	DatabaseURL     string
	Addr            string
	DebugAddr       string // pprof, on its own listener; off when empty
	MasterKey       []byte
	Auth            admin.AuthConfig
	JWKSURL         string // fetched at start into Auth.JWKS
	SigningKey      any    // what `gatehouse token` signs with: the HS256 secret or a private key
	LogLevel        slog.Level
	LogFormat       string
	EventBuffer     int
	ShutdownTimeout time.Duration
	RedisURL        string
	RedisKeyPrefix  string
	MetricsTenant   bool
	AuditKey        string        // the checkpoint signing key in note format, when given
	Installation    string        // names a new audit key: gatehouse/<installation>
	AuditInterval   time.Duration // how often checkpoints are signed while events arrive
	OTLPEndpoint    string        // where spans go over OTLP/HTTP; tracing is off when empty
}

// setting is one configuration variable: its environment name and what it says.
type setting struct {
	env, help string
}

// settings is the configuration table (README has the same, for people).
var settings = []setting{
	{"DATABASE_URL", "Postgres URL (required by serve, migrate, replay)"},
	{"GATEHOUSE_ADDR", "listen address, default :8080"},
	{"GATEHOUSE_MASTER_KEY", "32 bytes, base64: seals provider credentials at rest (required by serve)"},
	{"GATEHOUSE_ADMIN_JWT_SECRET", "HS256 secret for admin tokens, at least 32 bytes"},
	{"GATEHOUSE_ADMIN_JWT_PUBLIC_KEY", "PEM file with an RSA, ECDSA (P-256/P-384) or Ed25519 public key for admin tokens"},
	{"GATEHOUSE_ADMIN_JWT_JWKS_URL", "instead of a secret or key file: the identity provider's JWKS URL (keys picked by kid, refreshed on an unknown kid)"},
	{"GATEHOUSE_ADMIN_JWT_PRIVATE_KEY", "PEM file with the matching private key, used only by `gatehouse token`"},
	{"GATEHOUSE_ADMIN_JWT_ISSUER", "required iss of admin tokens, when set"},
	{"GATEHOUSE_ADMIN_JWT_AUDIENCE", "required aud of admin tokens, when set"},
	{"GATEHOUSE_DEBUG_ADDR", "when set, serves Go's pprof profiles on this separate address (keep it private)"},
	{"GATEHOUSE_LOG_LEVEL", "debug, info, warn or error; default info"},
	{"GATEHOUSE_LOG_FORMAT", "json or text; default text on a terminal, else json"},
	{"GATEHOUSE_EVENT_BUFFER", "events held in memory before requests are refused (503); default 10000"},
	{"GATEHOUSE_SHUTDOWN_TIMEOUT", "how long a graceful stop may take, default 30s"},
	{"REDIS_URL", "when set (redis://host:6379/0), the exact cache of routing configs lives in Redis; else in Postgres"},
	{"GATEHOUSE_METRICS_TENANT_LABEL", "true or false: whether /metrics labels series with the tenant; default true"},
	{"GATEHOUSE_AUDIT_SIGNING_KEY", "the audit checkpoints' Ed25519 signing key in signed-note format (PRIVATE+KEY+gatehouse/<installation>+…); when unset, one is generated at first start and kept sealed with the master key"},
	{"GATEHOUSE_INSTALLATION", "the installation's name in audit checkpoints (gatehouse/<installation>/<tenant>), used when the first key is generated; default a random id"},
	{"GATEHOUSE_AUDIT_CHECKPOINT_INTERVAL", "how often each tenant's growing log gets a signed checkpoint, default 5s"},
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "when set (http://collector:4318), a span per request goes there over OTLP/HTTP, with child spans for policy, guardrails, upstream attempts and the event append; off when unset"},
	{"GATEHOUSE_REDIS_KEY_PREFIX", "prefix of gatehouse's keys in Redis, default gatehouse: (installations sharing a Redis set their own)"},
}

// lookup reads settings from the environment, then from the YAML file
// (keys are the variable names in lower case without GATEHOUSE_).
type lookup func(name string) string

func newLookup(getenv func(string) string, file string) (lookup, error) {
	fromFile := map[string]string{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
		var raw map[string]any
		if err := yaml.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("--config %s: %w", file, err)
		}
		known := map[string]bool{}
		for _, s := range settings {
			known[fileKey(s.env)] = true
		}
		for k, v := range raw {
			if !known[k] {
				return nil, fmt.Errorf("--config %s: unknown setting %q", file, k)
			}
			fromFile[k] = fmt.Sprint(v)
		}
	}
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return fromFile[fileKey(name)]
	}, nil
}

func fileKey(env string) string { return strings.ToLower(strings.TrimPrefix(env, "GATEHOUSE_")) }

// need says which settings a command requires.
type need struct{ database, masterKey, adminAuth, signing bool }

// loadConfig reads and checks every setting, reporting all problems at
// once, each on a line naming the variable.
func loadConfig(get lookup, n need) (Config, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	cfg := Config{
		DatabaseURL: get("DATABASE_URL"), Addr: get("GATEHOUSE_ADDR"), DebugAddr: get("GATEHOUSE_DEBUG_ADDR"), LogFormat: get("GATEHOUSE_LOG_FORMAT"),
		EventBuffer: 10000, ShutdownTimeout: 30 * time.Second, RedisURL: get("REDIS_URL"),
		RedisKeyPrefix: get("GATEHOUSE_REDIS_KEY_PREFIX"), AuditKey: get("GATEHOUSE_AUDIT_SIGNING_KEY"),
		Installation: get("GATEHOUSE_INSTALLATION"), AuditInterval: 5 * time.Second, OTLPEndpoint: get("OTEL_EXPORTER_OTLP_ENDPOINT"),
	}
	if cfg.OTLPEndpoint != "" {
		if u, err := url.Parse(cfg.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("OTEL_EXPORTER_OTLP_ENDPOINT", "must be an http:// or https:// URL")
		}
	}
	if cfg.Installation != "" && !validInstallation(cfg.Installation) {
		bad("GATEHOUSE_INSTALLATION", "must be 1-63 letters, digits, '.', '_' or '-'")
	}
	if cfg.RedisKeyPrefix == "" {
		cfg.RedisKeyPrefix = "gatehouse:"
	}
	switch v := strings.ToLower(get("GATEHOUSE_METRICS_TENANT_LABEL")); v {
	case "", "true", "1", "yes":
		cfg.MetricsTenant = true
	case "false", "0", "no":
	default:
		bad("GATEHOUSE_METRICS_TENANT_LABEL", "must be true or false")
	}
	if cfg.RedisURL != "" {
		if u, err := url.Parse(cfg.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("REDIS_URL", "must be a redis:// or rediss:// URL")
		}
	}
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	if n.database && cfg.DatabaseURL == "" {
		bad("DATABASE_URL", "is required")
	}
	if mk := get("GATEHOUSE_MASTER_KEY"); mk != "" {
		k, err := vault.ParseMasterKey(mk)
		if err != nil {
			bad("GATEHOUSE_MASTER_KEY", "%v (generate one with: openssl rand -base64 32)", err)
		}
		cfg.MasterKey = k
	} else if n.masterKey {
		bad("GATEHOUSE_MASTER_KEY", "is required: 32 random bytes, base64 (openssl rand -base64 32)")
	}

	secret, pubFile, privFile := get("GATEHOUSE_ADMIN_JWT_SECRET"), get("GATEHOUSE_ADMIN_JWT_PUBLIC_KEY"), get("GATEHOUSE_ADMIN_JWT_PRIVATE_KEY")
	cfg.Auth.Issuer, cfg.Auth.Audience = get("GATEHOUSE_ADMIN_JWT_ISSUER"), get("GATEHOUSE_ADMIN_JWT_AUDIENCE")
	jwksURL := get("GATEHOUSE_ADMIN_JWT_JWKS_URL")
	set := 0
	for _, v := range []string{secret, pubFile, jwksURL} {
		if v != "" {
			set++
		}
	}
	switch {
	case set > 1:
		bad("GATEHOUSE_ADMIN_JWT_SECRET", "set only one of it, GATEHOUSE_ADMIN_JWT_PUBLIC_KEY and GATEHOUSE_ADMIN_JWT_JWKS_URL")
	case jwksURL != "":
		if u, err := url.Parse(jwksURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("GATEHOUSE_ADMIN_JWT_JWKS_URL", "must be an absolute http(s) URL")
		}
		cfg.JWKSURL = jwksURL
		if n.signing && privFile == "" {
			bad("GATEHOUSE_ADMIN_JWT_JWKS_URL", "admin tokens come from the identity provider that publishes it; gatehouse token needs GATEHOUSE_ADMIN_JWT_PRIVATE_KEY")
		}
	case secret != "":
		if len(secret) < 32 {
			bad("GATEHOUSE_ADMIN_JWT_SECRET", "must be at least 32 bytes")
		}
		cfg.Auth.HMACSecret, cfg.SigningKey = []byte(secret), []byte(secret)
	case pubFile != "":
		pk, err := readPublicKey(pubFile)
		if err != nil {
			bad("GATEHOUSE_ADMIN_JWT_PUBLIC_KEY", "%v", err)
		}
		cfg.Auth.PublicKey = pk
	case n.adminAuth || n.signing:
		bad("GATEHOUSE_ADMIN_JWT_SECRET", "is required (or GATEHOUSE_ADMIN_JWT_PUBLIC_KEY, or GATEHOUSE_ADMIN_JWT_JWKS_URL)")
	}
	if privFile != "" {
		k, err := readPrivateKey(privFile)
		if err != nil {
			bad("GATEHOUSE_ADMIN_JWT_PRIVATE_KEY", "%v", err)
		}
		cfg.SigningKey = k
	} else if n.signing && pubFile != "" {
		bad("GATEHOUSE_ADMIN_JWT_PRIVATE_KEY", "is required to mint tokens when admin tokens are checked with a public key")
	}
	if n.adminAuth && cfg.JWKSURL == "" && (cfg.Auth.HMACSecret != nil || cfg.Auth.PublicKey != nil) {
		if _, err := admin.NewVerifier(cfg.Auth); err != nil {
			bad("GATEHOUSE_ADMIN_JWT_PUBLIC_KEY", "%v", err)
		}
	}

	switch strings.ToLower(get("GATEHOUSE_LOG_LEVEL")) {
	case "", "info":
		cfg.LogLevel = slog.LevelInfo
	case "debug":
		cfg.LogLevel = slog.LevelDebug
	case "warn":
		cfg.LogLevel = slog.LevelWarn
	case "error":
		cfg.LogLevel = slog.LevelError
	default:
		bad("GATEHOUSE_LOG_LEVEL", "must be debug, info, warn or error")
	}
	switch cfg.LogFormat {
	case "", "json", "text": // "": text on a terminal, else JSON
	default:
		bad("GATEHOUSE_LOG_FORMAT", "must be json or text")
	}
	if v := get("GATEHOUSE_EVENT_BUFFER"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad("GATEHOUSE_EVENT_BUFFER", "must be a positive integer")
		}
		cfg.EventBuffer = n
	}
	if v := get("GATEHOUSE_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad("GATEHOUSE_SHUTDOWN_TIMEOUT", "must be a positive duration such as 30s")
		}
		cfg.ShutdownTimeout = d
	}
	if v := get("GATEHOUSE_AUDIT_CHECKPOINT_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond {
			bad("GATEHOUSE_AUDIT_CHECKPOINT_INTERVAL", "must be a duration of at least 100ms, such as 5s")
		}
		cfg.AuditInterval = d
	}
	return cfg, errors.Join(errs...)
}

func validInstallation(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func readPEM(file string) (*pem.Block, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block in " + file)
	}
	return block, nil
}

func readPublicKey(file string) (crypto.PublicKey, error) {
	block, err := readPEM(file)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return k, nil
	}
	if c, err := x509.ParseCertificate(block.Bytes); err == nil {
		return c.PublicKey, nil
	}
	return nil, errors.New("not a PEM public key or certificate")
}

func readPrivateKey(file string) (any, error) {
	block, err := readPEM(file)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PEM private key")
}
