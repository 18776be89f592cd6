// Package providers builds the client for each provider connection: one
// package per provider kind, registered here in one line each.
package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/adapters/providers/anthropic"
	"github.com/gatehouse/gatehouse/adapters/providers/azure"
	"github.com/gatehouse/gatehouse/adapters/providers/bedrock"
	"github.com/gatehouse/gatehouse/adapters/providers/cohere"
	"github.com/gatehouse/gatehouse/adapters/providers/echo"
	"github.com/gatehouse/gatehouse/adapters/providers/gemini"
	"github.com/gatehouse/gatehouse/adapters/providers/imagefetch"
	"github.com/gatehouse/gatehouse/adapters/providers/openai"
	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/domain/provider"
)

// SealedCredentials reads a connection's sealed secret fields.
type SealedCredentials interface {
	ProviderCredentials(ctx context.Context, tenantID string, providerID uuid.UUID) ([]byte, error)
}

// Opener decrypts what the vault sealed.
type Opener interface {
	Open(sealed []byte, aad ...string) ([]byte, error)
}

// Registry hands out one client per connection, built on first use with
// the connection's decrypted credentials and kept for the next call.
type Registry struct {
	creds  SealedCredentials
	opener Opener
	http   *http.Client
	images *imagefetch.Fetcher
	now    func() time.Time

	mu      sync.RWMutex
	clients map[uuid.UUID]client
}

// client is a connection's client, and the credentials it was built with.
type client struct {
	credentials int
	upstream    proxy.Upstream
}

// NewRegistry builds the registry.
func NewRegistry(creds SealedCredentials, opener Opener, now func() time.Time) *Registry {
	if creds == nil || opener == nil || now == nil {
		panic("providers.NewRegistry: nil dependency")
	}
	return &Registry{creds: creds, opener: opener, http: NewHTTPClient(), images: imagefetch.New(), now: now, clients: map[uuid.UUID]client{}}
}

// NewHTTPClient is the upstream client: pooled keep-alive connections, no
// overall timeout (streams may run long; the request context bounds them).
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Minute,
		DisableCompression:    true, // pass bytes through as the upstream sends them
	}}
}

var _ proxy.Upstreams = (*Registry)(nil)

// For returns the connection's client, built again when the connection's
// credentials were rotated since.
func (r *Registry) For(ctx context.Context, c provider.Connection) (proxy.Upstream, error) {
	r.mu.RLock()
	cl, ok := r.clients[c.ID]
	r.mu.RUnlock()
	if ok && cl.credentials == c.Credentials {
		return cl.upstream, nil
	}
	u, err := r.build(ctx, c)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if cur, ok := r.clients[c.ID]; !ok || cur.credentials <= c.Credentials {
		r.clients[c.ID] = client{credentials: c.Credentials, upstream: u}
	}
	r.mu.Unlock()
	return u, nil
}

func (r *Registry) build(ctx context.Context, c provider.Connection) (proxy.Upstream, error) {
	if c.Kind == provider.KindEcho {
		return echo.New(r.now), nil
	}
	creds, err := r.credentials(ctx, c)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Kind == provider.KindAzureOpenAI:
		return azure.New(c.BaseURL, c.Settings, creds.APIKey, r.http), nil
	case c.Kind.SpeaksOpenAI():
		return openai.New(c.BaseURL, creds.APIKey, r.http), nil
	case c.Kind == provider.KindAnthropic:
		return anthropic.New(c.BaseURL, creds.APIKey, r.http, r.now), nil
	case c.Kind == provider.KindGemini:
		return gemini.New(c.BaseURL, creds.APIKey, r.http, r.now), nil
	case c.Kind == provider.KindCohere:
		return cohere.New(c.BaseURL, creds.APIKey, r.http, r.now), nil
	case c.Kind == provider.KindBedrock:
		return bedrock.New(c.BaseURL, c.Settings.Region, bedrock.Credentials{AccessKeyID: creds.AWSAccessKeyID,
			SecretAccessKey: creds.AWSSecretAccessKey, SessionToken: creds.AWSSessionToken}, r.http, r.images, r.now), nil
	}
	return nil, fmt.Errorf("provider kind %q has no client", c.Kind)
}

func (r *Registry) credentials(ctx context.Context, c provider.Connection) (command.Credentials, error) {
	sealed, err := r.creds.ProviderCredentials(ctx, c.TenantID, c.ID)
	if err != nil {
		return command.Credentials{}, err
	}
	plain, err := r.opener.Open(sealed, command.CredentialsAAD(c.TenantID, c.ID)...)
	if err != nil {
		return command.Credentials{}, fmt.Errorf("provider %s credentials: %w", c.Name, err)
	}
	var creds command.Credentials
	if err := json.Unmarshal(plain, &creds); err != nil {
		return command.Credentials{}, fmt.Errorf("provider %s credentials: %w", c.Name, err)
	}
	return creds, nil
}
