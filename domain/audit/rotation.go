package audit

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// KeyRotated records that the installation's audit key changed, in every
// tenant's log: its statement is a signed note naming the old and the new
// verifier keys, signed by both, so that an auditor who pinned the old key
// can trust the new one from the log itself.
type KeyRotated struct {
	V         int    `json:"v"`
	OldKey    string `json:"old_key"`
	NewKey    string `json:"new_key"`
	Statement string `json:"statement"`
}

func (KeyRotated) EventType() string { return "audit.key_rotated" }
func (KeyRotated) EventVersion() int { return 1 }

// KeyStreamID is the stream of a rotation to a new key.
func KeyStreamID(newKeyHash uint32) string { return fmt.Sprintf("audit-key:%08x", newKeyHash) }

const rotationTitle = "gatehouse audit key rotation"

// SignRotation writes the statement that the key oldKey (whose signer is
// old) hands over to newKey (whose signer is new), signed by both.
func SignRotation(oldKey, newKey string, old, new note.Signer, at time.Time) (string, error) {
	body := fmt.Sprintf("%s\nold %s\nnew %s\nat %s\n", rotationTitle, oldKey, newKey, at.UTC().Format(time.RFC3339))
	b, err := note.Sign(&note.Note{Text: body}, old, new)
	return string(b), err
}

// OpenRotation checks a rotation statement: it must name and be signed by
// one of the trusted keys and by the new key it names, which it returns.
func OpenRotation(statement string, trusted []note.Verifier) (note.Verifier, error) {
	n, err := note.Open([]byte(statement), note.VerifierList())
	var un *note.UnverifiedNoteError
	if !errors.As(err, &un) {
		return nil, fmt.Errorf("not a signed note: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(un.Note.Text, "\n"), "\n")
	oldKey, okOld := strings.CutPrefix(get(lines, 1), "old ")
	newKey, okNew := strings.CutPrefix(get(lines, 2), "new ")
	if get(lines, 0) != rotationTitle || !okOld || !okNew {
		return nil, errors.New("not a key rotation statement")
	}
	oldV, err1 := note.NewVerifier(oldKey)
	newV, err2 := note.NewVerifier(newKey)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("a key of the rotation does not read: %v", err)
	}
	var old note.Verifier
	for _, t := range trusted {
		if t.Name() == newV.Name() && t.KeyHash() == newV.KeyHash() {
			return nil, ErrAlreadyTrusted
		}
		if t.Name() == oldV.Name() && t.KeyHash() == oldV.KeyHash() {
			old = t
		}
	}
	if old == nil {
		return nil, fmt.Errorf("the rotation hands over from %s+%08x, which is not a trusted key", oldV.Name(), oldV.KeyHash())
	}
	// The old key's signature is checked with the trusted key itself, not
	// with the one the statement names (which could share its name and hash).
	if n, err = note.Open([]byte(statement), note.VerifierList(old, newV)); err != nil || len(n.Sigs) != 2 {
		return nil, fmt.Errorf("the rotation is not signed by both keys: %v", err)
	}
	return newV, nil
}

// ErrAlreadyTrusted is a rotation to a key already trusted.
var ErrAlreadyTrusted = errors.New("the rotation's new key is trusted already")

func get(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}
