package audit_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse/gatehouse/domain/audit"
	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// rfc6962Root is RFC 6962's Merkle Tree Hash, written from section 2.1
// and nothing else: MTH({}) is taken as 32 zero bytes (as tlog does),
// MTH({d}) = SHA-256(0x00 ‖ d), and MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖
// MTH(D[k:n])) for k the largest power of two smaller than n. The leaf
// data of an event is its 32-byte chain hash.
func rfc6962Root(leaves [][]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return [32]byte{}
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := rfc6962Root(leaves[:k]), rfc6962Root(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// chainOf is a tenant's recorded log: records in the documented layout,
// chained from the genesis hash.
func chainOf(tenant string, n int) []eventlog.Link {
	var out []eventlog.Link
	prev := eventlog.GenesisHash
	for seq := int64(1); seq <= int64(n); seq++ {
		rec := fmt.Sprintf(`{"tenant":%q,"seq":%d,"stream":"key:k%d","version":1,"id":"00000000-0000-0000-0000-%012d","type":"key.granted",`+
			`"occurred_at":"2026-11-25T14:%02d:20.419686Z","actor":"alice","trace_id":"t%d","data":{"v":1,"note":"ünïcode %d"}}`,
			tenant, seq, seq, seq, seq%60, seq, seq)
		h := eventlog.ChainHash(prev, []byte(rec))
		out = append(out, eventlog.Link{Seq: seq, Record: []byte(rec), PrevHash: prev, Hash: h})
		prev = h
	}
	return out
}

func TestFrontier_IsRFC6962sTreeAtEverySize(t *testing.T) {
	links := chainOf("acme", 70)
	var f audit.Frontier
	var leaves [][]byte
	stored := map[int64]tlog.Hash{}
	for i, l := range links {
		leaves = append(leaves, l.Hash[:])
		f.Append(audit.Leaf(l.Hash))
		// tlog's own tree, from the hashes it stores, agrees too.
		hs, err := tlog.StoredHashes(int64(i), l.Hash[:], tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = stored[x]
			}
			return out, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		for j, h := range hs {
			stored[tlog.StoredHashIndex(0, int64(i))+int64(j)] = h
		}
		want := rfc6962Root(leaves)
		if got := f.Root(); got != tlog.Hash(want) || !f.Valid() {
			t.Fatalf("size %d: root %s, RFC 6962 says %s", i+1, got, tlog.Hash(want))
		}
		th, err := tlog.TreeHash(int64(i+1), tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = stored[x]
			}
			return out, nil
		}))
		if err != nil || th != f.Root() {
			t.Fatalf("size %d: tlog says %s (%v)", i+1, th, err)
		}
	}
}

type signer struct {
	s note.Signer
	v note.Verifier
}

// newSigner makes a key for a name; with a seed, always the same one (the
// fuzzer's seed corpus must be the same in each of its processes).
func newSigner(t testing.TB, name string, seed ...byte) signer {
	var r io.Reader = rand.Reader
	if len(seed) > 0 {
		r = bytes.NewReader(bytes.Repeat(seed, 64))
	}
	skey, vkey, err := note.GenerateKey(r, name)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return signer{s, v}
}

