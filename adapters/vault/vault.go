// Package vault seals secrets at rest with the installation's master key:
// AES-256-GCM, a fresh random nonce per seal, and the owning record named in
// the associated data so a sealed value cannot be moved to another record.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// formatV1 prefixes every sealed value, so the format can change later.
const formatV1 = 1

// Vault seals and opens secrets.
type Vault struct{ aead cipher.AEAD }

// ParseMasterKey decodes GATEHOUSE_MASTER_KEY: 32 bytes, base64 (standard or URL alphabet).
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("decodes to %d bytes, want 32", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("is not base64")
}

// New builds a vault over a 32-byte key.
func New(key []byte) (*Vault, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("vault: key has %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Vault{aead: aead}, nil
}

// ErrOpen is a sealed value that does not open: wrong key, wrong record, or altered.
var ErrOpen = errors.New("vault: cannot open sealed value")

func associated(parts []string) []byte { return []byte(strings.Join(parts, "\x00")) }

// Seal encrypts plaintext bound to the record named by aad.
func (v *Vault) Seal(plaintext []byte, aad ...string) ([]byte, error) {
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("vault: nonce: %w", err)
	}
	out := append([]byte{formatV1}, nonce...)
	return v.aead.Seal(out, nonce, plaintext, associated(aad)), nil
}

// Open decrypts a value sealed for the same record.
func (v *Vault) Open(sealed []byte, aad ...string) ([]byte, error) {
	n := v.aead.NonceSize()
	if len(sealed) < 1+n+v.aead.Overhead() || sealed[0] != formatV1 {
		return nil, ErrOpen
	}
	pt, err := v.aead.Open(nil, sealed[1:1+n], sealed[1+n:], associated(aad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
