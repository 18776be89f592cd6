package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/ports/http/admin"
)

func token(fs *flag.FlagSet, configFile *string, args []string, getenv func(string) string, stdout io.Writer) error {
	var roles multi
	fs.Var(&roles, "role", "role to grant (repeatable): platform_admin, tenant_admin, auditor, viewer")
	tenant := fs.String("tenant", "", "tenant the token is for (omit for platform-wide roles)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	sub := fs.String("sub", "gatehouse-cli", "who the token names (sub claim)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if len(roles) == 0 {
		return fmt.Errorf("token: --role is required")
	}
	for _, r := range roles {
		if _, err := access.ParseRole(r); err != nil {
			return fmt.Errorf("token: %w", err)
		}
	}
	if *ttl <= 0 {
		return errors.New("token: --ttl must be positive")
	}
	cfg, err := configure(getenv, *configFile, need{signing: true})
	if err != nil {
		return err
	}
	t, err := mintToken(cfg, *sub, roles, *tenant, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, t)
	return nil
}

func mintToken(cfg Config, sub string, roles []string, tenant string, ttl time.Duration, now time.Time) (string, error) {
	claims := admin.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: sub, Issuer: cfg.Auth.Issuer,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Roles: roles, Tenant: tenant,
	}
	if cfg.Auth.Audience != "" {
		claims.Audience = jwt.ClaimStrings{cfg.Auth.Audience}
	}
	return admin.Mint(cfg.SigningKey, claims)
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return fmt.Sprint(*m) }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }
