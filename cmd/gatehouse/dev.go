package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/provider"
)

// stateDir is where `gatehouse dev` keeps its cluster and credentials.
const stateDir = ".gatehouse"

// devState is what a second `gatehouse dev` reuses. It holds local secrets
// (mode 0600, under .gatehouse/, which git ignores).
type devState struct {
	MasterKey  string `json:"master_key"`
	JWTSecret  string `json:"admin_jwt_secret"`
	VirtualKey string `json:"virtual_key,omitempty"`
}

func randomBase64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func loadDevState(dir string) (*devState, error) {
	path := filepath.Join(dir, "dev.json")
	s := &devState{}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, s); err != nil {
			return nil, fmt.Errorf("%s: %w (delete it to start afresh)", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	if s.MasterKey == "" || s.JWTSecret == "" {
		s.MasterKey, s.JWTSecret = randomBase64(32), randomBase64(48)
		if err := s.save(dir); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *devState) save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return os.WriteFile(filepath.Join(dir, "dev.json"), b, 0o600)
}

// dev is the one-command local start.
func dev(ctx context.Context, getenv func(string) string, configFile string, stdout, stderr io.Writer) error {
	state, err := loadDevState(stateDir)
	if err != nil {
		return err
	}
	dbURL := getenv("DATABASE_URL")
	if dbURL == "" {
		cluster, err := newDevCluster(stateDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "starting a private Postgres in %s …\n", cluster.dir)
		if err := cluster.ensure(ctx); err != nil {
			return err
		}
		defer func() {
			if err := cluster.stop(); err != nil {
				fmt.Fprintln(stderr, "gatehouse dev:", err)
			}
		}()
		dbURL = cluster.URL("gatehouse")
	}
	defaults := map[string]string{
		"DATABASE_URL":               dbURL,
		"GATEHOUSE_MASTER_KEY":       state.MasterKey,
		"GATEHOUSE_ADMIN_JWT_SECRET": state.JWTSecret,
		"GATEHOUSE_LOG_FORMAT":       "text",
		"GATEHOUSE_LOG_LEVEL":        "warn",
	}
	withDefaults := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return defaults[name]
	}
	cfg, err := configure(withDefaults, configFile, need{database: true, masterKey: true, adminAuth: true, signing: true})
	if err != nil {
		return err
	}
	return serve(ctx, cfg, true, stdout, stderr, func(addr string, g *gateway) error {
		return bootstrap(ctx, g, state, getenv, addr, stdout)
	})
}

// devTenant is the tenant dev bootstraps.
const devTenant = "default"

func ignoreExists(err error) error {
	if errors.Is(err, command.ErrExists) {
		return nil
	}
	return err
}

// bootstrap creates (or finds) the tenant, providers and key, and prints
// how to call the gateway.
func bootstrap(ctx context.Context, g *gateway, state *devState, getenv func(string) string, addr string, stdout io.Writer) error {
	now := time.Now()
	who := command.Actor{Principal: access.Principal{Subject: "gatehouse-dev", Roles: []access.Role{access.PlatformAdmin}}, TraceID: "dev-bootstrap"}
	if _, err := g.commands.createTenant.Handle(ctx, command.CreateTenant{Actor: who, ID: devTenant, Name: devTenant}); ignoreExists(err) != nil {
		return fmt.Errorf("bootstrap tenant: %w", err)
	}
	conns := []command.ConnectProvider{{Actor: who, TenantID: devTenant, Name: "echo", Kind: provider.KindEcho}}
	for _, e := range envProviders {
		if k := getenv(e.env); k != "" {
			conns = append(conns, command.ConnectProvider{Actor: who, TenantID: devTenant, Name: e.name, Kind: e.kind, Credentials: command.Credentials{APIKey: k}})
		}
	}
	for _, c := range conns {
		if _, err := g.commands.connectProvider.Handle(ctx, c); ignoreExists(err) != nil {
			return fmt.Errorf("bootstrap provider %s: %w", c.Name, err)
		}
	}
	h := key.HashSecret(state.VirtualKey)
	if k, ok := g.directory.KeyBySecret(h); !ok || k.Usable(now) != nil || k.Authenticates(h, now) != nil {
		granted, err := g.commands.grantKey.Handle(ctx, command.GrantKey{Actor: who, TenantID: devTenant, Settings: key.Settings{Name: "dev"}})
		if err != nil {
			return fmt.Errorf("bootstrap key: %w", err)
		}
		state.VirtualKey = granted.Secret
		if err := state.save(stateDir); err != nil {
			return err
		}
	}
	tok, err := mintToken(g.cfg, "gatehouse-dev", []string{string(access.PlatformAdmin)}, "", 24*time.Hour, now)
	if err != nil {
		return err
	}
	base := "http://" + displayAddr(addr)
	fmt.Fprintf(stdout, `
gatehouse is running at %[1]s

  tenant       %[2]s
  virtual key  %[3]s
  admin token  %[4]s
               (platform_admin, valid 24 h; mint another with: gatehouse token --role platform_admin)
  providers    echo (offline)%[5]s

Try it:

  curl %[1]s/v1/chat/completions \
    -H "Authorization: Bearer %[3]s" \
    -H "Content-Type: application/json" \
    -d '{"model": "echo/echo-1", "messages": [{"role": "user", "content": "Hello, gatehouse"}]}'

  curl %[1]s/admin/v1/tenants/%[2]s/events -H "Authorization: Bearer %[4]s"

Press Ctrl-C to stop gatehouse and its private Postgres.
`, base, devTenant, state.VirtualKey, tok, extraProviders(getenv))
	return nil
}

// envProviders are the providers `dev` connects when their key is set.
var envProviders = []struct {
	env, name string
	kind      provider.Kind
}{
	{"OPENAI_API_KEY", "openai", provider.KindOpenAI},
	{"ANTHROPIC_API_KEY", "anthropic", provider.KindAnthropic},
}

func extraProviders(getenv func(string) string) string {
	var out strings.Builder
	for _, e := range envProviders {
		if getenv(e.env) != "" {
			fmt.Fprintf(&out, ", %s (from %s)", e.name, e.env)
		}
	}
	return out.String()
}

func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "::" || host == "0.0.0.0" || strings.HasPrefix(host, "[") {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
