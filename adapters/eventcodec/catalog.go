package eventcodec

import (
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/tenancy"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// Gatehouse is the registry of every event type gatehouse writes.
func Gatehouse() *Registry {
	return NewRegistry(
		tenancy.TenantCreated{},
		provider.ProviderConnected{},
		key.KeyGranted{},
		key.KeyRevoked{},
		usage.RequestCompleted{},
		usage.RequestRejected{},
	)
}
