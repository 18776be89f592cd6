package tenancy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/domain/tenancy"
)

func TestCreate_ValidatesIDAndName(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		id, name string
		ok       bool
	}{
		{"acme", "Acme", true},
		{"a-1", "x", true},
		{"Acme", "Acme", false},
		{"-acme", "Acme", false},
		{"acme/x", "Acme", false},
		{"acme", "   ", false},
		{"", "Acme", false},
	} {
		_, e, err := tenancy.Create(c.id, c.name, now)
		if c.ok && (err != nil || e.TenantID != c.id) {
			t.Errorf("%q/%q refused: %v", c.id, c.name, err)
		}
		if !c.ok && !errors.Is(err, tenancy.ErrInvalid) {
			t.Errorf("%q/%q accepted", c.id, c.name)
		}
	}
}

func TestSlugFromName_MakesAValidID(t *testing.T) {
	for in, want := range map[string]string{
		"Acme Corp":        "acme-corp",
		"  R&D -- Team 7 ": "r-d-team-7",
		"Ünïcode":          "n-code",
		"---":              "",
	} {
		if got := tenancy.SlugFromName(in); got != want {
			t.Errorf("SlugFromName(%q) = %q, want %q", in, got, want)
		}
	}
}
