package projectors

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/guardrail"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/routing"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// DirectoryName is the in-memory directory's handler name.
const DirectoryName = "directory.v1"

// Directory is the in-memory model the hot path decides from: tenants,
// provider connections and keys (by secret hash). Every replica keeps its
// own, fed from the log; the replica that appends a change also applies it
// at once, so a revocation is effective there before the admin call returns.
// Applying an event twice, or late, changes nothing.
type Directory struct {
	mu         sync.RWMutex
	tenants    map[string]tenancy.Tenant
	teams      map[uuid.UUID]*tenancy.Team
	providers  map[string]map[string]provider.Connection // tenant → name → connection
	keys       map[uuid.UUID]*key.Key
	bySecret   map[key.SecretHash]*key.Key       // current and rotated-out secrets
	prices     map[string]map[string]tenantPrice // tenant → model → price
	missing    map[string]map[string]bool        // tenant → model → price.missing recorded
	budgets    map[quota.Subject]quota.Budget
	limits     map[quota.Subject]quota.RateLimit
	configs    map[string]map[string][]publishedConfig // tenant → name → versions, oldest first
	guardrails map[string]map[string][]publishedGuardrail
	compile    guardrail.SchemaCompiler
}

type tenantPrice struct {
	price   pricing.Price
	version int
	setAt   time.Time
}

// NewDirectory builds an empty directory.
func NewDirectory() *Directory {
	return &Directory{
		tenants:    map[string]tenancy.Tenant{},
		teams:      map[uuid.UUID]*tenancy.Team{},
		providers:  map[string]map[string]provider.Connection{},
		keys:       map[uuid.UUID]*key.Key{},
		bySecret:   map[key.SecretHash]*key.Key{},
		prices:     map[string]map[string]tenantPrice{},
		missing:    map[string]map[string]bool{},
		budgets:    map[quota.Subject]quota.Budget{},
		limits:     map[quota.Subject]quota.RateLimit{},
		configs:    map[string]map[string][]publishedConfig{},
		guardrails: map[string]map[string][]publishedGuardrail{},
	}
}

// Handle folds a page of events in; it is the projection handler.
func (d *Directory) Handle(_ context.Context, page []eventlog.Recorded) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range page {
		if err := d.apply(r); err != nil {
			return err
		}
	}
	return nil
}

// Apply folds events just appended on this replica. Batches of traffic,
// which it ignores, never take the lock the hot path reads under.
func (d *Directory) Apply(recs []eventlog.Recorded) {
	if !slices.ContainsFunc(recs, func(r eventlog.Recorded) bool { return shapesDirectory(r.Event) }) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range recs {
		_ = d.apply(r) // apply only errs on a malformed hash, which the log never holds
	}
}

// shapesDirectory reports whether an event changes the directory.
func shapesDirectory(e eventlog.Event) bool {
	switch e.(type) {
	case tenancy.TenantCreated, tenancy.TenantUpdated, tenancy.TeamCreated, tenancy.TeamUpdated, provider.ProviderConnected, provider.ProviderRotated,
		key.KeyGranted, key.KeyUpdated, key.KeyRotated, key.KeyRevoked, pricing.PriceSet, pricing.PriceMissing, quota.BudgetSet, quota.RateLimitSet,
		routing.ConfigPublished, guardrail.GuardrailPublished:
		return true
	}
	return false
}

func (d *Directory) apply(r eventlog.Recorded) error {
	switch e := r.Event.(type) {
	case tenancy.TenantCreated:
		d.OnTenantCreated(r, e)
	case tenancy.TenantUpdated:
		if t, ok := d.tenants[r.TenantID]; ok {
			t.PayloadRetentionDays = e.PayloadRetentionDays
			d.tenants[r.TenantID] = t
		}
	case tenancy.TeamCreated, tenancy.TeamUpdated:
		d.onTeamEvent(r)
	case provider.ProviderConnected:
		d.OnProviderConnected(r, e)
	case provider.ProviderRotated:
		d.OnProviderRotated(r, e)
	case key.KeyGranted, key.KeyUpdated, key.KeyRotated, key.KeyRevoked:
		return d.onKeyEvent(r)
	case pricing.PriceSet:
		d.OnPriceSet(r, e)
	case pricing.PriceMissing:
		d.OnPriceMissing(r, e)
	case quota.BudgetSet:
		d.OnBudgetSet(r, e)
	case quota.RateLimitSet:
		d.OnRateLimitSet(r, e)
	case routing.ConfigPublished:
		d.OnConfigPublished(r, e)
	case guardrail.GuardrailPublished:
		d.OnGuardrailPublished(r, e)
	}
	return nil
}

