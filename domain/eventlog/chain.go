package eventlog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Hash is a SHA-256 digest in the tenant chain.
type Hash [sha256.Size]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads a hash from its 32 raw bytes.
func ParseHash(b []byte) (Hash, error) {
	var h Hash
	if len(b) != len(h) {
		return h, fmt.Errorf("hash has %d bytes, want %d", len(b), len(h))
	}
	copy(h[:], b)
	return h, nil
}

// ChainDomain separates gatehouse event hashes from any other SHA-256 use.
const ChainDomain = "gatehouse.event.v1\n"

// GenesisHash is the prev_hash of a tenant's first event.
var GenesisHash Hash

// ChainHash is SHA-256(ChainDomain ‖ prev ‖ record): record is the event's
// exact stored bytes, so an auditor recomputes it without re-serialising.
func ChainHash(prev Hash, record []byte) Hash {
	h := sha256.New()
	h.Write([]byte(ChainDomain))
	h.Write(prev[:])
	h.Write(record)
	var out Hash
	h.Sum(out[:0])
	return out
}

// Link is one event of a tenant chain as read back from storage or an export.
type Link struct {
	Seq      int64 // the sequence stored beside the record
	Record   []byte
	PrevHash Hash
	Hash     Hash
}

// Header is what the record itself says about its place in the chain.
type Header struct {
	TenantID string
	Seq      int64
}

// ChainError names the first link that does not verify.
type ChainError struct {
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("chain broken at seq %d: %s", e.Seq, e.Reason)
}

// Verifier checks a tenant chain link by link, from a known starting point.
type Verifier struct {
	TenantID string
	next     int64
	prev     Hash
	// ReadHeader extracts tenant and sequence from a record's bytes.
	ReadHeader func(record []byte) (Header, error)
}

// NewVerifier starts at the genesis of tenant's chain.
func NewVerifier(tenantID string, readHeader func([]byte) (Header, error)) *Verifier {
	return &Verifier{TenantID: tenantID, next: 1, prev: GenesisHash, ReadHeader: readHeader}
}

// Next checks one link; links must come in sequence order.
func (v *Verifier) Next(l Link) error {
	fail := func(format string, args ...any) error {
		return &ChainError{Seq: l.Seq, Reason: fmt.Sprintf(format, args...)}
	}
	if l.Seq != v.next {
		return &ChainError{Seq: v.next, Reason: fmt.Sprintf("expected seq %d, found %d (missing or reordered event)", v.next, l.Seq)}
	}
	if l.PrevHash != v.prev {
		return fail("prev_hash %s does not match the previous event's hash %s", l.PrevHash, v.prev)
	}
	if got := ChainHash(v.prev, l.Record); got != l.Hash {
		return fail("stored hash %s does not match the recomputed %s (record altered)", l.Hash, got)
	}
	h, err := v.ReadHeader(l.Record)
	if err != nil {
		return fail("record unreadable: %v", err)
	}
	if h.TenantID != v.TenantID {
		return fail("record belongs to tenant %q, not %q", h.TenantID, v.TenantID)
	}
	if h.Seq != l.Seq {
		return fail("record says seq %d, stored beside seq %d", h.Seq, l.Seq)
	}
	v.prev = l.Hash
	v.next++
	return nil
}

// Head is the sequence and hash of the last verified link.
func (v *Verifier) Head() (int64, Hash) { return v.next - 1, v.prev }
