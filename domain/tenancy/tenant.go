// Package tenancy owns tenants: the unit of isolation, of the hash chain
// and of governance.
package tenancy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Tenant is a business unit, a team or a customer with its own slice.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
	// PayloadRetentionDays is how long stored request and answer bodies
	// are kept (keys and teams that log them); 0 means the default.
	PayloadRetentionDays int
}

// DefaultPayloadRetentionDays is the retention of a tenant that set none.
const DefaultPayloadRetentionDays = 30

// PayloadRetention is how long the tenant's stored bodies are kept.
func (t Tenant) PayloadRetention() time.Duration {
	days := t.PayloadRetentionDays
	if days <= 0 {
		days = DefaultPayloadRetentionDays
	}
	return time.Duration(days) * 24 * time.Hour
}

// TenantUpdated changes a tenant's settings.
type TenantUpdated struct {
	V                    int `json:"v"`
	PayloadRetentionDays int `json:"payload_retention_days"`
}

func (TenantUpdated) EventType() string { return "tenant.updated" }
func (TenantUpdated) EventVersion() int { return 1 }

// SetPayloadRetention decides how many days the tenant's stored bodies
// are kept (1 to 3650); ok is false when that is already so.
func (t Tenant) SetPayloadRetention(days int) (e TenantUpdated, ok bool, err error) {
	if days < 1 || days > 3650 {
		return TenantUpdated{}, false, fmt.Errorf("%w: payload_retention_days must be from 1 to 3650", ErrInvalid)
	}
	if days == t.PayloadRetentionDays {
		return TenantUpdated{}, false, nil
	}
	return TenantUpdated{V: 1, PayloadRetentionDays: days}, true, nil
}

// TenantCreated founds a tenant; it is the first event of its chain.
type TenantCreated struct {
	V        int    `json:"v"`
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"`
}

func (TenantCreated) EventType() string { return "tenant.created" }
func (TenantCreated) EventVersion() int { return 1 }

// StreamID is the stream of a tenant's own lifecycle.
func StreamID(tenantID string) string { return "tenant:" + tenantID }

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ErrInvalid is a rule about a tenant's fields that input broke.
var ErrInvalid = errors.New("invalid tenant")

// ValidateID checks a tenant id: lower-case letters, digits and dashes.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%w: id %q must be 1-63 lower-case letters, digits or dashes, starting with a letter or digit", ErrInvalid, id)
	}
	return nil
}

// Create decides a new tenant.
func Create(id, name string, now time.Time) (Tenant, TenantCreated, error) {
	name = strings.TrimSpace(name)
	if err := ValidateID(id); err != nil {
		return Tenant{}, TenantCreated{}, err
	}
	if name == "" || len(name) > 200 {
		return Tenant{}, TenantCreated{}, fmt.Errorf("%w: name must be 1-200 characters", ErrInvalid)
	}
	t := Tenant{ID: id, Name: name, CreatedAt: now.UTC()}
	return t, TenantCreated{V: 1, TenantID: id, Name: name}, nil
}

// SlugFromName proposes an id for a tenant created by name alone.
func SlugFromName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 63 {
			break
		}
	}
	return strings.TrimRight(b.String(), "-")
}
