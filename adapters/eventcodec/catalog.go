package eventcodec

import (
	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/alerting"
	"github.com/gatehouse/gatehouse/domain/audit"
	"github.com/gatehouse/gatehouse/domain/guardrail"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/routing"
	"github.com/gatehouse/gatehouse/domain/tenancy"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// Gatehouse is the registry of every event type gatehouse writes.
func Gatehouse() *Registry {
	return NewRegistry(
		tenancy.TenantCreated{},
		tenancy.TenantUpdated{},
		tenancy.TeamCreated{},
		tenancy.TeamUpdated{},
		provider.ProviderConnected{},
		provider.ProviderRotated{},
		provider.ProviderUnhealthy{},
		key.KeyGranted{},
		key.KeyUpdated{},
		key.KeyRotated{},
		key.KeyRevoked{},
		pricing.PriceSet{},
		pricing.PriceMissing{},
		quota.BudgetSet{},
		quota.BudgetAlerted{},
		quota.BudgetExceeded{},
		quota.RateLimitSet{},
		routing.ConfigPublished{},
		guardrail.GuardrailPublished{},
		guardrail.GuardrailVerdict{},
		usage.RequestCompleted{},
		usage.RequestRejected{},
		audit.AuditExported{},
		audit.KeyRotated{},
		access.SignInFailed{},
		alerting.WebhookCreated{},
	)
}
