// Package provider owns provider connections: a tenant's named link to a
// model provider (its kind, where it lives), and the rules for naming one.
// Credentials are not part of the connection's events: they are sealed and
// stored beside them.
package provider

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// Kind is the dialect and auth scheme of a provider.
type Kind string

const (
	KindOpenAI           Kind = "openai"
	KindOpenAICompatible Kind = "openai-compatible"
	KindAnthropic        Kind = "anthropic"
	KindAzureOpenAI      Kind = "azure-openai"
	KindGemini           Kind = "gemini"
	KindCohere           Kind = "cohere"
	KindBedrock          Kind = "bedrock"
	// OpenAI-compatible presets: the OpenAI dialect at a known address.
	KindMistral    Kind = "mistral"
	KindGroq       Kind = "groq"
	KindTogether   Kind = "together"
	KindDeepSeek   Kind = "deepseek"
	KindXAI        Kind = "xai"
	KindOpenRouter Kind = "openrouter"
	KindFireworks  Kind = "fireworks"
	KindPerplexity Kind = "perplexity"
	KindOllama     Kind = "ollama"
	KindVLLM       Kind = "vllm"
	// KindEcho answers offline by echoing the prompt; it makes the whole path
	// work without internet.
	KindEcho Kind = "echo"
)

// spec is what a kind needs: where it lives unless told, whether it needs
// a key, and whether it speaks OpenAI's dialect.
type spec struct {
	baseURL    string // "" with needsURL: the connection must name one
	needsURL   bool
	needsKey   bool // an api_key
	needsAWS   bool // an AWS access key and secret, and a region
	openAIWire bool
}

var specs = map[Kind]spec{
	KindOpenAI:           {baseURL: "https://api.openai.com/v1", needsKey: true, openAIWire: true},
	KindOpenAICompatible: {needsURL: true, openAIWire: true},
	KindAnthropic:        {baseURL: "https://api.anthropic.com", needsKey: true},
	KindAzureOpenAI:      {needsURL: true, needsKey: true, openAIWire: true},
	KindGemini:           {baseURL: "https://generativelanguage.googleapis.com/v1beta", needsKey: true},
	KindCohere:           {baseURL: "https://api.cohere.com", needsKey: true},
	KindBedrock:          {needsAWS: true}, // its address follows from its region
	KindMistral:          {baseURL: "https://api.mistral.ai/v1", needsKey: true, openAIWire: true},
	KindGroq:             {baseURL: "https://api.groq.com/openai/v1", needsKey: true, openAIWire: true},
	KindTogether:         {baseURL: "https://api.together.xyz/v1", needsKey: true, openAIWire: true},
	KindDeepSeek:         {baseURL: "https://api.deepseek.com/v1", needsKey: true, openAIWire: true},
	KindXAI:              {baseURL: "https://api.x.ai/v1", needsKey: true, openAIWire: true},
	KindOpenRouter:       {baseURL: "https://openrouter.ai/api/v1", needsKey: true, openAIWire: true},
	KindFireworks:        {baseURL: "https://api.fireworks.ai/inference/v1", needsKey: true, openAIWire: true},
	KindPerplexity:       {baseURL: "https://api.perplexity.ai", needsKey: true, openAIWire: true},
	KindOllama:           {baseURL: "http://localhost:11434/v1", openAIWire: true},
	KindVLLM:             {needsURL: true, openAIWire: true},
	KindEcho:             {},
}

// missingSecrets says which secret fields a kind needs that were not given.
func (sp spec) missingSecrets(kind Kind, given []string) error {
	var need []string
	if sp.needsKey {
		need = append(need, "api_key")
	}
	if sp.needsAWS {
		need = append(need, "aws_access_key_id", "aws_secret_access_key")
	}
	for _, n := range need {
		if !slices.Contains(given, n) {
			return fmt.Errorf("%w: kind %s needs %s", ErrInvalid, kind, strings.Join(need, " and "))
		}
	}
	return nil
}

// Kinds lists the kinds a connection may have, in a stable order.
func Kinds() []Kind {
	return []Kind{KindOpenAI, KindOpenAICompatible, KindAnthropic, KindAzureOpenAI, KindGemini, KindCohere, KindBedrock, KindMistral, KindGroq, KindTogether, KindDeepSeek,
		KindXAI, KindOpenRouter, KindFireworks, KindPerplexity, KindOllama, KindVLLM, KindEcho}
}

// SpeaksOpenAI says whether a kind takes OpenAI's chat dialect as it is,
// so that requests pass through without translation.
func (k Kind) SpeaksOpenAI() bool { return specs[k].openAIWire }

// PriceFamily is the provider whose list prices a kind's models carry:
// Azure serves OpenAI's models at OpenAI's list prices.
func (k Kind) PriceFamily() string {
	if k == KindAzureOpenAI {
		return string(KindOpenAI)
	}
	return string(k)
}

// Connection is a tenant's named provider.
type Connection struct {
	ID       uuid.UUID
	TenantID string
	Name     string
	Kind     Kind
	BaseURL  string
	Settings
	// Credentials counts the connection's credential sets: 1 when
	// connected, one more per rotation. A client built with older
	// credentials is built again.
	Credentials int
}

