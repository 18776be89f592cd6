package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// Format names the export format in its header line.
const Format = "gatehouse-audit-export/v1"

// MaxLine bounds a line of an export (an event's record is far smaller).
const MaxLine = 16 << 20

// Header is an export's first line: whose log, from which event, and the
// tree of the events before it (a frontier), so that the verifier can
// carry the tree on from there.
type Header struct {
	Kind     string    `json:"kind"` // "header"
	Format   string    `json:"format"`
	Tenant   string    `json:"tenant"`
	Origin   string    `json:"origin"`
	FromSeq  int64     `json:"from_seq"`
	Frontier []string  `json:"frontier"` // base64 peaks of the tree of from_seq-1 leaves, largest first
	From     *string   `json:"from,omitempty"`
	To       *string   `json:"to,omitempty"`
	Exported time.Time `json:"exported_at"`
}

// Line is one event of an export: its place in the chain and its record,
// the exact stored bytes in base64. Type, actor and occurred_at are copies
// of the record's, for reading; the verifier checks them.
type Line struct {
	Kind       string `json:"kind"` // "event"
	Seq        int64  `json:"seq"`
	Type       string `json:"type"`
	OccurredAt string `json:"occurred_at"`
	Actor      string `json:"actor"`
	PrevHash   string `json:"prev_hash"` // hex
	Hash       string `json:"hash"`      // hex
	Record     []byte `json:"record"`    // base64 in JSON
}

// CheckpointLine is an export's last line: a signed checkpoint of the
// tree whose last leaf is the export's last event.
type CheckpointLine struct {
	Kind string `json:"kind"` // "checkpoint"
	Note string `json:"note"`
}

// NewHeader starts an export of tenant's events from fromSeq, after the
// tree the frontier holds (fromSeq-1 leaves).
func NewHeader(origin, tenant string, fromSeq int64, f Frontier, exported time.Time) Header {
	h := Header{Kind: "header", Format: Format, Tenant: tenant, Origin: origin, FromSeq: fromSeq, Frontier: []string{}, Exported: exported.UTC()}
	for _, p := range f.Peaks {
		h.Frontier = append(h.Frontier, p.String())
	}
	return h
}

// Writer writes an export: its header, its events, and a checkpoint that
// signs the tree they end and the header, in bounded memory whatever the
// number of events.
type Writer struct {
	w      *bufio.Writer
	hdr    Header
	digest string
	tree   Frontier
}

// NewWriter writes the header of an export that starts after the tree the
// frontier holds.
func NewWriter(w io.Writer, hdr Header, start Frontier) (*Writer, error) {
	x := &Writer{w: bufio.NewWriterSize(w, 64<<10), hdr: hdr, tree: start.Clone()}
	b, err := json.Marshal(hdr)
	if err != nil {
		return nil, err
	}
	x.digest = HeaderDigest(b)
	if _, err := x.w.Write(append(b, '\n')); err != nil {
		return nil, err
	}
	return x, nil
}

// Event writes the next event; events come in sequence order from the
// header's from_seq.
func (x *Writer) Event(l eventlog.Link) error {
	if l.Seq != x.tree.Size+1 {
		return fmt.Errorf("export: seq %d after %d", l.Seq, x.tree.Size)
	}
	var rec record
	if err := json.Unmarshal(l.Record, &rec); err != nil {
		return fmt.Errorf("export: seq %d: %w", l.Seq, err)
	}
	b, err := json.Marshal(Line{Kind: "event", Seq: l.Seq, Type: rec.Type, OccurredAt: rec.OccurredAt, Actor: rec.Actor,
		PrevHash: l.PrevHash.String(), Hash: l.Hash.String(), Record: l.Record})
	if err != nil {
		return err
	}
	x.tree.Append(Leaf(l.Hash))
	_, err = x.w.Write(append(b, '\n'))
	return err
}

