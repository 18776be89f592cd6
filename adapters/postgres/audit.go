package postgres

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/app/auditing"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/audit"
	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// AuditStore keeps the audit checkpoints beside the event log.
type AuditStore struct {
	pool  *pgxpool.Pool
	q     *db.Queries
	store *EventStore
}

// NewAuditStore builds the store.
func NewAuditStore(pool *pgxpool.Pool, store *EventStore) *AuditStore {
	if pool == nil || store == nil {
		panic("postgres.NewAuditStore: nil dependency")
	}
	return &AuditStore{pool: pool, q: db.New(pool), store: store}
}

var _ auditing.Store = (*AuditStore)(nil)

// TenantsBehind lists the tenants whose log grew past their last checkpoint.
func (s *AuditStore) TenantsBehind(ctx context.Context) ([]auditing.Behind, error) {
	rows, err := s.q.TenantsBehindCheckpoints(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]auditing.Behind, len(rows))
	for i, r := range rows {
		out[i] = auditing.Behind{TenantID: r.TenantID, Head: r.Head, Size: r.Size}
	}
	return out, nil
}

// storedCheckpoint reads a checkpoint row that may not be there.
func storedCheckpoint(c db.AuditCheckpoint, err error) (auditing.Stored, bool, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return auditing.Stored{}, false, nil
	}
	if err != nil {
		return auditing.Stored{}, false, err
	}
	if len(c.Peaks)%32 != 0 {
		return auditing.Stored{}, false, fmt.Errorf("audit checkpoint %s/%d: peaks of %d bytes", c.TenantID, c.Size, len(c.Peaks))
	}
	out := auditing.Stored{Size: c.Size, Note: c.Note, SignedAt: c.SignedAt}
	for i := 0; i < len(c.Peaks); i += 32 {
		var h tlog.Hash
		copy(h[:], c.Peaks[i:i+32])
		out.Peaks = append(out.Peaks, h)
	}
	return out, true, nil
}

// LatestCheckpoint is a tenant's latest checkpoint.
func (s *AuditStore) LatestCheckpoint(ctx context.Context, tenantID string) (auditing.Stored, bool, error) {
	return storedCheckpoint(s.q.LatestAuditCheckpoint(ctx, tenantID))
}

// CheckpointAtMost is the tenant's largest checkpoint of at most size events.
func (s *AuditStore) CheckpointAtMost(ctx context.Context, tenantID string, size int64) (auditing.Stored, bool, error) {
	return storedCheckpoint(s.q.AuditCheckpointAtMost(ctx, db.AuditCheckpointAtMostParams{TenantID: tenantID, Size: size}))
}

// SaveCheckpoint keeps a signed checkpoint (once per tenant and size).
func (s *AuditStore) SaveCheckpoint(ctx context.Context, tenantID string, c auditing.Stored, root tlog.Hash) error {
	peaks := make([]byte, 0, 32*len(c.Peaks))
	for _, p := range c.Peaks {
		peaks = append(peaks, p[:]...)
	}
	return s.q.InsertAuditCheckpoint(ctx, db.InsertAuditCheckpointParams{TenantID: tenantID, Size: c.Size, Root: root[:], Peaks: peaks, Note: c.Note, SignedAt: c.SignedAt})
}

