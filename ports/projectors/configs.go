package projectors

import (
	"sort"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/routing"
)

// publishedConfig is one version of a config, parsed once when it is
// folded in so that the hot path never parses a stored config.
type publishedConfig struct {
	routing.Published
	err error // the stored config no longer passes today's rules
}

// OnConfigPublished adds a version of a tenant's config; versions arrive
// in order on one stream, and one seen before changes nothing.
func (d *Directory) OnConfigPublished(r eventlog.Recorded, e routing.ConfigPublished) {
	byName := d.configs[r.TenantID]
	if byName == nil {
		byName = map[string][]publishedConfig{}
		d.configs[r.TenantID] = byName
	}
	versions := byName[e.Name]
	for _, v := range versions {
		if v.Version == r.Version {
			return
		}
	}
	cfg, err := routing.Parse(e.Config)
	versions = append(versions, publishedConfig{Published: routing.Published{ID: e.ConfigID, Name: e.Name, Version: r.Version, Raw: e.Config, Config: cfg,
		PublishedAt: r.OccurredAt}, err: err})
	sort.Slice(versions, func(i, j int) bool { return versions[i].Version < versions[j].Version })
	byName[e.Name] = versions
}

// RoutingConfig finds a tenant's config by name: the given version, or
// the latest for 0.
func (d *Directory) RoutingConfig(tenantID, name string, version int) (routing.Published, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	versions := d.configs[tenantID][name]
	if len(versions) == 0 {
		return routing.Published{}, routing.ErrNotFound
	}
	v := versions[len(versions)-1]
	if version != 0 {
		i := sort.Search(len(versions), func(i int) bool { return versions[i].Version >= version })
		if i == len(versions) || versions[i].Version != version {
			return routing.Published{}, routing.ErrNotFound
		}
		v = versions[i]
	}
	if v.err != nil {
		return routing.Published{}, v.err
	}
	return v.Published, nil
}

// RoutingConfigs lists the latest version of each of a tenant's configs,
// by name.
func (d *Directory) RoutingConfigs(tenantID string) []routing.Published {
	d.mu.RLock()
	out := []routing.Published{}
	for _, versions := range d.configs[tenantID] {
		out = append(out, versions[len(versions)-1].Published)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RoutingConfigVersion is one version of a config (the latest for 0), as
// published, whether or not it passes today's rules.
func (d *Directory) RoutingConfigVersion(tenantID, name string, version int) (routing.Published, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	versions := d.configs[tenantID][name]
	for i := len(versions) - 1; i >= 0; i-- {
		if version == 0 || versions[i].Version == version {
			return versions[i].Published, true
		}
	}
	return routing.Published{}, false
}
