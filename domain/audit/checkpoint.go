package audit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint says that a tenant's tree had Size leaves and Root for root
// (the body of a C2SP tlog-checkpoint): signed, it is the installation's
// commitment to that history.
type Checkpoint struct {
	Origin string // gatehouse/<installation>/<tenant>
	Size   int64
	Root   tlog.Hash
	// Extensions are lines after the root, "<name> <value>": an export's
	// checkpoint signs the export's header with one.
	Extensions []string
}

// Extension is the value of the extension line of a name, or "".
func (c Checkpoint) Extension(name string) string {
	for _, e := range c.Extensions {
		if n, v, ok := strings.Cut(e, " "); ok && n == name {
			return v
		}
	}
	return ""
}

// Origin names a tenant's log.
func Origin(installation, tenant string) string { return "gatehouse/" + installation + "/" + tenant }

// Tenant is the tenant an origin names, or "" when it names none.
func Tenant(origin string) string {
	parts := strings.Split(origin, "/")
	if len(parts) != 3 || parts[0] != "gatehouse" || parts[1] == "" || parts[2] == "" {
		return ""
	}
	return parts[2]
}

// Body is the checkpoint's text: origin, size and base64 root, one a line.
func (c Checkpoint) Body() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%d\n%s\n", c.Origin, c.Size, c.Root)
	for _, e := range c.Extensions {
		b.WriteString(e + "\n")
	}
	return b.String()
}

// Sign makes the checkpoint a signed note.
func (c Checkpoint) Sign(s note.Signer) (string, error) {
	b, err := note.Sign(&note.Note{Text: c.Body()}, s)
	return string(b), err
}

// ErrUnpinned is a note whose signature was not checked: no key was given.
var ErrUnpinned = errors.New("the signer was not pinned")

// OpenCheckpoint reads a signed checkpoint. With keys, its signature must
// verify with one of them; with none, it is read unverified and
// ErrUnpinned comes with it.
func OpenCheckpoint(signed string, keys ...note.Verifier) (Checkpoint, error) {
	var text string
	if len(keys) > 0 {
		n, err := note.Open([]byte(signed), note.VerifierList(keys...))
		if err != nil {
			return Checkpoint{}, fmt.Errorf("the signature does not verify with the pinned key %s: %v", keys[0].Name(), err)
		}
		text = n.Text
	} else {
		_, err := note.Open([]byte(signed), note.VerifierList())
		var un *note.UnverifiedNoteError
		if !errors.As(err, &un) {
			return Checkpoint{}, fmt.Errorf("not a signed note: %v", err)
		}
		text = un.Note.Text
	}
	c, err := ParseCheckpoint(text)
	if err != nil {
		return c, err
	}
	if len(keys) > 0 && !strings.HasPrefix(c.Origin, keys[0].Name()+"/") {
		return c, fmt.Errorf("the checkpoint's origin %s is not a log of %s, whose key is pinned", c.Origin, keys[0].Name())
	}
	if len(keys) == 0 {
		return c, ErrUnpinned
	}
	return c, nil
}

// ParseCheckpoint reads a checkpoint's body.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitAfter(text, "\n")
	lines = lines[:len(lines)-1] // after the last newline
	if len(lines) < 3 || !strings.HasSuffix(text, "\n") {
		return Checkpoint{}, errors.New("a checkpoint has an origin, a size and a root, one a line")
	}
	var c Checkpoint
	c.Origin = strings.TrimSuffix(lines[0], "\n")
	size, err := strconv.ParseInt(strings.TrimSuffix(lines[1], "\n"), 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != strings.TrimSuffix(lines[1], "\n") {
		return Checkpoint{}, errors.New("the checkpoint's size is not a number")
	}
	c.Size = size
	if c.Root, err = tlog.ParseHash(strings.TrimSuffix(lines[2], "\n")); err != nil {
		return Checkpoint{}, errors.New("the checkpoint's root is not a base64 SHA-256 hash")
	}
	for _, e := range lines[3:] {
		if e = strings.TrimSuffix(e, "\n"); e == "" || !strings.Contains(e, " ") {
			return Checkpoint{}, errors.New("a checkpoint's extension line is \"<name> <value>\"")
		}
		c.Extensions = append(c.Extensions, e)
	}
	if Tenant(c.Origin) == "" {
		return Checkpoint{}, fmt.Errorf("the checkpoint's origin %q is not gatehouse/<installation>/<tenant>", c.Origin)
	}
	return c, nil
}
