// Package auditing makes the event log a product for auditors: it keeps
// each tenant's Merkle tree and publishes signed checkpoints of it as
// events arrive, and writes signed exports that verify offline.
package auditing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/audit"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// Stored is a signed checkpoint as kept: its tree's frontier and its note.
type Stored struct {
	Size     int64
	Peaks    []tlog.Hash
	Note     string
	SignedAt time.Time
}

// Behind is a tenant whose log has grown past its last checkpoint.
type Behind struct {
	TenantID string
	Head     int64
	Size     int64
}

// Store is where the log and the checkpoints are.
type Store interface {
	TenantsBehind(ctx context.Context) ([]Behind, error)
	LatestCheckpoint(ctx context.Context, tenantID string) (Stored, bool, error)
	CheckpointAtMost(ctx context.Context, tenantID string, size int64) (Stored, bool, error)
	SaveCheckpoint(ctx context.Context, tenantID string, c Stored, root tlog.Hash) error
	// ChainHashes are the hashes of the events after afterSeq, in order, at most limit.
	ChainHashes(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]eventlog.Hash, error)
	// Links are the events after afterSeq up to lastSeq, in order, at most limit.
	Links(ctx context.Context, tenantID string, afterSeq, lastSeq int64, limit int) ([]eventlog.Link, error)
	// SeqRange is the first and last seq of the events in [from, to) (nil: open), and the head.
	SeqRange(ctx context.Context, tenantID string, from, to *time.Time) (first, last, head int64, err error)
	RecordExport(ctx context.Context, meta eventlog.Meta, tenantID string, e audit.AuditExported) error
}

// Tenants says which tenants exist.
type Tenants interface {
	Tenant(id string) (tenancy.Tenant, bool)
}

// KeySource is the installation's audit key as it stands: a rotation
// replaces it while the gateway runs.
type KeySource interface {
	Active(ctx context.Context) (note.Signer, string, error)
}

// Service keeps the checkpoints and writes exports.
type Service struct {
	store        Store
	tenants      Tenants
	keys         KeySource
	installation string
	now          func() time.Time
	log          *slog.Logger

	mu          sync.RWMutex
	signer      note.Signer
	verifierKey string
}

