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
