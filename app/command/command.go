// Package command holds the write use cases of the admin API: each a struct
// naming what is asked and a handler that checks who asks, lets the domain
// decide, and appends the resulting events.
package command

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// Tenants is the directory of existing tenants and their teams.
type Tenants interface {
	Tenant(id string) (tenancy.Tenant, bool)
	Team(tenantID string, id uuid.UUID) (tenancy.Team, bool)
}

// TenantRepository founds tenants.
type TenantRepository interface {
	CreateTenant(ctx context.Context, meta eventlog.Meta, e tenancy.TenantCreated) error
}

// ProviderRepository connects providers; the sealed credentials are stored
// with the event, in one transaction.
type ProviderRepository interface {
	ConnectProvider(ctx context.Context, meta eventlog.Meta, tenantID string, e provider.ProviderConnected, sealed []byte) error
	// RotateProviderCredentials loads the named connection, lets decide
	// produce the event and the new sealed credentials, and stores both.
	RotateProviderCredentials(ctx context.Context, meta eventlog.Meta, tenantID, name string,
		decide func(provider.Connection) (provider.ProviderRotated, []byte, error)) error
}

// KeyRepository grants keys and changes them through the key's own rules.
type KeyRepository interface {
	GrantKey(ctx context.Context, meta eventlog.Meta, tenantID string, e key.KeyGranted) error
	UpdateKey(ctx context.Context, meta eventlog.Meta, tenantID string, id uuid.UUID, decide func(*key.Key) ([]eventlog.Event, error)) error
}

// TeamRepository founds teams and changes them through the team's rules.
type TeamRepository interface {
	CreateTeam(ctx context.Context, meta eventlog.Meta, tenantID string, e tenancy.TeamCreated) error
	UpdateTeam(ctx context.Context, meta eventlog.Meta, tenantID string, id uuid.UUID, decide func(*tenancy.Team) ([]eventlog.Event, error)) error
}

// Sealer encrypts a secret bound to the record it belongs to.
type Sealer interface {
	Seal(plaintext []byte, aad ...string) ([]byte, error)
}

// ErrExists is a create of something whose name is taken.
var ErrExists = errors.New("already exists")

// Actor is who issues a command and under which trace.
type Actor struct {
	Principal access.Principal
	TraceID   string
}

func (a Actor) meta(now time.Time) eventlog.Meta {
	return eventlog.Meta{Actor: a.Principal.Subject, Role: a.Principal.RoleNames(), TraceID: a.TraceID, OccurredAt: now.UTC()}
}

// managedTenant checks that the actor may change the tenant and that it exists.
func managedTenant(tenants Tenants, a Actor, tenantID string) error {
	if err := a.Principal.CanManage(tenantID); err != nil {
		return err
	}
	if _, ok := tenants.Tenant(tenantID); !ok {
		return access.ErrNotVisible
	}
	return nil
}

// mustNotBeNil panics on a missing dependency, typed nils included: that is
// a wiring bug, found at start-up rather than on the first request.
func mustNotBeNil(name string, deps ...any) {
	for _, d := range deps {
		if d == nil {
			panic("command." + name + ": nil dependency")
		}
		switch v := reflect.ValueOf(d); v.Kind() {
		case reflect.Pointer, reflect.Func, reflect.Map, reflect.Interface, reflect.Slice, reflect.Chan:
			if v.IsNil() {
				panic("command." + name + ": nil dependency")
			}
		}
	}
}

// teamInTenant checks that a key's team, if it names one, is the tenant's.
func teamInTenant(tenants Tenants, tenantID string, team *uuid.UUID) error {
	if team == nil {
		return nil
	}
	if _, ok := tenants.Team(tenantID, *team); !ok {
		return fmt.Errorf("%w: team %s does not exist in this tenant", key.ErrInvalid, team)
	}
	return nil
}