// New wires the service and loads the installation's audit key, named
// gatehouse/<installation>.
func New(ctx context.Context, store Store, tenants Tenants, keys KeySource, now func() time.Time, log *slog.Logger) (*Service, error) {
	if store == nil || tenants == nil || keys == nil || now == nil || log == nil {
		panic("auditing.New: nil dependency")
	}
	s := &Service{store: store, tenants: tenants, keys: keys, now: now, log: log}
	if err := s.refreshKey(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// refreshKey takes up the active key, if it changed.
func (s *Service) refreshKey(ctx context.Context) error {
	signer, vkey, err := s.keys.Active(ctx)
	if err != nil {
		return err
	}
	inst, ok := Installation(signer.Name())
	if !ok {
		return fmt.Errorf("the audit signing key is named %q; it must be gatehouse/<installation>", signer.Name())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verifierKey != "" && s.verifierKey != vkey {
		s.log.Info("audit key rotated", "verifier_key", vkey)
	}
	s.signer, s.verifierKey, s.installation = signer, vkey, inst
	return nil
}

// Installation is the installation a key name gatehouse/<installation> names.
func Installation(keyName string) (string, bool) {
	inst, ok := strings.CutPrefix(keyName, "gatehouse/")
	if !ok || inst == "" || audit.Tenant("gatehouse/"+inst+"/t") != "t" {
		return "", false
	}
	return inst, true
}

// key is the signer in use, and the installation it names.
func (s *Service) key() (note.Signer, string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.signer, s.installation
}

// VerifierKey is the key an auditor pins, in note format.
func (s *Service) VerifierKey() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.verifierKey
}

const page = 10_000

// frontierAt is the tree of a tenant's first size events: from the
// nearest checkpoint at or below it, grown by the events after.
func (s *Service) frontierAt(ctx context.Context, tenantID string, size int64) (audit.Frontier, error) {
	var f audit.Frontier
	if c, ok, err := s.store.CheckpointAtMost(ctx, tenantID, size); err != nil {
		return f, err
	} else if ok {
		f = audit.Frontier{Size: c.Size, Peaks: c.Peaks}
		if !f.Valid() {
			return f, fmt.Errorf("the stored checkpoint of %s at %d events has a malformed frontier", tenantID, c.Size)
		}
	}
	for f.Size < size {
		hs, err := s.store.ChainHashes(ctx, tenantID, f.Size, int(min(size-f.Size, page)))
		if err != nil {
			return f, err
		}
		if len(hs) == 0 {
			return f, fmt.Errorf("the log of %s ends at seq %d, before %d", tenantID, f.Size, size)
		}
		for _, h := range hs {
			f.Append(audit.Leaf(h))
		}
	}
	return f, nil
}

// CheckpointAll signs a checkpoint for every tenant whose log grew.
func (s *Service) CheckpointAll(ctx context.Context) error {
	behind, err := s.store.TenantsBehind(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range behind {
		if err := s.checkpoint(ctx, b); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint %s: %w", b.TenantID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) checkpoint(ctx context.Context, b Behind) error {
	f, err := s.frontierAt(ctx, b.TenantID, b.Head)
	if err != nil {
		return err
	}
	signer, inst := s.key()
	c := audit.Checkpoint{Origin: audit.Origin(inst, b.TenantID), Size: f.Size, Root: f.Root()}
	signed, err := c.Sign(signer)
	if err != nil {
		return err
	}
	return s.store.SaveCheckpoint(ctx, b.TenantID, Stored{Size: f.Size, Peaks: f.Peaks, Note: signed, SignedAt: s.now().UTC()}, c.Root)
}

// Run signs checkpoints every interval while events arrive, until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.refreshKey(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("audit key", "err", err)
		}
		if err := s.CheckpointAll(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("audit checkpoints", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// LatestCheckpoint asks for a tenant's latest signed checkpoint.
type LatestCheckpoint struct {
	Principal access.Principal
	TenantID  string
}

// ErrNoCheckpoint is a tenant whose log has no checkpoint yet.
var ErrNoCheckpoint = errors.New("no checkpoint yet")

// Latest answers the tenant's latest signed checkpoint.
func (s *Service) Latest(ctx context.Context, q LatestCheckpoint) (string, error) {
	if err := s.audits(q.Principal, q.TenantID); err != nil {
		return "", err
	}
	c, ok, err := s.store.LatestCheckpoint(ctx, q.TenantID)
	if err != nil || ok {
		return c.Note, err
	}
	// None signed yet (the log is seconds old): sign one now.
	_, _, head, err := s.store.SeqRange(ctx, q.TenantID, nil, nil)
	if err != nil {
		return "", err
	}
	if head == 0 {
		return "", ErrNoCheckpoint
	}
	if err := s.checkpoint(ctx, Behind{TenantID: q.TenantID, Head: head}); err != nil {
		return "", err
	}
	if c, ok, err = s.store.LatestCheckpoint(ctx, q.TenantID); err == nil && !ok {
		err = ErrNoCheckpoint
	}
	return c.Note, err
}

func (s *Service) audits(p access.Principal, tenantID string) error {
	if err := p.CanRead(tenantID); err != nil {
		return err
	}
	if _, ok := s.tenants.Tenant(tenantID); !ok {
		return access.ErrNotVisible
	}
	return p.CanAudit(tenantID)
}

// Export asks for a tenant's events in a time range, in a format.
type Export struct {
	Principal access.Principal
	TraceID   string
	TenantID  string
	From, To  *time.Time
	// AfterSeq, instead of From, starts the export just after the first
	// AfterSeq events: after a checkpoint an auditor kept, of that size.
	AfterSeq *int64
	Format   string // jsonl or csv
	Via      string // api or cli
}

// Formats of an export, and where it was asked.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
	ViaAPI      = "api"
	ViaCLI      = "cli"
)

// ErrBadRange is an export range that is not one.
var ErrBadRange = errors.New("the export range is invalid")

// Prepared is an export ready to be written: its range is fixed, so what
// is written does not depend on events appended meanwhile.
type Prepared struct {
	s        *Service
	q        Export
	from     int64 // the first seq, or last+1 when empty
	last     int64
	frontier audit.Frontier
}

// Events is how many events the export holds.
func (p *Prepared) Events() int64 { return p.last - p.from + 1 }

// Prepare checks who asks and what, and fixes the export's range of
// events: from the first event at or after From to the last before To.
func (s *Service) Prepare(ctx context.Context, q Export) (*Prepared, error) {
	if q.Via != ViaCLI { // the command line is the operator's, with the database's keys
		if err := s.audits(q.Principal, q.TenantID); err != nil {
			return nil, err
		}
	} else if _, ok := s.tenants.Tenant(q.TenantID); !ok {
		return nil, access.ErrNotVisible
	}
	if q.Format != FormatJSONL && q.Format != FormatCSV {
		return nil, fmt.Errorf("%w: format must be jsonl or csv", ErrBadRange)
	}
	if q.From != nil && q.To != nil && !q.From.Before(*q.To) {
		return nil, fmt.Errorf("%w: from must be before to", ErrBadRange)
	}
	if q.AfterSeq != nil && q.From != nil {
		return nil, fmt.Errorf("%w: give from or after_seq, not both", ErrBadRange)
	}
	first, last, head, err := s.store.SeqRange(ctx, q.TenantID, q.From, q.To)
	if err != nil {
		return nil, err
	}
	switch a := q.AfterSeq; {
	case a != nil:
		if *a < 0 || *a > head {
			return nil, fmt.Errorf("%w: after_seq must be from 0 to the log's %d events", ErrBadRange, head)
		}
		first = *a + 1
		if q.To != nil && last < *a {
			return nil, fmt.Errorf("%w: to is before the events after after_seq", ErrBadRange)
		}
		if last < first { // nothing after it (yet): an empty export that extends the tree of AfterSeq events
			last = first - 1
		}
	case first == 0: // nothing at or after from: an empty export after the whole log
		first, last = head+1, head
	case last < first: // nothing in range: an empty export where the range would be
		last = first - 1
	}
	f, err := s.frontierAt(ctx, q.TenantID, first-1)
	if err != nil {
		return nil, err
	}
	return &Prepared{s: s, q: q, from: first, last: last, frontier: f}, nil
}

// Progress hears how many events were written so far.
type Progress func(written, total int64)

// Write writes the export, then records it (audit.exported).
func (p *Prepared) Write(ctx context.Context, w io.Writer, progress Progress) (audit.AuditExported, error) {
	s, q := p.s, p.q
	var sink interface {
		Event(eventlog.Link) error
		Close() error
	}
	var err error
	switch q.Format {
	case FormatCSV:
		sink, err = newCSV(w)
	default:
		sink, err = s.newJSONL(w, q, p.from, p.frontier)
	}
	if err != nil {
		return audit.AuditExported{}, err
	}
	e := audit.AuditExported{V: 1, ExportID: uuid.New(), Format: q.Format, From: utc(q.From), To: utc(q.To), FirstSeq: p.from, LastSeq: p.last, Via: q.Via}
	for after := p.from - 1; after < p.last; {
		links, err := s.store.Links(ctx, q.TenantID, after, p.last, 1000)
		if err != nil {
			return e, err
		}
		if len(links) == 0 {
			return e, fmt.Errorf("the log of %s ends at seq %d, before %d", q.TenantID, after, p.last)
		}
		for _, l := range links {
			if err := sink.Event(l); err != nil {
				return e, err
			}
			e.Events++
			e.Head = l.Hash.String()
		}
		after = links[len(links)-1].Seq
		if progress != nil {
			progress(e.Events, p.Events())
		}
	}
	if err := sink.Close(); err != nil {
		return e, err
	}
	actor := q.Principal.Subject
	if q.Via == ViaCLI {
		actor = "cli"
	}
	meta := eventlog.Meta{Actor: actor, Role: q.Principal.RoleNames(), TraceID: q.TraceID, OccurredAt: s.now().UTC()}
	return e, s.store.RecordExport(ctx, meta, q.TenantID, e)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// jsonl is the verifiable export: header, events, signed checkpoint.
type jsonl struct {
	w      *audit.Writer
	signer note.Signer
}

func (s *Service) newJSONL(w io.Writer, q Export, from int64, f audit.Frontier) (*jsonl, error) {
	signer, inst := s.key()
	hdr := audit.NewHeader(audit.Origin(inst, q.TenantID), q.TenantID, from, f, s.now())
	if q.From != nil {
		v := q.From.UTC().Format(time.RFC3339Nano)
		hdr.From = &v
	}
	if q.To != nil {
		v := q.To.UTC().Format(time.RFC3339Nano)
		hdr.To = &v
	}
	aw, err := audit.NewWriter(w, hdr, f)
	if err != nil {
		return nil, err
	}
	return &jsonl{w: aw, signer: signer}, nil
}

func (j *jsonl) Event(l eventlog.Link) error { return j.w.Event(l) }
func (j *jsonl) Close() error {
	_, err := j.w.Close(j.signer)
	return err
}
