package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/guardrail"
)

// GuardrailRepository publishes guardrails.
type GuardrailRepository interface {
	// PublishGuardrail appends e at the next version of the guardrail's
	// stream and returns that version.
	PublishGuardrail(ctx context.Context, meta eventlog.Meta, tenantID string, e guardrail.GuardrailPublished) (int, error)
}

// PublishGuardrail publishes the next version of a named guardrail.
type PublishGuardrail struct {
	Actor
	TenantID   string
	Name       string
	Definition json.RawMessage
}

// PublishGuardrailHandler handles PublishGuardrail.
type PublishGuardrailHandler struct {
	tenants Tenants
	repo    GuardrailRepository
	compile guardrail.SchemaCompiler
	now     func() time.Time
}

// NewPublishGuardrailHandler wires the handler.
func NewPublishGuardrailHandler(tenants Tenants, repo GuardrailRepository, compile guardrail.SchemaCompiler, now func() time.Time) PublishGuardrailHandler {
	mustNotBeNil("NewPublishGuardrailHandler", tenants, repo, compile, now)
	return PublishGuardrailHandler{tenants: tenants, repo: repo, compile: compile, now: now}
}

// Handle validates the definition and publishes it.
func (h PublishGuardrailHandler) Handle(ctx context.Context, c PublishGuardrail) (guardrail.Published, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return guardrail.Published{}, err
	}
	if err := guardrail.ValidName(c.Name); err != nil {
		return guardrail.Published{}, err
	}
	g, err := guardrail.Parse(c.Definition, h.compile)
	if err != nil {
		return guardrail.Published{}, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, c.Definition); err != nil {
		return guardrail.Published{}, fmt.Errorf("%w: %v", guardrail.ErrInvalid, err)
	}
	now := h.now()
	e := guardrail.GuardrailPublished{V: 1, GuardrailID: guardrail.ID(c.TenantID, c.Name), Name: c.Name, Definition: compact.Bytes()}
	version, err := h.repo.PublishGuardrail(ctx, c.meta(now), c.TenantID, e)
	if err != nil {
		return guardrail.Published{}, err
	}
	return guardrail.Published{ID: e.GuardrailID, Name: c.Name, Version: version, Raw: e.Definition, Guardrail: g, PublishedAt: now.UTC()}, nil
}
