package access_test

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/domain/access"
)

func TestPrincipal_TenantWallAndRoles(t *testing.T) {
	platform := access.Principal{Subject: "ops", Roles: []access.Role{access.PlatformAdmin}}
	admin := access.Principal{Subject: "ann", Roles: []access.Role{access.TenantAdmin}, TenantID: "acme"}
	auditor := access.Principal{Subject: "aud", Roles: []access.Role{access.Auditor}, TenantID: "acme"}
	viewer := access.Principal{Subject: "vic", Roles: []access.Role{access.Viewer}, TenantID: "acme"}
	noRoles := access.Principal{Subject: "nobody"}
	cases := []struct {
		name string
		got  error
		want error
	}{
		{"platform creates tenants", platform.CanCreateTenants(), nil},
		{"tenant admin cannot create tenants", admin.CanCreateTenants(), access.ErrForbidden},
		{"platform manages any tenant", platform.CanManage("other"), nil},
		{"tenant admin manages its tenant", admin.CanManage("acme"), nil},
		{"tenant admin cannot see another tenant", admin.CanManage("other"), access.ErrNotVisible},
		{"tenant admin cannot read another tenant", admin.CanRead("other"), access.ErrNotVisible},
		{"auditor reads its tenant", auditor.CanRead("acme"), nil},
		{"auditor cannot manage", auditor.CanManage("acme"), access.ErrForbidden},
		{"auditor audits", auditor.CanAudit("acme"), nil},
		{"viewer reads", viewer.CanRead("acme"), nil},
		{"viewer cannot audit", viewer.CanAudit("acme"), access.ErrForbidden},
		{"viewer of acme cannot audit other", viewer.CanAudit("other"), access.ErrNotVisible},
		{"no roles sees nothing", noRoles.CanRead("acme"), access.ErrNotVisible},
	}
	for _, c := range cases {
		if !errors.Is(c.got, c.want) || (c.want == nil && c.got != nil) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseRole_AcceptsOnlyTheFourRoles(t *testing.T) {
	for _, r := range []string{"platform_admin", "tenant_admin", "auditor", "viewer"} {
		if _, err := access.ParseRole(r); err != nil {
			t.Errorf("%s refused: %v", r, err)
		}
	}
	for _, r := range []string{"", "admin", "Platform_Admin", "root"} {
		if _, err := access.ParseRole(r); err == nil {
			t.Errorf("%q accepted", r)
		}
	}
}
