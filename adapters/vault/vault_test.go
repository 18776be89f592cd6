package vault_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/adapters/vault"
)

func newVault(t *testing.T) *vault.Vault {
	k := make([]byte, 32)
	rand.Read(k)
	v, err := vault.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVault_OpensWhatItSealedForTheSameRecordOnly(t *testing.T) {
	v := newVault(t)
	secret := []byte("sk-upstream-123")
	a, err := v.Seal(secret, "acme", "p1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := v.Seal(secret, "acme", "p1")
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are identical: nonce reused")
	}
	if bytes.Contains(a, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := v.Open(a, "acme", "p1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q, %v", got, err)
	}
	if _, err := v.Open(a, "other", "p1"); !errors.Is(err, vault.ErrOpen) {
		t.Fatalf("opened for another tenant: %v", err)
	}
	a[len(a)-1] ^= 1
	if _, err := v.Open(a, "acme", "p1"); !errors.Is(err, vault.ErrOpen) {
		t.Fatalf("opened an altered value: %v", err)
	}
	if _, err := newVault(t).Open(b, "acme", "p1"); !errors.Is(err, vault.ErrOpen) {
		t.Fatalf("opened with another key: %v", err)
	}
}

func TestParseMasterKey_RequiresThirtyTwoBase64Bytes(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", true},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", true},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", false}, // 31 bytes
		{"not base64!", false},
		{"", false},
	} {
		_, err := vault.ParseMasterKey(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