// ChainHashes are the hashes of a tenant's events after afterSeq.
func (s *AuditStore) ChainHashes(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]eventlog.Hash, error) {
	rows, err := s.q.ChainHashesAfter(ctx, db.ChainHashesAfterParams{TenantID: tenantID, AfterSeq: afterSeq, MaxRows: int32(limit)})
	if err != nil {
		return nil, err
	}
	out := make([]eventlog.Hash, len(rows))
	for i, r := range rows {
		if r.Seq != afterSeq+int64(i)+1 {
			return nil, fmt.Errorf("the log of %s skips from seq %d to %d", tenantID, afterSeq+int64(i), r.Seq)
		}
		if out[i], err = eventlog.ParseHash(r.Hash); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Links are a tenant's events after afterSeq up to lastSeq.
func (s *AuditStore) Links(ctx context.Context, tenantID string, afterSeq, lastSeq int64, limit int) ([]eventlog.Link, error) {
	rows, err := s.q.ChainLinksBetween(ctx, db.ChainLinksBetweenParams{TenantID: tenantID, AfterSeq: afterSeq, LastSeq: lastSeq, MaxRows: int32(limit)})
	if err != nil {
		return nil, err
	}
	out := make([]eventlog.Link, len(rows))
	for i, r := range rows {
		prev, err1 := eventlog.ParseHash(r.PrevHash)
		h, err2 := eventlog.ParseHash(r.Hash)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		out[i] = eventlog.Link{Seq: r.Seq, Record: r.Record, PrevHash: prev, Hash: h}
	}
	return out, nil
}

// SeqRange is the first and last seq of a tenant's events in [from, to), and its head.
func (s *AuditStore) SeqRange(ctx context.Context, tenantID string, from, to *time.Time) (first, last, head int64, err error) {
	h, err := s.q.TenantHead(ctx, tenantID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, 0, nil
	}
	if err != nil {
		return 0, 0, 0, err
	}
	head, first, last = h.Seq, min(1, h.Seq), h.Seq
	if from != nil {
		if first, err = s.q.FirstSeqFrom(ctx, db.FirstSeqFromParams{TenantID: tenantID, Since: *from}); err != nil {
			return 0, 0, 0, err
		}
	}
	if to != nil {
		if last, err = s.q.LastSeqBefore(ctx, db.LastSeqBeforeParams{TenantID: tenantID, Until: *to}); err != nil {
			return 0, 0, 0, err
		}
	}
	return first, min(last, head), head, nil
}

// RecordExport appends audit.exported on the export's own stream.
func (s *AuditStore) RecordExport(ctx context.Context, meta eventlog.Meta, tenantID string, e audit.AuditExported) error {
	_, err := s.store.Append(ctx, Expect, meta.Envelope(uuid.New(), tenantID, audit.ExportStreamID(e.ExportID), 1, e))
	return err
}

// Sealer seals and opens the signing key with the master key.
type Sealer interface {
	Seal(plaintext []byte, aad ...string) ([]byte, error)
	Open(sealed []byte, aad ...string) ([]byte, error)
}

// AuditKeys is the installation's audit signing key: the one given
// (GATEHOUSE_AUDIT_SIGNING_KEY, in note format), else the one stored
// sealed with the master key, else a new one, generated and stored for the
// next start and every replica. installation names a new key (empty: a
// random name).
type AuditKeys struct {
	pool         *pgxpool.Pool
	vault        Sealer
	given        string
	installation string
	now          func() time.Time
}

// NewAuditKeys builds the key store.
func NewAuditKeys(pool *pgxpool.Pool, vault Sealer, given, installation string, now func() time.Time) *AuditKeys {
	if pool == nil || vault == nil || now == nil {
		panic("postgres.NewAuditKeys: nil dependency")
	}
	return &AuditKeys{pool: pool, vault: vault, given: given, installation: installation, now: now}
}

var _ auditing.KeySource = (*AuditKeys)(nil)

// Active is the key to sign with now, and its verifier key.
func (k *AuditKeys) Active(ctx context.Context) (note.Signer, string, error) {
	q := db.New(k.pool)
	if k.given != "" {
		return k.activeGiven(ctx, q)
	}
	for attempt := 0; attempt < 2; attempt++ {
		row, err := q.ActiveSigningKey(ctx)
		if err == nil {
			if row.SealedPrivate == nil {
				return nil, "", fmt.Errorf("the audit key %s was given by GATEHOUSE_AUDIT_SIGNING_KEY, which is not set", row.Name)
			}
			skey, err := k.vault.Open(row.SealedPrivate, "audit-signing-key", row.VerifierKey)
			if err != nil {
				return nil, "", fmt.Errorf("open the audit signing key %s (is GATEHOUSE_MASTER_KEY the one it was sealed with?): %w", row.Name, err)
			}
			signer, err := note.NewSigner(string(skey))
			return signer, row.VerifierKey, err
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, "", err
		}
		if err := k.create(ctx, q, "gatehouse/"+k.installation); err != nil {
			return nil, "", err
		}
	}
	return nil, "", errors.New("no audit signing key after creating one")
}

func (k *AuditKeys) activeGiven(ctx context.Context, q *db.Queries) (note.Signer, string, error) {
	signer, vkey, err := givenKey(k.given)
	if err != nil {
		return nil, "", err
	}
	for attempt := 0; attempt < 2; attempt++ {
		row, err := q.ActiveSigningKey(ctx)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if _, err := q.InsertSigningKey(ctx, db.InsertSigningKeyParams{Name: signer.Name(), VerifierKey: vkey, CreatedAt: k.now().UTC()}); err != nil {
				return nil, "", err
			}
			continue
		case err != nil:
			return nil, "", err
		case row.VerifierKey != vkey:
			return nil, "", fmt.Errorf("GATEHOUSE_AUDIT_SIGNING_KEY is not the installation's audit key (%s); after a rotation, unset it", row.Name)
		}
		return signer, vkey, nil
	}
	return nil, "", errors.New("no audit signing key after registering the one given")
}

// Rotate replaces the active key with a new one of the same name, and
// records in every tenant's log, in one transaction, the statement that
// the old key hands over to the new one (signed by both). Running gateways
// take the new key up within their checkpoint interval.
func (k *AuditKeys) Rotate(ctx context.Context, store *EventStore, tenants []string) (oldKey, newKey string, err error) {
	old, oldKey, err := k.Active(ctx)
	if err != nil {
		return "", "", err
	}
	skey, newKey, err := note.GenerateKey(rand.Reader, old.Name())
	if err != nil {
		return "", "", err
	}
	next, err := note.NewSigner(skey)
	if err != nil {
		return "", "", err
	}
	now := k.now().UTC()
	statement, err := audit.SignRotation(oldKey, newKey, old, next, now)
	if err != nil {
		return "", "", err
	}
	sealed, err := k.vault.Seal([]byte(skey), "audit-signing-key", newKey)
	if err != nil {
		return "", "", err
	}
	e := audit.KeyRotated{V: 1, OldKey: oldKey, NewKey: newKey, Statement: statement}
	meta := eventlog.Meta{Actor: "cli", OccurredAt: now}
	envs := make([]eventlog.Envelope, len(tenants))
	for i, t := range tenants {
		envs[i] = meta.Envelope(uuid.New(), t, audit.KeyStreamID(next.KeyHash()), 1, e)
	}
	_, err = store.AppendWith(ctx, Expect, func(ctx context.Context, tx pgx.Tx) error {
		q := db.New(tx)
		if err := q.RetireSigningKeys(ctx); err != nil {
			return err
		}
		_, err := q.InsertSigningKey(ctx, db.InsertSigningKeyParams{Name: next.Name(), VerifierKey: newKey, SealedPrivate: sealed, CreatedAt: now})
		return err
	}, envs...)
	return oldKey, newKey, err
}

// create generates and stores the installation's first key.
func (k *AuditKeys) create(ctx context.Context, q *db.Queries, name string) error {
	if name == "gatehouse/" {
		b := make([]byte, 6)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		name += hex.EncodeToString(b)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return fmt.Errorf("audit signing key: %w", err)
	}
	sealed, err := k.vault.Seal([]byte(skey), "audit-signing-key", vkey)
	if err != nil {
		return err
	}
	_, err = q.InsertSigningKey(ctx, db.InsertSigningKeyParams{Name: name, VerifierKey: vkey, SealedPrivate: sealed, CreatedAt: k.now().UTC()})
	return err // a replica that created one first wins: the caller reads it
}

// givenKey reads a signing key in note format and derives its verifier key.
func givenKey(skey string) (note.Signer, string, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("GATEHOUSE_AUDIT_SIGNING_KEY: %v", err)
	}
	parts := strings.SplitN(skey, "+", 5) // PRIVATE+KEY+name+hash+key: the key's base64 may hold a +
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, "", errors.New("GATEHOUSE_AUDIT_SIGNING_KEY: not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	return signer, vkey, err
}

// TenantIDs are the tenants that have a log.
func TenantIDs(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	return db.New(pool).TenantIDs(ctx)
}

var _ query.TrailStore = (*AuditStore)(nil)

func optionalTime(t *time.Time) pgtype.Timestamptz {
	if t == nil {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: *t, Valid: true}
}

func optionalText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

// TrailPage reads a page of a tenant's audit trail.
func (s *AuditStore) TrailPage(ctx context.Context, tenantID string, f query.TrailFilter, after int64, limit int) ([]query.EventView, error) {
	rows, err := s.q.AuditTrailPage(ctx, db.AuditTrailPageParams{TenantID: tenantID, AfterSeq: after, Since: optionalTime(f.From), Until: optionalTime(f.To),
		Actor: optionalText(f.Actor), EventType: optionalText(f.Type), MaxRows: int32(limit)})
	if err != nil {
		return nil, err
	}
	return eventViews(rows)
}

// StreamHistory reads the earlier events of some streams.
func (s *AuditStore) StreamHistory(ctx context.Context, tenantID string, streams []string, beforeSeq int64) ([]query.EventView, error) {
	rows, err := s.q.StreamEventsBefore(ctx, db.StreamEventsBeforeParams{TenantID: tenantID, StreamIds: streams, BeforeSeq: beforeSeq})
	if err != nil {
		return nil, err
	}
	return eventViews(rows)
}

// Traffic counts a range's requests and verdicts.
func (s *AuditStore) Traffic(ctx context.Context, tenantID string, from, to time.Time) (query.Traffic, error) {
	r, err := s.q.TrafficSummary(ctx, db.TrafficSummaryParams{TenantID: tenantID, Since: from, Until: to})
	return query.Traffic{Completed: r.Completed, Rejected: r.Rejected, Verdicts: r.Verdicts}, err
}
