package projectors

import (
	"sort"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/guardrail"
)

// publishedGuardrail is one version of a guardrail, its detectors
// compiled once when it is folded in.
type publishedGuardrail struct {
	guardrail.Published
	err error // the stored definition no longer passes today's rules
}

// UseSchemaCompiler sets how guardrails' JSON Schemas are compiled as
// they are folded in; without one, a json_schema check makes its
// guardrail unusable (and says so).
func (d *Directory) UseSchemaCompiler(c guardrail.SchemaCompiler) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.compile = c
}

// OnGuardrailPublished adds a version of a tenant's guardrail.
func (d *Directory) OnGuardrailPublished(r eventlog.Recorded, e guardrail.GuardrailPublished) {
	byName := d.guardrails[r.TenantID]
	if byName == nil {
		byName = map[string][]publishedGuardrail{}
		d.guardrails[r.TenantID] = byName
	}
	versions := byName[e.Name]
	for _, v := range versions {
		if v.Version == r.Version {
			return
		}
	}
	compile := d.compile
	if compile == nil {
		compile = noSchemas
	}
	g, err := guardrail.Parse(e.Definition, compile)
	versions = append(versions, publishedGuardrail{Published: guardrail.Published{ID: e.GuardrailID, Name: e.Name, Version: r.Version,
		Raw: e.Definition, Guardrail: g, PublishedAt: r.OccurredAt}, err: err})
	sort.Slice(versions, func(i, j int) bool { return versions[i].Version < versions[j].Version })
	byName[e.Name] = versions
}

func noSchemas(map[string]any) (guardrail.Validate, error) {
	return nil, guardrail.ErrInvalid
}

// Guardrail finds the latest version of a tenant's guardrail, ready to run.
func (d *Directory) Guardrail(tenantID, name string) (guardrail.Published, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	versions := d.guardrails[tenantID][name]
	if len(versions) == 0 {
		return guardrail.Published{}, guardrail.ErrNotFound
	}
	v := versions[len(versions)-1]
	if v.err != nil {
		return guardrail.Published{}, v.err
	}
	return v.Published, nil
}

// Guardrails lists the latest version of each of a tenant's guardrails.
func (d *Directory) Guardrails(tenantID string) []guardrail.Published {
	d.mu.RLock()
	out := []guardrail.Published{}
	for _, versions := range d.guardrails[tenantID] {
		out = append(out, versions[len(versions)-1].Published)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// GuardrailVersion is one version of a guardrail (the latest for 0).
func (d *Directory) GuardrailVersion(tenantID, name string, version int) (guardrail.Published, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	versions := d.guardrails[tenantID][name]
	for i := len(versions) - 1; i >= 0; i-- {
		if version == 0 || versions[i].Version == version {
			return versions[i].Published, true
		}
	}
	return guardrail.Published{}, false
}
