package provider_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/provider"
)

func TestConnect_ValidatesAndNeverPutsTheSecretInTheEvent(t *testing.T) {
	c, e, err := provider.Connect(uuid.New(), "acme", "openai", provider.KindOpenAI, "", provider.Settings{}, secrets("sk-upstream"))
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "https://api.openai.com/v1" || !e.HasSecret || e.Name != "openai" {
		t.Fatalf("connection %+v event %+v", c, e)
	}
	for name, args := range map[string][]string{
		"slash in name":  {"open/ai", "openai", "", "k"},
		"unknown kind":   {"x", "telepathy", "", "k"},
		"relative url":   {"x", "openai-compatible", "localhost:8000", ""},
		"openai no key":  {"x", "openai", "", ""},
		"uppercase name": {"OpenAI", "openai", "", "k"},
		"ftp scheme":     {"x", "openai-compatible", "ftp://h/v1", ""},
	} {
		_, _, err := provider.Connect(uuid.New(), "acme", args[0], provider.Kind(args[1]), args[2], provider.Settings{}, secrets(args[3]))
		if !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	if _, _, err := provider.Connect(uuid.New(), "acme", "echo", provider.KindEcho, "", provider.Settings{}, secrets("")); err != nil {
		t.Fatalf("echo needs nothing: %v", err)
	}
}

func TestSplitModel(t *testing.T) {
	for in, want := range map[string][2]string{
		"openai/gpt-4o":            {"openai", "gpt-4o"},
		"or/meta-llama/llama-3-8b": {"or", "meta-llama/llama-3-8b"},
	} {
		p, m, ok := provider.SplitModel(in)
		if !ok || p != want[0] || m != want[1] {
			t.Errorf("%s: %s %s %v", in, p, m, ok)
		}
	}
	for _, in := range []string{"gpt-4o", "/x", "x/", ""} {
		if _, _, ok := provider.SplitModel(in); ok {
			t.Errorf("%q split", in)
		}
	}
}

func TestConnect_PresetsKnowTheirAddressAndWhatTheyNeed(t *testing.T) {
	c, _, err := provider.Connect(uuid.New(), "acme", "groq", provider.KindGroq, "", provider.Settings{}, secrets("gsk-x"))
	if err != nil || c.BaseURL != "https://api.groq.com/openai/v1" || !c.Kind.SpeaksOpenAI() {
		t.Fatalf("groq: %+v %v", c, err)
	}
	if c, _, err := provider.Connect(uuid.New(), "acme", "local", provider.KindOllama, "", provider.Settings{}, secrets("")); err != nil || c.BaseURL != "http://localhost:11434/v1" {
		t.Fatalf("ollama needs no key: %+v %v", c, err)
	}
	if _, _, err := provider.Connect(uuid.New(), "acme", "v", provider.KindVLLM, "", provider.Settings{}, secrets("")); !errors.Is(err, provider.ErrInvalid) {
		t.Fatalf("vllm without a base URL: %v", err)
	}
	if _, _, err := provider.Connect(uuid.New(), "acme", "m", provider.KindMistral, "", provider.Settings{}, secrets("")); !errors.Is(err, provider.ErrInvalid) {
		t.Fatalf("mistral without a key: %v", err)
	}
	if provider.KindAnthropic.SpeaksOpenAI() || provider.KindEcho.SpeaksOpenAI() {
		t.Fatal("anthropic and echo do not take OpenAI's dialect as it is")
	}
	for _, k := range provider.Kinds() {
		if k == provider.KindOpenAICompatible || k == provider.KindVLLM || k == provider.KindAzureOpenAI || k == provider.KindBedrock || k == provider.KindEcho {
			continue
		}
		if _, _, err := provider.Connect(uuid.New(), "acme", "p", k, "", provider.Settings{}, secrets("key")); err != nil {
			t.Errorf("%s with a key and its default address: %v", k, err)
		}
	}
}

func TestConnect_AzureTakesAnAPIVersionAndDeployments(t *testing.T) {
	c, e, err := provider.Connect(uuid.New(), "acme", "az", provider.KindAzureOpenAI, "https://res.openai.azure.com",
		provider.Settings{Deployments: map[string]string{"gpt-4o": "prod-4o"}}, secrets("k"))
	if err != nil {
		t.Fatal(err)
	}
	if c.APIVersion != provider.DefaultAzureAPIVersion || e.APIVersion != c.APIVersion || c.Deployment("gpt-4o") != "prod-4o" || c.Deployment("gpt-4.1") != "gpt-4.1" {
		t.Fatalf("connection %+v", c)
	}
	if provider.KindAzureOpenAI.PriceFamily() != "openai" || provider.KindGroq.PriceFamily() != "groq" {
		t.Fatal("price families")
	}
	for name, set := range map[string]provider.Settings{
		"bad version":    {APIVersion: "latest"},
		"bad deployment": {Deployments: map[string]string{"gpt-4o": "has space"}},
		"bad model":      {Deployments: map[string]string{"a\x00b": "d"}},
	} {
		if _, _, err := provider.Connect(uuid.New(), "acme", "az", provider.KindAzureOpenAI, "https://r.openai.azure.com", set, secrets("k")); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := provider.Connect(uuid.New(), "acme", "o", provider.KindOpenAI, "", provider.Settings{APIVersion: "2024-10-21"}, secrets("k")); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("api_version on openai: %v", err)
	}
}

// secrets names the api_key as given when key is set.
func secrets(key string) []string {
	if key == "" {
		return nil
	}
	return []string{"api_key"}
}

func TestConnect_BedrockNeedsARegionAndAWSCredentials(t *testing.T) {
	aws := []string{"aws_access_key_id", "aws_secret_access_key"}
	c, e, err := provider.Connect(uuid.New(), "acme", "br", provider.KindBedrock, "", provider.Settings{Region: "eu-central-1"}, aws)
	if err != nil || c.BaseURL != "https://bedrock-runtime.eu-central-1.amazonaws.com" || e.Region != "eu-central-1" {
		t.Fatalf("%+v %v", c, err)
	}
	for name, args := range map[string]struct {
		set     provider.Settings
		secrets []string
	}{
		"no region":     {provider.Settings{}, aws},
		"bad region":    {provider.Settings{Region: "moon-1"}, aws},
		"no secret key": {provider.Settings{Region: "us-east-1"}, aws[:1]},
		"an api key":    {provider.Settings{Region: "us-east-1"}, []string{"api_key"}},
	} {
		if _, _, err := provider.Connect(uuid.New(), "acme", "br", provider.KindBedrock, "", args.set, args.secrets); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := c.Rotate([]string{"api_key"}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("rotating bedrock to an api key: %v", err)
	}
	if _, _, err := provider.Connect(uuid.New(), "acme", "o", provider.KindOpenAI, "", provider.Settings{Region: "us-east-1"}, []string{"api_key"}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("region on openai: %v", err)
	}
}