// OnBudgetSet records a subject's budget (the newest version wins).
func (d *Directory) OnBudgetSet(r eventlog.Recorded, e quota.BudgetSet) {
	b := e.Budget(r.TenantID, r.Version)
	if cur, ok := d.budgets[b.Subject]; ok && cur.Version >= b.Version {
		return
	}
	d.budgets[b.Subject] = b
}

// OnRateLimitSet records a subject's rate limit (the newest version wins).
func (d *Directory) OnRateLimitSet(r eventlog.Recorded, e quota.RateLimitSet) {
	l := e.RateLimit(r.TenantID, r.Version)
	if cur, ok := d.limits[l.Subject]; ok && cur.Version >= l.Version {
		return
	}
	d.limits[l.Subject] = l
}

// subjectsOf are the subjects whose budgets and limits apply to a key's
// requests: the key, its team, its tenant.
func subjectsOf(k key.Key) []quota.Subject {
	s := []quota.Subject{{TenantID: k.TenantID, Scope: quota.ScopeKey, ID: k.ID.String()}}
	if k.TeamID != nil {
		s = append(s, quota.Subject{TenantID: k.TenantID, Scope: quota.ScopeTeam, ID: k.TeamID.String()})
	}
	return append(s, quota.Subject{TenantID: k.TenantID, Scope: quota.ScopeTenant, ID: k.TenantID})
}

// Quotas returns the budgets and rate limits that apply to a key's requests.
func (d *Directory) Quotas(k key.Key) ([]quota.Budget, []quota.RateLimit) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var budgets []quota.Budget
	var limits []quota.RateLimit
	for _, s := range subjectsOf(k) {
		if b, ok := d.budgets[s]; ok {
			budgets = append(budgets, b)
		}
		if l, ok := d.limits[s]; ok {
			limits = append(limits, l)
		}
	}
	return budgets, limits
}

// Budgets lists every budget set, in no order.
func (d *Directory) Budgets() []quota.Budget {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]quota.Budget, 0, len(d.budgets))
	for _, b := range d.budgets {
		out = append(out, b)
	}
	return out
}

// Budget finds a subject's budget.
func (d *Directory) Budget(s quota.Subject) (quota.Budget, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	b, ok := d.budgets[s]
	return b, ok
}

// RateLimit finds a subject's rate limit.
func (d *Directory) RateLimit(s quota.Subject) (quota.RateLimit, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	l, ok := d.limits[s]
	return l, ok
}

// OnPriceSet records the tenant's price for a model (the newest version wins).
func (d *Directory) OnPriceSet(r eventlog.Recorded, e pricing.PriceSet) {
	byModel := d.prices[r.TenantID]
	if byModel == nil {
		byModel = map[string]tenantPrice{}
		d.prices[r.TenantID] = byModel
	}
	if cur, ok := byModel[e.Model]; ok && cur.version >= r.Version {
		return
	}
	byModel[e.Model] = tenantPrice{price: e.Price(), version: r.Version, setAt: r.OccurredAt}
}

// OnPriceMissing notes that price.missing is on record for the model.
func (d *Directory) OnPriceMissing(r eventlog.Recorded, e pricing.PriceMissing) {
	if d.missing[r.TenantID] == nil {
		d.missing[r.TenantID] = map[string]bool{}
	}
	d.missing[r.TenantID][e.Model] = true
}

// TenantPrice is the tenant's own price for a model.
func (d *Directory) TenantPrice(tenantID, model string) (pricing.Price, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.prices[tenantID][model]
	return p.price, ok
}

// PriceMissingRecorded says whether price.missing is on record for the model.
func (d *Directory) PriceMissingRecorded(tenantID, model string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.missing[tenantID][model]
}