// Close signs and writes the checkpoint of the tree the events end, and
// flushes.
func (x *Writer) Close(s note.Signer) (Checkpoint, error) {
	c := Checkpoint{Origin: x.hdr.Origin, Size: x.tree.Size, Root: x.tree.Root(), Extensions: []string{headerExtension + " " + x.digest}}
	signed, err := c.Sign(s)
	if err != nil {
		return c, err
	}
	b, err := json.Marshal(CheckpointLine{Kind: "checkpoint", Note: signed})
	if err != nil {
		return c, err
	}
	if _, err := x.w.Write(append(b, '\n')); err != nil {
		return c, err
	}
	return c, x.w.Flush()
}

// Summary is what a verified export holds.
type Summary struct {
	Tenant          string
	Origin          string
	Events          int64
	FirstSeq        int64
	LastSeq         int64
	First, Last     string // occurred_at of the first and last events
	Head            eventlog.Hash
	Root            tlog.Hash
	Pinned          bool  // the checkpoint's signature was checked against a given key
	Kept            bool  // an older checkpoint was shown consistent
	KeptCheckpoint  int64 // its size
	CheckpointCount int64
}

// LineError names the first line of an export that does not verify.
type LineError struct {
	Line   int
	Reason string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// VerifyOptions pin the signer and, optionally, an older checkpoint the
// auditor kept, which the export must extend.
type VerifyOptions struct {
	Key  note.Verifier // nil: the signature is not checked
	Kept string        // a signed checkpoint kept from before, or ""
}

// record is what the verifier reads of a record.
type record struct {
	Tenant     string          `json:"tenant"`
	Seq        int64           `json:"seq"`
	Type       string          `json:"type"`
	OccurredAt string          `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Data       json.RawMessage `json:"data"`
}

// Verify reads an export and checks, with nothing but the export and the
// verifier key: each event's hash over its exact record and the previous
// hash, the sequence (nothing removed, duplicated, reordered), that each
// record is the tenant's, that the events grow the tree from the header's
// frontier to the root of the signed checkpoint on the last line, the
// signature against the pinned key, and that the export extends the
// checkpoint the auditor kept.
func Verify(r io.Reader, opts VerifyOptions) (Summary, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		s        Summary
		hdr      Header
		hdrLine  []byte
		tree     Frontier
		prev     eventlog.Hash
		kept     *Checkpoint
		lineNo   int
		sawCheck bool
		trusted  []note.Verifier // the pinned key, and the keys it handed over to in the log
	)
	if opts.Key != nil {
		trusted = append(trusted, opts.Key)
	}
	fail := func(format string, args ...any) (Summary, error) {
		return s, &LineError{Line: lineNo, Reason: fmt.Sprintf(format, args...)}
	}
	for {
		b, err := readLine(br)
		if err == io.EOF {
			break
		}
		lineNo++
		if err != nil {
			return fail("%v", err)
		}
		if sawCheck {
			return fail("a line after the checkpoint, which must be the last")
		}
		var kind struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(b, &kind); err != nil {
			return fail("not a JSON line: %v", err)
		}
		if lineNo == 1 {
			if kind.Kind != "header" {
				return fail("the first line must be the export's header")
			}
			if hdr, tree, err = readHeader(b); err != nil {
				return fail("%v", err)
			}
			hdrLine = append([]byte(nil), b...)
			s.Tenant, s.Origin, s.FirstSeq, s.LastSeq = hdr.Tenant, hdr.Origin, hdr.FromSeq, hdr.FromSeq-1
			if opts.Kept != "" {
				// Read now, its signature checked at the end: it may be signed
				// by a key the pinned one handed over to in this export.
				c, err := OpenCheckpoint(opts.Kept)
				switch {
				case err != nil && !errors.Is(err, ErrUnpinned):
					return fail("the checkpoint you kept: %v", err)
				case c.Origin != hdr.Origin:
					return fail("the checkpoint you kept is of another log (%s), not %s", c.Origin, hdr.Origin)
				case c.Size < tree.Size:
					return fail("the export starts at seq %d, after the %d events of the checkpoint you kept: export from seq %d or earlier to check it", hdr.FromSeq, c.Size, c.Size+1)
				}
				kept = &c
			}
			if kept != nil && kept.Size == tree.Size && kept.Root != tree.Root() {
				return fail("the tree of the first %d events no longer has the root of the checkpoint you kept: history was rewritten", kept.Size)
			}
			continue
		}
		switch kind.Kind {
		case "event":
			var l Line
			if err := json.Unmarshal(b, &l); err != nil {
				return fail("an event line that does not read: %v", err)
			}
			want := tree.Size + 1
			switch {
			case l.Seq == want-1 && want-1 >= hdr.FromSeq:
				return fail("seq %d appears twice (a duplicated event)", l.Seq)
			case l.Seq < want:
				return fail("seq %d comes after seq %d (events out of order)", l.Seq, want-1)
			case l.Seq > want:
				return fail("seq %d is missing here (an event was removed or moved), found seq %d", want, l.Seq)
			}
			ph, err1 := parseHex(l.PrevHash)
			h, err2 := parseHex(l.Hash)
			if err1 != nil || err2 != nil {
				return fail("seq %d: prev_hash and hash must be 64 hex digits", l.Seq)
			}
			if eventlog.ChainHash(ph, l.Record) != h {
				return fail("seq %d: the record does not hash to its hash (the event was altered)", l.Seq)
			}
			var rec record
			if err := json.Unmarshal(l.Record, &rec); err != nil {
				return fail("seq %d: the record is not a JSON object", l.Seq)
			}
			if rec.Tenant != hdr.Tenant {
				return fail("seq %d: the event is tenant %q's, not %q's (taken from another log)", l.Seq, rec.Tenant, hdr.Tenant)
			}
			if l.Seq > hdr.FromSeq && ph != prev {
				return fail("seq %d: prev_hash does not match the hash of seq %d (the chain is broken)", l.Seq, l.Seq-1)
			}
			if l.Seq == 1 && ph != eventlog.GenesisHash {
				return fail("seq 1: prev_hash must be 32 zero bytes (the chain's start)")
			}
			switch {
			case rec.Seq != l.Seq:
				return fail("seq %d: the record says seq %d", l.Seq, rec.Seq)
			case rec.Type != l.Type || rec.Actor != l.Actor || rec.OccurredAt != l.OccurredAt:
				return fail("seq %d: the line's type, actor or occurred_at differ from its record's", l.Seq)
			}
			if canon, _ := json.Marshal(Line{Kind: "event", Seq: l.Seq, Type: rec.Type, OccurredAt: rec.OccurredAt, Actor: rec.Actor,
				PrevHash: ph.String(), Hash: h.String(), Record: l.Record}); !bytes.Equal(canon, b) {
				return fail("seq %d: the line is not as the exporter writes it (it was edited)", l.Seq)
			}
			if rec.Type == (KeyRotated{}).EventType() && len(trusted) > 0 {
				var kr KeyRotated
				json.Unmarshal(rec.Data, &kr)
				next, err := OpenRotation(kr.Statement, trusted)
				switch {
				case errors.Is(err, ErrAlreadyTrusted): // the auditor pinned the new key already
				case err != nil:
					return fail("seq %d: a key rotation the pinned key did not sign: %v", l.Seq, err)
				default:
					trusted = append(trusted, next)
				}
			}
			tree.Append(Leaf(h))
			prev = h
			if s.Events == 0 {
				s.First = rec.OccurredAt
			}
			s.Events, s.LastSeq, s.Last, s.Head = s.Events+1, l.Seq, rec.OccurredAt, h
			if kept != nil && kept.Size == tree.Size && kept.Root != tree.Root() {
				return fail("the tree of the first %d events no longer has the root of the checkpoint you kept: history was rewritten", kept.Size)
			}
		case "checkpoint":
			var cl CheckpointLine
			if err := json.Unmarshal(b, &cl); err != nil {
				return fail("a checkpoint line that does not read: %v", err)
			}
			c, err := OpenCheckpoint(cl.Note, trusted...)
			if err != nil && !errors.Is(err, ErrUnpinned) {
				return fail("the checkpoint: %v", err)
			}
			s.Pinned = err == nil
			if canon, _ := json.Marshal(CheckpointLine{Kind: "checkpoint", Note: cl.Note}); !bytes.Equal(canon, b) || !canonicalSignatures(cl.Note) {
				return fail("the checkpoint line is not as the exporter writes it (it was edited)")
			}
			switch {
			case c.Origin != hdr.Origin:
				return fail("the checkpoint is of another log (%s), not %s", c.Origin, hdr.Origin)
			case c.Extension(headerExtension) != HeaderDigest(hdrLine):
				return fail("the checkpoint does not sign this export's header (the header was edited, or the checkpoint is of another export)")
			case c.Size != tree.Size:
				return fail("the checkpoint covers %d events, the export ends at seq %d", c.Size, tree.Size)
			case c.Root != tree.Root():
				return fail("the events do not make the checkpoint's root (an event was altered, or the checkpoint is of another history)")
			}
			if kept != nil && kept.Size > tree.Size {
				return fail("the checkpoint you kept covers %d events, this export only %d: events were cut from the end (or the export stops early)", kept.Size, tree.Size)
			}
			if kept != nil && len(trusted) > 0 {
				if _, err := OpenCheckpoint(opts.Kept, trusted...); err != nil {
					return fail("the checkpoint you kept: %v", err)
				}
			}
			if kept != nil {
				s.Kept, s.KeptCheckpoint = true, kept.Size
			}
			s.Root, s.CheckpointCount = c.Root, c.Size
			sawCheck = true
		default:
			return fail("a line of unknown kind %q", kind.Kind)
		}
	}
	if lineNo == 0 {
		return s, &LineError{Line: 1, Reason: "the export is empty"}
	}
	if !sawCheck {
		lineNo++
		return fail("no signed checkpoint at the end: the export is truncated or unsigned")
	}
	return s, nil
}

func readHeader(b []byte) (Header, Frontier, error) {
	var h Header
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return h, Frontier{}, fmt.Errorf("the header does not read: %v", err)
	}
	if h.Format != Format {
		return h, Frontier{}, fmt.Errorf("the format is %q, this verifier reads %q", h.Format, Format)
	}
	if Tenant(h.Origin) != h.Tenant || h.Tenant == "" {
		return h, Frontier{}, fmt.Errorf("the origin %q does not name the tenant %q", h.Origin, h.Tenant)
	}
	f := Frontier{Size: h.FromSeq - 1}
	for _, p := range h.Frontier {
		ph, err := tlog.ParseHash(p)
		if err != nil {
			return h, Frontier{}, errors.New("the frontier holds a hash that is not base64 SHA-256")
		}
		f.Peaks = append(f.Peaks, ph)
	}
	if h.FromSeq < 1 || !f.Valid() {
		return h, Frontier{}, fmt.Errorf("the frontier does not describe a tree of %d events", h.FromSeq-1)
	}
	return h, f, nil
}

func parseHex(s string) (eventlog.Hash, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return eventlog.Hash{}, err
	}
	return eventlog.ParseHash(b)
}

// readLine reads one line, which must end with a newline and fit MaxLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxLine {
			return nil, fmt.Errorf("a line longer than %d bytes", MaxLine)
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			return nil, errors.New("the last line is cut short (no newline): the export is truncated")
		default:
			return nil, err
		}
	}
}

// headerExtension names the checkpoint line that signs an export's header.
const headerExtension = "export-header"

// HeaderDigest is the base64 SHA-256 of an export's header line (without
// its newline), which the export's checkpoint signs.
func HeaderDigest(line []byte) string {
	sum := sha256.Sum256(line)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// canonicalSignatures says whether each signature line of a note encodes
// its bytes the one way base64 does.
func canonicalSignatures(signed string) bool {
	_, sigs, ok := strings.Cut(signed, "\n\n")
	if !ok {
		return false
	}
	for _, line := range strings.Split(strings.TrimSuffix(sigs, "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return false
		}
		b, err := base64.StdEncoding.DecodeString(f[2])
		if err != nil || base64.StdEncoding.EncodeToString(b) != f[2] {
			return false
		}
	}
	return true
}
