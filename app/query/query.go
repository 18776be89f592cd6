// Package query holds the read use cases of the admin API: each a struct
// naming what is asked and a handler answering it from a read model.
package query

import (
	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// Tenants is the directory of tenants that queries check existence against.
type Tenants interface {
	Tenant(id string) (tenancy.Tenant, bool)
}

// ErrNotFound is a resource that does not exist or is outside the caller's wall.
var ErrNotFound = access.ErrNotVisible

// readableTenant checks that the principal may read the tenant and that it
// exists.
func readableTenant(tenants Tenants, p access.Principal, tenantID string) error {
	return allowedTenant(tenants, p.CanRead(tenantID), tenantID)
}

// allowedTenant turns an access decision and the tenant's existence into
// one answer; a missing tenant looks exactly like one behind the wall.
func allowedTenant(tenants Tenants, decision error, tenantID string) error {
	if decision != nil {
		return decision
	}
	if _, ok := tenants.Tenant(tenantID); !ok {
		return ErrNotFound
	}
	return nil
}
