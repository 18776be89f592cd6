// Package audit is what an auditor checks: a tenant's Merkle tree (RFC
// 6962, over the hashes of its chain's events), its signed checkpoints
// (C2SP tlog-checkpoint in a signed note), and the export format with its
// offline verifier. The trees and notes are those of
// golang.org/x/mod/sumdb/tlog and sumdb/note; docs/audit-format.md gives
// the byte layout an auditor needs to write a verifier of their own.
package audit

import (
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// Leaf is an event's leaf in its tenant's tree: the RFC 6962 leaf hash,
// SHA-256(0x00 ‖ the event's 32-byte chain hash).
func Leaf(h eventlog.Hash) tlog.Hash { return tlog.RecordHash(h[:]) }

// Frontier is a tree of Size leaves held as the roots of the perfect
// subtrees it is made of, largest (leftmost) first: at most one per bit of
// Size. It grows leaf by leaf in constant memory, gives the tree's root at
// any size, and, sent ahead of the leaves that follow, lets a verifier
// carry on from it (a compact range from the first leaf).
type Frontier struct {
	Size  int64
	Peaks []tlog.Hash
}

// Append adds the next leaf.
func (f *Frontier) Append(leaf tlog.Hash) {
	h := leaf
	for n := f.Size; n&1 == 1; n >>= 1 { // merge equal subtrees, as a binary counter carries
		h = tlog.NodeHash(f.Peaks[len(f.Peaks)-1], h)
		f.Peaks = f.Peaks[:len(f.Peaks)-1]
	}
	f.Peaks = append(f.Peaks, h)
	f.Size++
}

// Root is the tree's RFC 6962 root: the peaks folded from the right. The
// empty tree's root is all zeros, as in tlog.
func (f *Frontier) Root() tlog.Hash {
	if len(f.Peaks) == 0 {
		return tlog.Hash{}
	}
	acc := f.Peaks[len(f.Peaks)-1]
	for i := len(f.Peaks) - 2; i >= 0; i-- {
		acc = tlog.NodeHash(f.Peaks[i], acc)
	}
	return acc
}

// Valid says whether the frontier has one peak per set bit of its size.
func (f *Frontier) Valid() bool {
	n, bits := f.Size, 0
	for ; n > 0; n &= n - 1 {
		bits++
	}
	return f.Size >= 0 && bits == len(f.Peaks)
}

// Clone is a copy that grows on its own.
func (f *Frontier) Clone() Frontier {
	return Frontier{Size: f.Size, Peaks: append([]tlog.Hash(nil), f.Peaks...)}
}