// TenantPrices lists the tenant's own prices by model.
func (d *Directory) TenantPrices(tenantID string) []pricing.ModelPrice {
	d.mu.RLock()
	out := []pricing.ModelPrice{}
	for m, p := range d.prices[tenantID] {
		out = append(out, pricing.ModelPrice{Model: m, Price: p.price, SetAt: p.setAt})
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// onTeamEvent folds team.created and team.updated, skipping versions applied.
func (d *Directory) onTeamEvent(r eventlog.Recorded) {
	var id uuid.UUID
	switch e := r.Event.(type) {
	case tenancy.TeamCreated:
		id = e.TeamID
	case tenancy.TeamUpdated:
		id = e.TeamID
	}
	t := d.teams[id]
	if t == nil {
		if _, created := r.Event.(tenancy.TeamCreated); !created {
			return
		}
		t = &tenancy.Team{}
		d.teams[id] = t
	}
	if r.Version > t.Version {
		t.Apply(r)
	}
}

// OnTenantCreated adds the tenant.
func (d *Directory) OnTenantCreated(r eventlog.Recorded, e tenancy.TenantCreated) {
	if _, ok := d.tenants[e.TenantID]; ok {
		return
	}
	d.tenants[e.TenantID] = tenancy.Tenant{ID: e.TenantID, Name: e.Name, CreatedAt: r.OccurredAt}
}

// OnProviderConnected adds the connection.
func (d *Directory) OnProviderConnected(r eventlog.Recorded, e provider.ProviderConnected) {
	byName := d.providers[r.TenantID]
	if byName == nil {
		byName = map[string]provider.Connection{}
		d.providers[r.TenantID] = byName
	}
	if _, ok := byName[e.Name]; ok {
		return
	}
	var c provider.Connection
	c.Apply(r.TenantID, e)
	byName[e.Name] = c
}

// onKeyEvent folds a key's events through the key's own rules, skipping
// versions already applied; both its current and its rotated-out secret
// find it (the key decides whether the latter still opens it).
func (d *Directory) onKeyEvent(r eventlog.Recorded) error {
	id := keyID(r.Event)
	k := d.keys[id]
	if k == nil {
		if _, granted := r.Event.(key.KeyGranted); !granted {
			return nil // a later event before its grant: the grant will bring the state
		}
		k = &key.Key{}
	}
	if r.Version <= k.Version {
		return nil
	}
	stale := k.PreviousHash
	if err := k.Apply(r); err != nil {
		return err
	}
	if _, rotated := r.Event.(key.KeyRotated); rotated && stale != (key.SecretHash{}) {
		delete(d.bySecret, stale) // the secret two rotations ago opens nothing
	}
	d.keys[id] = k
	d.bySecret[k.SecretHash] = k
	if _, rotated := r.Event.(key.KeyRotated); rotated && k.PreviousValidUntil == nil {
		delete(d.bySecret, k.PreviousHash)
	}
	return nil
}

func keyID(e eventlog.Event) uuid.UUID {
	switch e := e.(type) {
	case key.KeyGranted:
		return e.KeyID
	case key.KeyUpdated:
		return e.KeyID
	case key.KeyRotated:
		return e.KeyID
	case key.KeyRevoked:
		return e.KeyID
	}
	return uuid.Nil
}

// Tenant finds a tenant.
func (d *Directory) Tenant(id string) (tenancy.Tenant, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	t, ok := d.tenants[id]
	return t, ok
}

// Tenants lists every tenant by id.
func (d *Directory) Tenants() []tenancy.Tenant {
	d.mu.RLock()
	out := make([]tenancy.Tenant, 0, len(d.tenants))
	for _, t := range d.tenants {
		out = append(out, t)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// OnProviderRotated counts the connection's new credentials, so that its
// client is built again with them.
func (d *Directory) OnProviderRotated(r eventlog.Recorded, e provider.ProviderRotated) {
	if c, ok := d.providers[r.TenantID][e.Name]; ok {
		c.Apply(r.TenantID, e)
		d.providers[r.TenantID][e.Name] = c
	}
}

// Provider finds a tenant's connection by name.
func (d *Directory) Provider(tenantID, name string) (provider.Connection, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, ok := d.providers[tenantID][name]
	return c, ok
}

// Providers lists a tenant's connections by name.
func (d *Directory) Providers(tenantID string) []provider.Connection {
	d.mu.RLock()
	out := make([]provider.Connection, 0, len(d.providers[tenantID]))
	for _, c := range d.providers[tenantID] {
		out = append(out, c)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// KeyBySecret finds the key a presented secret's hash belongs to, by its
// current or its rotated-out secret: key.Authenticates tells them apart.
func (d *Directory) KeyBySecret(h key.SecretHash) (key.Key, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	k, ok := d.bySecret[h]
	if !ok {
		return key.Key{}, false
	}
	return *k, true
}

// Team finds a tenant's team.
func (d *Directory) Team(tenantID string, id uuid.UUID) (tenancy.Team, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	t, ok := d.teams[id]
	if !ok || t.TenantID != tenantID {
		return tenancy.Team{}, false
	}
	return *t, true
}

// Teams lists a tenant's teams by name.
func (d *Directory) Teams(tenantID string) []tenancy.Team {
	d.mu.RLock()
	out := []tenancy.Team{}
	for _, t := range d.teams {
		if t.TenantID == tenantID {
			out = append(out, *t)
		}
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Key finds a tenant's key by id.
func (d *Directory) Key(tenantID string, id uuid.UUID) (key.Key, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	k, ok := d.keys[id]
	if !ok || k.TenantID != tenantID {
		return key.Key{}, false
	}
	return *k, true
}

// Keys lists a tenant's keys, oldest first.
func (d *Directory) Keys(tenantID string) []key.Key {
	d.mu.RLock()
	var out []key.Key
	for _, k := range d.keys {
		if k.TenantID == tenantID {
			out = append(out, *k)
		}
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID.String() < out[j].ID.String()
	})
	return out
}
