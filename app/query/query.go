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

// readableTenant checks the wall and the tenant's existence alike, so a
// caller cannot tell another tenant's resource from a missing one.
func readableTenant(tenants Tenants, p access.Principal, tenantID string) error {
	if err := p.CanRead(tenantID); err != nil {
		return err
	}
	if _, ok := tenants.Tenant(tenantID); !ok {
		return ErrNotFound
	}
	return nil
}
