// Package access decides who may read or change what: the admin roles and
// the tenant wall between them.
package access

import (
	"errors"
	"strings"
)

// Role is an admin role carried in the JWT's roles claim.
type Role string

const (
	PlatformAdmin Role = "platform_admin"
	TenantAdmin   Role = "tenant_admin"
	Auditor       Role = "auditor"
	Viewer        Role = "viewer"
)

// ParseRole accepts the four known roles.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case PlatformAdmin, TenantAdmin, Auditor, Viewer:
		return r, nil
	}
	return "", errors.New("unknown role " + s)
}

// Principal is who is asking: a JWT subject, its roles, and the tenant the
// token is for (empty for platform tokens).
type Principal struct {
	Subject  string
	Roles    []Role
	TenantID string
}

var (
	// ErrForbidden: the principal may see the resource but not do this to it.
	ErrForbidden = errors.New("forbidden")
	// ErrNotVisible: the resource belongs to a tenant the principal cannot
	// see; ports answer it exactly like a missing resource.
	ErrNotVisible = errors.New("not found")
)

// RoleNames are the principal's roles, comma-separated.
func (p Principal) RoleNames() string {
	names := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ",")
}

func (p Principal) has(r Role) bool {
	for _, have := range p.Roles {
		if have == r {
			return true
		}
	}
	return false
}

// IsPlatform reports whether the token is for the whole installation.
func (p Principal) IsPlatform() bool { return p.TenantID == "" && p.has(PlatformAdmin) }

// sees reports whether the tenant is inside the principal's wall.
func (p Principal) sees(tenantID string) bool {
	if p.TenantID == "" {
		return len(p.Roles) > 0 && (p.has(PlatformAdmin) || p.has(Auditor) || p.has(Viewer))
	}
	return p.TenantID == tenantID
}

// CanCreateTenants: only platform admins found tenants.
func (p Principal) CanCreateTenants() error {
	if p.IsPlatform() {
		return nil
	}
	return ErrForbidden
}

// CanRead allows any role inside the tenant's wall to read its resources.
func (p Principal) CanRead(tenantID string) error {
	if !p.sees(tenantID) {
		return ErrNotVisible
	}
	return nil
}

// CanManage allows platform and tenant admins to change a tenant's resources.
func (p Principal) CanManage(tenantID string) error {
	if !p.sees(tenantID) {
		return ErrNotVisible
	}
	if p.has(PlatformAdmin) || p.has(TenantAdmin) {
		return nil
	}
	return ErrForbidden
}

// CanAudit allows admins and auditors to read the raw event feed and trail.
func (p Principal) CanAudit(tenantID string) error {
	if !p.sees(tenantID) {
		return ErrNotVisible
	}
	if p.has(PlatformAdmin) || p.has(TenantAdmin) || p.has(Auditor) {
		return nil
	}
	return ErrForbidden
}

// Visible filters tenant ids down to the ones the principal may see.
func (p Principal) Visible(tenantID string) bool { return p.sees(tenantID) }