// ProviderConnected records a new connection. It never carries a secret.
type ProviderConnected struct {
	V          int       `json:"v"`
	ProviderID uuid.UUID `json:"provider_id"`
	Name       string    `json:"name"`
	Kind       Kind      `json:"kind"`
	BaseURL    string    `json:"base_url"`
	HasSecret  bool      `json:"has_secret"`
	Settings
}

func (ProviderConnected) EventType() string { return "provider.connected" }
func (ProviderConnected) EventVersion() int { return 1 }

// StreamID keys a connection's stream by its name, so a name is taken once.
func StreamID(name string) string { return "provider:" + name }

// ErrInvalid is a rule about a connection's fields that input broke.
var ErrInvalid = errors.New("invalid provider connection")

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Connect decides a new connection; secrets names the secret fields given
// (their values are sealed elsewhere and never seen here).
func Connect(id uuid.UUID, tenantID, name string, kind Kind, baseURL string, set Settings, secrets []string) (Connection, ProviderConnected, error) {
	errs := set.check(kind)
	if !namePattern.MatchString(name) {
		errs = append(errs, fmt.Errorf("%w: name %q must be 1-63 lower-case letters, digits, '.', '_' or '-' (it prefixes model names, so no '/')", ErrInvalid, name))
	}
	sp, known := specs[kind]
	if !known {
		errs = append(errs, fmt.Errorf("%w: kind %q is not supported (supported: %v)", ErrInvalid, kind, Kinds()))
	}
	baseURL = strings.TrimRight(strings.TrimSpace(baseURL), "/")
	if baseURL == "" {
		baseURL = sp.baseURL
		if kind == KindBedrock && regionPattern.MatchString(set.Region) {
			baseURL = "https://bedrock-runtime." + set.Region + ".amazonaws.com"
		}
	}
	if kind != KindEcho && known {
		u, err := url.Parse(baseURL)
		switch {
		case baseURL == "" && sp.needsURL:
			errs = append(errs, fmt.Errorf("%w: base_url is required for kind %s", ErrInvalid, kind))
		case baseURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, fmt.Errorf("%w: base_url must be an absolute http(s) URL", ErrInvalid))
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			// The base URL is recorded and shown; credentials belong in api_key.
			errs = append(errs, fmt.Errorf("%w: base_url must not carry credentials, a query or a fragment (put the secret in api_key)", ErrInvalid))
		}
		if err := sp.missingSecrets(kind, secrets); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Connection{}, ProviderConnected{}, err
	}
	set = set.withDefaults(kind)
	c := Connection{ID: id, TenantID: tenantID, Name: name, Kind: kind, BaseURL: baseURL, Settings: set, Credentials: 1}
	return c, ProviderConnected{V: 1, ProviderID: id, Name: name, Kind: kind, BaseURL: baseURL, HasSecret: len(secrets) > 0, Settings: set}, nil
}

// SplitModel splits "<provider>/<model>" into its parts.
func SplitModel(model string) (providerName, upstreamModel string, ok bool) {
	i := strings.IndexByte(model, '/')
	if i <= 0 || i == len(model)-1 {
		return "", "", false
	}
	return model[:i], model[i+1:], true
}

// ProviderRotated records that a connection's credentials were replaced.
// It never carries a secret: only the names of the fields that were set.
type ProviderRotated struct {
	V          int       `json:"v"`
	ProviderID uuid.UUID `json:"provider_id"`
	Name       string    `json:"name"`
	Fields     []string  `json:"fields"`
}

func (ProviderRotated) EventType() string { return "provider.rotated" }
func (ProviderRotated) EventVersion() int { return 1 }

// ProviderUnhealthy records that a routing config's circuit breaker opened
// for a connection's model on a replica: its calls failed in a row, and
// they are passed over until the cooldown ends.
type ProviderUnhealthy struct {
	V               int    `json:"v"`
	Provider        string `json:"provider"`
	Model           string `json:"model"`
	Failures        int    `json:"failures"`
	CooldownSeconds int    `json:"cooldown_seconds"`
}

func (ProviderUnhealthy) EventType() string { return "provider.unhealthy" }
func (ProviderUnhealthy) EventVersion() int { return 1 }

// UnhealthyStreamID is the stream of one opening of a circuit.
func UnhealthyStreamID(id uuid.UUID) string { return "provider-health:" + id.String() }

// ErrNotFound is a connection that does not exist.
var ErrNotFound = errors.New("provider not found")

// Rotate decides new credentials for a connection: the kind's required
// secret must be among them. fields names the secret fields being set.
func (c Connection) Rotate(fields []string) (ProviderRotated, error) {
	if len(fields) == 0 {
		return ProviderRotated{}, fmt.Errorf("%w: give the new credentials", ErrInvalid)
	}
	if err := specs[c.Kind].missingSecrets(c.Kind, fields); err != nil {
		return ProviderRotated{}, err
	}
	return ProviderRotated{V: 1, ProviderID: c.ID, Name: c.Name, Fields: fields}, nil
}

// Apply folds a connection's events in: the connection, then each
// rotation of its credentials.
func (c *Connection) Apply(tenantID string, e eventlog.Event) {
	switch e := e.(type) {
	case ProviderConnected:
		*c = Connection{ID: e.ProviderID, TenantID: tenantID, Name: e.Name, Kind: e.Kind, BaseURL: e.BaseURL, Settings: e.Settings, Credentials: 1}
	case ProviderRotated:
		c.Credentials++
	}
}
