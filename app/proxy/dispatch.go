package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/app/proxy/jsontop"
	"github.com/gatehouse/gatehouse/domain/routing"
)

// wholeCall and streamCall are the two ways an upstream is asked.
type (
	wholeCall  func(ctx context.Context, body []byte) (Response, error)
	streamCall func(ctx context.Context, body []byte) (ChunkStream, error)
)

// target is one provider connection and model a request may be sent to.
type target struct {
	route Route
	up    Upstream
}

// sender prepares a request for one target: the body, with the target's
// model named, and the calls to make. It answers a *Refusal when the
// target cannot serve the request (a provider with no embeddings, a
// field its dialect has no place for). It may set how the exchange reads
// the answer (its dialect).
type sender func(x *Exchange, t target) (body []byte, whole wholeCall, stream streamCall, err error)

// Configs finds a tenant's routing configs: a version, or the latest for 0.
type Configs interface {
	RoutingConfig(tenantID, name string, version int) (routing.Published, error)
}

// dispatch sends the request where it goes: through the routing config
// the request or its key chooses, or else straight to the provider its
// model names.
func (s *Service) dispatch(ctx context.Context, x *Exchange, send sender) (*Exchange, error) {
	x, err := s.route(ctx, x, send)
	if err != nil {
		return nil, err
	}
	if x.Stream {
		if err := s.guardStream(ctx, x); err != nil {
			x.Finish(ctx, err)
			return nil, err
		}
		return x, nil
	}
	if err := s.guardOutput(ctx, x, true); err != nil {
		return nil, err
	}
	return x, nil
}

// route sends the request to its provider, through its config if any.
func (s *Service) route(ctx context.Context, x *Exchange, send sender) (*Exchange, error) {
	cfg := x.config
	if !x.configChosen {
		var refusal *Refusal
		if cfg, refusal = s.chooseConfig(x); refusal != nil {
			return nil, x.refuse(refusal)
		}
	}
	if cfg != nil {
		return s.runConfig(ctx, x, *cfg, send)
	}
	up, err := s.prepare(ctx, x)
	if err != nil {
		return nil, err
	}
	body, whole, stream, err := send(x, target{route: x.route, up: up})
	if err != nil {
		return nil, x.refuse(asRefusal(err))
	}
	return s.call(ctx, x, body, whole, stream)
}

// asRefusal is a sender's error as the refusal it is.
func asRefusal(err error) *Refusal {
	if r, ok := IsRefusal(err); ok {
		return r
	}
	return InvalidRequest("", "The request could not be prepared for this model's provider.")
}

// chooseConfig finds the routing config of a request: the one its
// x-gatehouse-config names (<name>, <name>@<version>, or inline JSON),
// else its key's, else none.
func (s *Service) chooseConfig(x *Exchange) (*routing.Published, *Refusal) {
	choice := strings.TrimSpace(x.in.Config)
	if choice == "" {
		choice = x.key.Config
	}
	if choice == "" {
		return nil, nil
	}
	return s.resolveConfig(x, choice)
}

// resolveConfig finds a config by name, name@version or inline JSON.
func (s *Service) resolveConfig(x *Exchange, choice string) (*routing.Published, *Refusal) {
	const param = "x-gatehouse-config"
	if strings.HasPrefix(choice, "{") {
		cfg, err := routing.Parse([]byte(choice))
		if err != nil {
			return nil, InvalidRequest(param, "The inline routing config is invalid: %s", strings.TrimPrefix(err.Error(), routing.ErrInvalid.Error()+": "))
		}
		have := map[string]bool{}
		for _, c := range s.ModelSource.Providers(x.key.TenantID) {
			have[c.Name] = true
		}
		for _, ref := range cfg.Providers() {
			if !have[ref.Name] {
				return nil, InvalidRequest(param, "The inline routing config is invalid: %s: no provider connection named %q in this tenant", ref.Path, ref.Name)
			}
		}
		for _, name := range append(append([]string(nil), cfg.InputGuardrails...), cfg.OutputGuardrails...) {
			if _, err := s.Guardrails.Guardrail(x.key.TenantID, name); err != nil {
				return nil, InvalidRequest(param, "The inline routing config is invalid: no usable guardrail named %q in this tenant", name)
			}
		}
		return &routing.Published{Name: "inline", Config: cfg}, nil
	}
	name, version := choice, 0
	if n, v, ok := strings.Cut(choice, "@"); ok {
		name, version = n, parseVersion(v)
		if version < 1 {
			return nil, InvalidRequest(param, "x-gatehouse-config must be <name>, <name>@<version> or a JSON config.")
		}
	}
	p, err := s.Configs.RoutingConfig(x.key.TenantID, name, version)
	if err != nil {
		if version > 0 {
			return nil, InvalidRequest(param, "This tenant has no routing config %q at version %d.", name, version)
		}
		return nil, InvalidRequest(param, "This tenant has no routing config %q.", name)
	}
	return &p, nil
}

func parseVersion(v string) int {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' || n > 1_000_000 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// withOverrides sets a target's override_params on the request body,
// each a top-level member (model aside: the sender named it already).
func withOverrides(body []byte, override map[string]any) ([]byte, *Refusal) {
	for _, k := range sortedKeys(override) {
		if k == "model" {
			continue
		}
		raw, err := jsonValue(override[k])
		if err != nil {
			return nil, InvalidRequest(k, "The routing config's override of %s cannot be set: %v", k, err)
		}
		if body, err = jsontop.Set(body, k, raw); err != nil {
			return nil, InvalidRequest("", "The request body must be one JSON object.")
		}
	}
	return body, nil
}

// lookup finds a request's fields for a config's conditions:
// metadata.<key> from x-gatehouse-metadata, params.<name> from the body.
func (x *Exchange) lookup(field string) (any, bool) {
	if k, ok := strings.CutPrefix(field, "metadata."); ok {
		v, found := x.in.Metadata[k]
		return v, found
	}
	name, ok := strings.CutPrefix(field, "params.")
	if !ok {
		return nil, false
	}
	raw, found, err := jsontop.Get(x.in.Body, name)
	if err != nil || !found {
		return nil, false
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil, false
	}
	switch v.(type) {
	case string, float64, bool:
		return v, true
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func jsonValue(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	return b, nil
}
