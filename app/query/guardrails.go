package query

import (
	"context"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/guardrail"
)

// GuardrailDirectory holds a tenant's guardrails.
type GuardrailDirectory interface {
	Tenants
	Guardrails(tenantID string) []guardrail.Published
	GuardrailVersion(tenantID, name string, version int) (guardrail.Published, bool)
}

// ListGuardrails asks for the latest version of each of a tenant's guardrails.
type ListGuardrails struct {
	Principal access.Principal
	TenantID  string
}

// ListGuardrailsHandler answers ListGuardrails.
type ListGuardrailsHandler struct{ dir GuardrailDirectory }

// NewListGuardrailsHandler wires the handler.
func NewListGuardrailsHandler(dir GuardrailDirectory) ListGuardrailsHandler {
	if dir == nil {
		panic("query.NewListGuardrailsHandler: nil directory")
	}
	return ListGuardrailsHandler{dir: dir}
}

// Handle lists the guardrails.
func (h ListGuardrailsHandler) Handle(_ context.Context, q ListGuardrails) ([]guardrail.Published, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return nil, err
	}
	return h.dir.Guardrails(q.TenantID), nil
}

// GetGuardrail asks for one version of a guardrail: Version, or the latest for 0.
type GetGuardrail struct {
	Principal access.Principal
	TenantID  string
	Name      string
	Version   int
}

// GetGuardrailHandler answers GetGuardrail.
type GetGuardrailHandler struct{ dir GuardrailDirectory }

// NewGetGuardrailHandler wires the handler.
func NewGetGuardrailHandler(dir GuardrailDirectory) GetGuardrailHandler {
	if dir == nil {
		panic("query.NewGetGuardrailHandler: nil directory")
	}
	return GetGuardrailHandler{dir: dir}
}

// Handle finds the guardrail version.
func (h GetGuardrailHandler) Handle(_ context.Context, q GetGuardrail) (guardrail.Published, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return guardrail.Published{}, err
	}
	p, ok := h.dir.GuardrailVersion(q.TenantID, q.Name, q.Version)
	if !ok {
		return guardrail.Published{}, guardrail.ErrNotFound
	}
	return p, nil
}