// export writes links[from-1:to] of a tenant's log as the server does.
func export(t testing.TB, key signer, tenant string, links []eventlog.Link, from, to int) []byte {
	var f audit.Frontier
	for _, l := range links[:from-1] {
		f.Append(audit.Leaf(l.Hash))
	}
	var b bytes.Buffer
	hdr := audit.NewHeader(audit.Origin("inst1", tenant), tenant, int64(from), f, time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC))
	w, err := audit.NewWriter(&b, hdr, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links[from-1 : to] {
		if err := w.Event(l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(key.s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// lines are an export's lines, each with its newline.
func lines(b []byte) []string { return strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n") }

func join(ls []string) []byte {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(strings.TrimSuffix(l, "\n") + "\n")
	}
	return []byte(b.String())
}

func verify(b []byte, key note.Verifier, kept string) (audit.Summary, error) {
	return audit.Verify(bytes.NewReader(b), audit.VerifyOptions{Key: key, Kept: kept})
}

func TestVerify_AnUntouchedExportPasses(t *testing.T) {
	key := newSigner(t, "gatehouse/inst1")
	links := chainOf("acme", 9)
	s, err := verify(export(t, key, "acme", links, 1, 9), key.v, "")
	if err != nil || !s.Pinned || s.Events != 9 || s.FirstSeq != 1 || s.LastSeq != 9 || s.Head != links[8].Hash || s.Tenant != "acme" {
		t.Fatalf("%+v %v", s, err)
	}
	// A range from the middle carries the tree before it in its header.
	s, err = verify(export(t, key, "acme", links, 4, 7), key.v, "")
	if err != nil || s.Events != 4 || s.FirstSeq != 4 || s.LastSeq != 7 {
		t.Fatalf("a middle range: %+v %v", s, err)
	}
	// Unpinned: the chain and the tree are checked, the signer is not.
	if s, err = verify(export(t, key, "acme", links, 1, 9), nil, ""); err != nil || s.Pinned {
		t.Fatalf("unpinned: %+v %v", s, err)
	}
}

func TestVerify_EveryKindOfTamperingIsNamed(t *testing.T) {
	key := newSigner(t, "gatehouse/inst1")
	links := chainOf("acme", 8)
	good := export(t, key, "acme", links, 1, 8)
	other := export(t, key, "globex", chainOf("globex", 8), 1, 8)
	ls, ols := lines(good), lines(other)
	// Line 1 is the header, lines 2-9 the events (seq 1-8), line 10 the checkpoint.
	edit := func(f func([]string) []string) []byte { return join(f(append([]string(nil), ls...))) }
	rehashed := func() []byte { // an altered event, and the chain rebuilt after it
		forged := chainOf("acme", 8)
		forged[2].Record = bytes.Replace(forged[2].Record, []byte(`"actor":"alice"`), []byte(`"actor":"carol"`), 1)
		prev := forged[1].Hash
		for i := 2; i < len(forged); i++ {
			forged[i].PrevHash = prev
			forged[i].Hash = eventlog.ChainHash(prev, forged[i].Record)
			prev = forged[i].Hash
		}
		fl := lines(export(t, key, "acme", forged, 1, 8))
		return join(append(fl[:9], ls[9]))
	}
	wrongKey := newSigner(t, "gatehouse/inst1")
	cases := []struct {
		name string
		b    []byte
		key  note.Verifier
		line int
		why  string
	}{
		{"an altered record", edit(func(l []string) []string {
			l[3] = strings.Replace(l[3], `"record":"ey`, `"record":"ex`, 1)
			return l
		}), key.v, 4, "altered"},
		{"an altered event, the chain rebuilt", rehashed(), key.v, 10, "do not make the checkpoint's root"},
		{"an event removed", edit(func(l []string) []string { return append(l[:4], l[5:]...) }), key.v, 5, "seq 4 is missing here"},
		{"an event duplicated", edit(func(l []string) []string { return append(l[:5], l[4:]...) }), key.v, 6, "appears twice"},
		{"events reordered", edit(func(l []string) []string { l[4], l[5] = l[5], l[4]; return l }), key.v, 5, "seq 4 is missing here"},
		{"an event of another tenant", edit(func(l []string) []string { l[3] = ols[3]; return l }), key.v, 4, "taken from another log"},
		{"a copy beside the record edited", edit(func(l []string) []string {
			l[2] = strings.Replace(l[2], `"actor":"alice"`, `"actor":"bob"`, 1)
			return l
		}), key.v, 3, "differ from its record"},
		{"the checkpoint removed", edit(func(l []string) []string { return l[:9] }), key.v, 10, "no signed checkpoint"},
		{"the checkpoint of another tenant", edit(func(l []string) []string { l[9] = ols[9]; return l }), key.v, 10, "another log"},
		{"signed by another key", good, wrongKey.v, 10, "does not verify with the pinned key"},
		{"the header edited", edit(func(l []string) []string {
			l[0] = strings.Replace(l[0], "2026-11-25T15:00:00Z", "2026-11-26T15:00:00Z", 1)
			return l
		}), key.v, 10, "does not sign this export's header"},
		{"a line after the checkpoint", edit(func(l []string) []string { return append(l, ls[3]) }), key.v, 11, "after the checkpoint"},
	}
	sig := strings.Index(ls[9], "— gatehouse/inst1 ") // the signature line of the note
	if sig < 0 {
		t.Fatalf("no signature in %s", ls[9])
	}
	flipped := []byte(ls[9])
	flipped[sig+len("— gatehouse/inst1 ")+10] ^= 1
	cases = append(cases, struct {
		name string
		b    []byte
		key  note.Verifier
		line int
		why  string
	}{"a flipped signature byte", join(append(append([]string(nil), ls[:9]...), string(flipped))), key.v, 10, "does not verify"})
	for _, c := range cases {
		_, err := verify(c.b, c.key, "")
		var le *audit.LineError
		if !errors.As(err, &le) || le.Line != c.line || !strings.Contains(le.Reason, c.why) {
			t.Errorf("%s: %v, want line %d: …%s…", c.name, err, c.line, c.why)
		}
	}
}

func TestVerify_AnExportCutAtAnyByteFails(t *testing.T) {
	key := newSigner(t, "gatehouse/inst1")
	good := export(t, key, "acme", chainOf("acme", 3), 1, 3)
	for n := 0; n < len(good); n++ {
		if _, err := verify(good[:n], key.v, ""); err == nil {
			t.Fatalf("cut to %d of %d bytes, it passed", n, len(good))
		}
	}
	if _, err := verify(good, key.v, ""); err != nil {
		t.Fatal(err)
	}
}

func TestVerify_AgainstTheCheckpointAnAuditorKept(t *testing.T) {
	key := newSigner(t, "gatehouse/inst1")
	links := chainOf("acme", 12)
	keptNote := func(b []byte) string { // the checkpoint of an earlier export
		l := lines(b)
		last := l[len(l)-1]
		var c struct{ Note string }
		if err := jsonUnmarshal(last, &c); err != nil {
			t.Fatal(err)
		}
		return c.Note
	}
	kept := keptNote(export(t, key, "acme", links, 1, 5))
	for _, from := range []int{1, 3, 6} { // before, inside, and just after the kept tree
		if s, err := verify(export(t, key, "acme", links, from, 12), key.v, kept); err != nil || s.KeptCheckpoint != 5 {
			t.Errorf("from seq %d: %+v %v", from, s, err)
		}
	}
	// Starting after the kept tree's end leaves nothing to tie them together.
	if _, err := verify(export(t, key, "acme", links, 7, 12), key.v, kept); err == nil || !strings.Contains(err.Error(), "export from seq 6 or earlier") {
		t.Errorf("from seq 7: %v", err)
	}
	// History rewritten: event 3 altered, the chain and the tree rebuilt and signed anew.
	forged := chainOf("acme", 12)
	forged[2].Record = bytes.Replace(forged[2].Record, []byte("alice"), []byte("carol"), 1)
	prev := forged[1].Hash
	for i := 2; i < len(forged); i++ {
		forged[i].PrevHash, forged[i].Hash = prev, eventlog.ChainHash(prev, forged[i].Record)
		prev = forged[i].Hash
	}
	if _, err := verify(export(t, key, "acme", forged, 1, 12), key.v, kept); err == nil || !strings.Contains(err.Error(), "history was rewritten") {
		t.Errorf("rewritten: %v", err)
	}
	// Cut: the log now ends before the kept checkpoint's last event.
	if _, err := verify(export(t, key, "acme", links, 1, 4), key.v, kept); err == nil || !strings.Contains(err.Error(), "cut from the end") {
		t.Errorf("cut: %v", err)
	}
	// A kept checkpoint of another tenant's log.
	otherKept := keptNote(export(t, key, "globex", chainOf("globex", 5), 1, 5))
	if _, err := verify(export(t, key, "acme", links, 1, 12), key.v, otherKept); err == nil || !strings.Contains(err.Error(), "another log") {
		t.Errorf("another tenant's: %v", err)
	}
}

// FuzzVerify: no input makes the verifier panic, and no change to a good
// export passes.
func FuzzVerify(f *testing.F) {
	key := newSigner(f, "gatehouse/inst1", 7)
	good := [][]byte{export(f, key, "acme", chainOf("acme", 4), 1, 4), export(f, key, "acme", chainOf("acme", 6), 3, 5)}
	for _, g := range good {
		f.Add(g)
	}
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := verify(b, key.v, ""); err == nil && !bytes.Equal(b, good[0]) && !bytes.Equal(b, good[1]) {
			t.Fatalf("a changed export passed:\n%s", b)
		}
	})
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// rotatedChain is a log of n events whose event at seq `at` hands the
// installation's key over from old to next.
func rotatedChain(t *testing.T, n, at int, old, next signer, oldKey, nextKey string) []eventlog.Link {
	statement, err := audit.SignRotation(oldKey, nextKey, old.s, next.s, time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(audit.KeyRotated{V: 1, OldKey: oldKey, NewKey: nextKey, Statement: statement})
	links := chainOf("acme", n)
	prev := links[at-2].Hash
	for i := at - 1; i < n; i++ {
		if i == at-1 {
			links[i].Record = []byte(fmt.Sprintf(`{"tenant":"acme","seq":%d,"stream":"audit-key:1","version":1,"id":"x","type":"audit.key_rotated",`+
				`"occurred_at":"2026-11-25T14:00:00.000000Z","actor":"cli","trace_id":"","data":%s}`, at, data))
		}
		links[i].PrevHash, links[i].Hash = prev, eventlog.ChainHash(prev, links[i].Record)
		prev = links[i].Hash
	}
	return links
}

func TestVerify_FollowsAKeyRotationThePinnedKeySigned(t *testing.T) {
	old, oldKey := seededKey(1)
	next, nextKey := seededKey(2)
	stranger, strangerKey := seededKey(3)
	// The export is signed by the new key; the auditor pinned the old one.
	if s, err := verify(export(t, next, "acme", rotatedChain(t, 6, 3, old, next, oldKey, nextKey), 1, 6), old.v, ""); err != nil || !s.Pinned {
		t.Fatalf("a rotation signed by the pinned key: %+v %v", s, err)
	}
	// A rotation from a key nobody pinned is refused where it stands.
	_, err := verify(export(t, stranger, "acme", rotatedChain(t, 6, 3, stranger, next, strangerKey, nextKey), 1, 6), old.v, "")
	if err == nil || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "not a trusted key") {
		t.Fatalf("a rotation from a stranger: %v", err)
	}
	// Without the rotation in the range, the new key is not trusted.
	if _, err := verify(export(t, next, "acme", rotatedChain(t, 6, 3, old, next, oldKey, nextKey), 4, 6), old.v, ""); err == nil ||
		!strings.Contains(err.Error(), "pinned key") {
		t.Fatalf("a range after the rotation: %v", err)
	}
}

func TestVerify_TheChainStartsAtTheGenesisHash(t *testing.T) {
	key := newSigner(t, "gatehouse/inst1")
	forged := chainOf("acme", 3)
	forged[0].PrevHash = eventlog.Hash{1}
	prev := forged[0].PrevHash
	for i := range forged {
		forged[i].PrevHash, forged[i].Hash = prev, eventlog.ChainHash(prev, forged[i].Record)
		prev = forged[i].Hash
	}
	if _, err := verify(export(t, key, "acme", forged, 1, 3), key.v, ""); err == nil || !strings.Contains(err.Error(), "line 2") ||
		!strings.Contains(err.Error(), "zero bytes") {
		t.Fatalf("a chain that does not start at the genesis hash: %v", err)
	}
}

func TestVerify_RotationsWithTheNewKeyPinnedOrAKeptCheckpointOfTheNewKey(t *testing.T) {
	old, oldKey := seededKey(1)
	next, nextKey := seededKey(2)
	links := rotatedChain(t, 8, 3, old, next, oldKey, nextKey)
	// An auditor who pinned the new key reads an export that holds the hand-over.
	if _, err := verify(export(t, next, "acme", links, 1, 8), next.v, ""); err != nil {
		t.Fatalf("the new key pinned: %v", err)
	}
	// A checkpoint kept after the rotation is signed by the new key; the old key is pinned.
	l := lines(export(t, next, "acme", links, 1, 5))
	var kept struct{ Note string }
	if err := jsonUnmarshal(l[len(l)-1], &kept); err != nil {
		t.Fatal(err)
	}
	if s, err := verify(export(t, next, "acme", links, 1, 8), old.v, kept.Note); err != nil || !s.Kept || s.KeptCheckpoint != 5 {
		t.Fatalf("a kept checkpoint of the new key: %+v %v", s, err)
	}
}

// seededKey is the same key of gatehouse/inst1 for the same seed, and its
// verifier key.
func seededKey(seed byte) (signer, string) {
	skey, vkey, _ := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)), "gatehouse/inst1")
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return signer{s, v}, vkey
}
