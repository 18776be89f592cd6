package routing

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ConfigPublished publishes a version of a named routing config; its
// version is the event's version on the config's stream. It holds the
// whole config, so any version can be read back from the log.
type ConfigPublished struct {
	V        int             `json:"v"`
	ConfigID uuid.UUID       `json:"config_id"`
	Name     string          `json:"name"`
	Config   json.RawMessage `json:"config"`
}

func (ConfigPublished) EventType() string { return "config.published" }
func (ConfigPublished) EventVersion() int { return 1 }

// StreamID is the stream of a tenant's config of that name.
func StreamID(name string) string { return "config:" + name }

// configNamespace scopes the ids of configs.
var configNamespace = uuid.MustParse("6f1c2d0e-4b7a-5e8f-9a1b-2c3d4e5f6a7b")

// ConfigID is the id of a tenant's config of that name, the same for
// every version (and on every replica).
func ConfigID(tenantID, name string) uuid.UUID {
	return uuid.NewSHA1(configNamespace, []byte(tenantID+"\x00"+name))
}

// Published is one version of a config as the log holds it.
type Published struct {
	ID          uuid.UUID
	Name        string
	Version     int
	Raw         json.RawMessage
	Config      Config
	PublishedAt time.Time
}

// ProviderRef is a provider a config names, and where.
type ProviderRef struct {
	Path, Name string
}

// Providers lists the provider connections the config names, with the
// JSON path of each.
func (c Config) Providers() []ProviderRef {
	var out []ProviderRef
	var walk func(n Node, path string)
	walk = func(n Node, path string) {
		if n.IsLeaf() {
			out = append(out, ProviderRef{Path: join(path, "provider"), Name: n.Provider})
			return
		}
		for i, t := range n.Targets {
			walk(t, fmt.Sprintf("%s[%d]", join(path, "targets"), i))
		}
	}
	walk(c.Root, "")
	return out
}
