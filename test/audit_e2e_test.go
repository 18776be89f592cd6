package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/gatehouse/gatehouse/domain/audit"
)

// adminGet fetches an admin path as raw bytes.
func (s *server) adminGet(path, token string) (int, []byte, http.Header) {
	s.in.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.in.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// gatehouseCmd runs the binary with the installation's environment.
func (in *installation) gatehouseCmd(args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(binary, args...)
	cmd.Env = in.env()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		in.t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestE2E_AnAuditorExportsTheSignedLogAndVerifiesItOffline(t *testing.T) {
	sc := newTenantScenario(t)
	client := sdk(sc.s, sc.key.Secret)
	for i := 0; i < 3; i++ {
		if _, err := client.Chat.Completions.New(context.Background(), chat("up/gpt-4o-mini", "hello")); err != nil {
			t.Fatal(err)
		}
	}
	auditor := sc.in.token("--role", "auditor", "--tenant", "acme")
	var h http.Header
	code, vkey, _ := sc.s.adminGet("/admin/v1/audit/verifier-key", auditor)
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if code != 200 || err != nil || !strings.HasPrefix(verifier.Name(), "gatehouse/") {
		t.Fatalf("verifier key %d %q %v", code, vkey, err)
	}
	// Checkpoints are signed as events arrive.
	var kept string
	eventually(t, 10*time.Second, func() error {
		code, b, _ := sc.s.adminGet("/admin/v1/tenants/acme/audit/checkpoint", auditor)
		if code != 200 {
			return fmt.Errorf("checkpoint %d %s", code, b)
		}
		c, err := audit.OpenCheckpoint(string(b), verifier)
		if err != nil || c.Origin != "gatehouse/"+strings.TrimPrefix(verifier.Name(), "gatehouse/")+"/acme" || c.Size < 5 {
			return fmt.Errorf("checkpoint %+v %v", c, err)
		}
		kept = string(b)
		return nil
	})
	dir := t.TempDir()
	keyFile, keptFile := filepath.Join(dir, "key"), filepath.Join(dir, "kept")
	os.WriteFile(keyFile, vkey, 0o600)
	os.WriteFile(keptFile, []byte(kept), 0o600)

	// More governance and traffic after the kept checkpoint.
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/teams", sc.admin, map[string]string{"name": "later"}, nil)
	if _, err := client.Chat.Completions.New(context.Background(), chat("up/gpt-4o-mini", "again")); err != nil {
		t.Fatal(err)
	}
	var export []byte
	eventually(t, 10*time.Second, func() error { // the request's event is written within moments
		code, b, h := sc.s.adminGet("/admin/v1/tenants/acme/audit/export?format=jsonl", auditor)
		if code != 200 || h.Get("Content-Type") != "application/x-ndjson" {
			return fmt.Errorf("export %d %s", code, b)
		}
		if !bytes.Contains(b, []byte(`"type":"team.created"`)) || bytes.Count(b, []byte(`"type":"request.completed"`)) < 4 {
			return fmt.Errorf("export lacks the latest events")
		}
		export = b
		return nil
	})
	file := filepath.Join(dir, "acme.jsonl")
	os.WriteFile(file, export, 0o600)
	out, errOut, code := sc.in.gatehouseCmd("audit", "verify", file, "--key", keyFile, "--checkpoint", keptFile)
	if code != 0 || !strings.HasPrefix(out, "OK ") || !strings.Contains(out, "tenant acme") || !strings.Contains(out, "consistent with the kept checkpoint") || errOut != "" {
		t.Fatalf("verify: %d\n%s\n%s", code, out, errOut)
	}
	// Continuing from the kept checkpoint: only the events after it, tied to it.
	keptCP, _ := audit.OpenCheckpoint(kept, verifier)
	code, tail, _ := sc.s.adminGet(fmt.Sprintf("/admin/v1/tenants/acme/audit/export?after_seq=%d", keptCP.Size), auditor)
	tailFile := filepath.Join(dir, "tail.jsonl")
	os.WriteFile(tailFile, tail, 0o600)
	if out, errOut, code = sc.in.gatehouseCmd("audit", "verify", tailFile, "--key", keyFile, "--checkpoint", keptFile); code != 0 ||
		!strings.Contains(out, fmt.Sprintf("seq %d-", keptCP.Size+1)) || !strings.Contains(out, "consistent with the kept checkpoint") {
		t.Fatalf("after the kept checkpoint: %d\n%s\n%s", code, out, errOut)
	}
	for _, q := range []string{"after_seq=100000", "after_seq=-1", "after_seq=2&from=2026-01-01"} {
		if code, b, _ := sc.s.adminGet("/admin/v1/tenants/acme/audit/export?"+q, auditor); code != 400 {
			t.Errorf("%s: %d %s", q, code, b)
		}
	}
	// Unpinned, it passes but says so loudly.
	if out, errOut, code = sc.in.gatehouseCmd("audit", "verify", file); code != 0 || !strings.Contains(errOut, "NOT PINNED") {
		t.Fatalf("unpinned: %d\n%s\n%s", code, out, errOut)
	}
	// One altered byte in a record: exit 1, naming the line.
	lines := strings.SplitAfter(string(export), "\n")
	lines[3] = strings.Replace(lines[3], `"actor":"`, `"actor":"x`, 1)
	tampered := filepath.Join(dir, "tampered.jsonl")
	os.WriteFile(tampered, []byte(strings.Join(lines, "")), 0o600)
	if out, _, code = sc.in.gatehouseCmd("audit", "verify", tampered, "--key", keyFile); code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "line 4") {
		t.Fatalf("tampered: %d %s", code, out)
	}
	// A key other than the installation's.
	_, otherKey, _ := note.GenerateKey(rand.Reader, verifier.Name())
	if out, _, code = sc.in.gatehouseCmd("audit", "verify", file, "--key", otherKey); code != 1 || !strings.Contains(out, "pinned key") {
		t.Fatalf("another key: %d %s", code, out)
	}

	// CSV: the same events, flattened, with the hash columns.
	code, csvBody, h := sc.s.adminGet("/admin/v1/tenants/acme/audit/export?format=csv", auditor)
	rows, err := csv.NewReader(bytes.NewReader(csvBody)).ReadAll()
	if code != 200 || err != nil || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || rows[0][0] != "seq" || rows[0][len(rows[0])-1] != "hash" || len(rows) < 10 {
		t.Fatalf("csv %d %v %q", code, err, csvBody)
	}

	// Who may export: auditors, platform and tenant admins; not viewers, nor other tenants.
	viewer := sc.in.token("--role", "viewer", "--tenant", "acme")
	other := sc.in.token("--role", "tenant_admin", "--tenant", "globex")
	own := sc.in.token("--role", "tenant_admin", "--tenant", "acme")
	for tok, want := range map[string]int{viewer: 403, other: 404, own: 200, sc.admin: 200} {
		if code, b, _ := sc.s.adminGet("/admin/v1/tenants/acme/audit/export", tok); code != want {
			t.Errorf("export as %s: %d %s", tok[:12], code, b)
		}
	}
	if code, _, _ := sc.s.adminGet("/admin/v1/tenants/acme/audit/export?format=xml", auditor); code != 400 {
		t.Errorf("an unknown format: %d", code)
	}
	if code, _, _ := sc.s.adminGet("/admin/v1/tenants/acme/audit/export?from=2026-12-01&to=2026-11-01", auditor); code != 400 {
		t.Errorf("from after to: %d", code)
	}

	// Each export is on the record: who, how many events.
	eventually(t, 5*time.Second, func() error {
		n := 0
		for _, e := range sc.s.feed("acme", sc.admin) {
			if e.Type == "audit.exported" {
				var p audit.AuditExported
				json.Unmarshal(e.Payload, &p)
				if p.Events < 1 || p.FirstSeq < 1 || p.Head == "" || e.Actor == "" {
					return fmt.Errorf("recorded %s %s", e.Actor, e.Payload)
				}
				n++
			}
		}
		if n < 4 {
			return fmt.Errorf("%d exports recorded", n)
		}
		return nil
	})

	// From the command line, with the database's keys; the same verifier checks it.
	cliFile := filepath.Join(dir, "cli.jsonl")
	if out, errOut, code = sc.in.gatehouseCmd("audit", "export", "--tenant", "acme", "-o", cliFile); code != 0 || !strings.Contains(out, "exported") {
		t.Fatalf("cli export: %d\n%s\n%s", code, out, errOut)
	}
	if out, _, code = sc.in.gatehouseCmd("audit", "verify", cliFile, "--key", keyFile, "--checkpoint", keptFile); code != 0 {
		t.Fatalf("cli export verify: %d %s", code, out)
	}
	if _, errOut, code = sc.in.gatehouseCmd("audit", "export", "--tenant", "nobody", "-o", filepath.Join(dir, "x")); code != 1 || !strings.Contains(errOut, "nobody") {
		t.Fatalf("an unknown tenant: %d %s", code, errOut)
	}

	// The key survives a restart: the same verifier key.
	sc.s.stop()
	s2 := sc.in.start()
	if _, again, _ := s2.adminGet("/admin/v1/audit/verifier-key", auditor); !bytes.Equal(again, vkey) {
		t.Fatalf("after a restart the verifier key is %q, was %q", again, vkey)
	}

	// A rotation: the old key signs the hand-over, in every tenant's log; the
	// running gateway takes the new key up, and an auditor who pinned the
	// old key follows the hand-over in the export.
	if out, errOut, code = sc.in.gatehouseCmd("audit", "rotate-key"); code != 0 || !strings.Contains(out, "hands over") {
		t.Fatalf("rotate-key: %d\n%s\n%s", code, out, errOut)
	}
	var newKey []byte
	eventually(t, 10*time.Second, func() error {
		_, newKey, _ = s2.adminGet("/admin/v1/audit/verifier-key", auditor)
		if bytes.Equal(newKey, vkey) {
			return fmt.Errorf("the gateway still signs with the old key")
		}
		return nil
	})
	s2.mustAdmin(201, "POST", "/admin/v1/tenants/acme/teams", sc.admin, map[string]string{"name": "after-rotation"}, nil)
	code, rotated, _ := s2.adminGet("/admin/v1/tenants/acme/audit/export", auditor)
	rotatedFile := filepath.Join(dir, "rotated.jsonl")
	os.WriteFile(rotatedFile, rotated, 0o600)
	if out, _, code = sc.in.gatehouseCmd("audit", "verify", rotatedFile, "--key", keyFile, "--checkpoint", keptFile); code != 0 || !bytes.Contains(rotated, []byte(`"type":"audit.key_rotated"`)) {
		t.Fatalf("an export after a rotation, the old key pinned: %d %s", code, out)
	}
	nv, err := note.NewVerifier(strings.TrimSpace(string(newKey)))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		_, b, _ := s2.adminGet("/admin/v1/tenants/acme/audit/checkpoint", auditor)
		_, err := audit.OpenCheckpoint(string(b), nv)
		return err
	})
}

func TestE2E_AGivenAuditSigningKeySignsTheCheckpoints(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "gatehouse/prod-eu")
	if err != nil {
		t.Fatal(err)
	}
	in := newInstallation(t)
	s := in.start("GATEHOUSE_AUDIT_SIGNING_KEY=" + skey)
	admin := in.token("--role", "platform_admin")
	s.mustAdmin(201, "POST", "/admin/v1/tenants", admin, map[string]string{"id": "acme", "name": "Acme"}, nil)
	if _, got, _ := s.adminGet("/admin/v1/audit/verifier-key", admin); strings.TrimSpace(string(got)) != vkey {
		t.Fatalf("verifier key %q, want %q", got, vkey)
	}
	v, _ := note.NewVerifier(vkey)
	eventually(t, 10*time.Second, func() error {
		code, b, _ := s.adminGet("/admin/v1/tenants/acme/audit/checkpoint", admin)
		if c, err := audit.OpenCheckpoint(string(b), v); code != 200 || err != nil || c.Origin != "gatehouse/prod-eu/acme" {
			return fmt.Errorf("%d %s %v", code, b, err)
		}
		return nil
	})
	if strings.Contains(in.logs.String(), skey) {
		t.Fatal("the signing key reached the log")
	}
	// Another key later is refused at start, with the reason.
	s.stop()
	other, _, _ := note.GenerateKey(rand.Reader, "gatehouse/prod-eu")
	cmd := exec.Command(binary, "serve")
	cmd.Env = in.env("GATEHOUSE_AUDIT_SIGNING_KEY=" + other)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not the installation's audit key") || strings.Contains(string(out), other) {
		t.Fatalf("another key: %v\n%s", err, out)
	}
}

// trailEntry is an entry of GET …/audit.
type trailEntry struct {
	Seq      int64  `json:"seq"`
	Type     string `json:"type"`
	Actor    string `json:"actor"`
	Role     string `json:"role"`
	Resource struct{ Type, ID string }
	Outcome  string          `json:"outcome"`
	Before   json.RawMessage `json:"before"`
	After    json.RawMessage `json:"after"`
	Data     json.RawMessage `json:"data"`
}

type trailPage struct {
	Entries   []trailEntry `json:"entries"`
	NextAfter int64        `json:"next_after"`
	Traffic   struct {
		Completed, Rejected int64
		Verdicts            int64 `json:"guardrail_verdicts"`
	} `json:"traffic"`
}

func TestE2E_TheAuditTrailSaysWhoChangedWhatFromWhatToWhat(t *testing.T) {
	sc := newTenantScenario(t)
	alice := sc.in.token("--role", "tenant_admin", "--tenant", "acme", "--sub", "alice")
	auditor := sc.in.token("--role", "auditor", "--tenant", "acme")
	var team struct{ ID string }
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/teams", alice, map[string]string{"name": "support"}, &team)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/teams/"+team.ID, alice, map[string]string{"name": "customer-support"}, nil)
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/guardrails", alice, map[string]any{"name": "no-secrets", "checks": []any{map[string]any{"type": "secrets"}}}, nil)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, alice, map[string]any{"guardrails": map[string]any{"input": []string{"no-secrets"}}}, nil)
	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()
	eventually(t, 5*time.Second, func() error { // a completed request, then one a guardrail blocks
		if _, err := client.Chat.Completions.New(ctx, chat("up/gpt-4o-mini", "hello")); err != nil {
			return err
		}
		if _, err := client.Chat.Completions.New(ctx, chat("up/gpt-4o-mini", "key AKIAIOSFODNN7EXAMPLE")); err == nil {
			return fmt.Errorf("not blocked yet")
		}
		return nil
	})
	sc.s.mustAdmin(200, "POST", "/admin/v1/tenants/acme/keys/"+sc.key.ID+"/revoke", alice, nil, nil)
	eventually(t, 5*time.Second, func() error {
		if _, err := client.Chat.Completions.New(ctx, chat("up/gpt-4o-mini", "hello")); err == nil {
			return fmt.Errorf("a revoked key answered")
		}
		return nil
	})

	// Refused sign-ins at the tenant's routes: one recorded a second, the rest counted.
	for i := 0; i < 3; i++ {
		sc.s.mustAdmin(401, "GET", "/admin/v1/tenants/acme/spend", "forged.token-SECRET-123", nil, nil)
	}
	time.Sleep(1100 * time.Millisecond)
	sc.s.mustAdmin(401, "GET", "/admin/v1/tenants/acme/spend", "", nil, nil)

	var page trailPage
	eventually(t, 10*time.Second, func() error {
		page = trailPage{}
		sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/audit?limit=1000", auditor, nil, &page)
		if page.Traffic.Completed < 1 || page.Traffic.Rejected < 1 {
			return fmt.Errorf("traffic %+v", page.Traffic)
		}
		return nil
	})
	byType := map[string][]trailEntry{}
	for _, e := range page.Entries {
		byType[e.Type] = append(byType[e.Type], e)
		if e.Type == "request.completed" || (e.Type == "guardrail.verdict" && e.Outcome == "pass") {
			t.Fatalf("the trail lists traffic: %+v", e)
		}
	}
	created, updated := byType["team.created"], byType["team.updated"]
	if len(created) != 1 || string(created[0].Before) != "null" || !strings.Contains(string(created[0].After), `"name":"support"`) ||
		created[0].Actor != "alice" || created[0].Role != "tenant_admin" || created[0].Resource.Type != "team" || created[0].Outcome != "succeeded" {
		t.Fatalf("team.created %+v", created)
	}
	if len(updated) != 1 || !strings.Contains(string(updated[0].Before), `"name":"support"`) || !strings.Contains(string(updated[0].After), `"name":"customer-support"`) {
		t.Fatalf("team.updated %s → %s", updated[0].Before, updated[0].After)
	}
	if r := byType["key.revoked"]; len(r) != 1 || r[0].Actor != "alice" || r[0].Resource.ID != sc.key.ID || string(r[0].Before) == "null" {
		t.Fatalf("key.revoked %+v", r)
	}
	if r := byType["request.rejected"]; len(r) < 1 || r[0].Outcome != "refused" || r[0].Before != nil {
		t.Fatalf("request.rejected %+v", r)
	}
	if v := byType["guardrail.verdict"]; len(v) != 1 || v[0].Outcome != "block" {
		t.Fatalf("guardrail.verdict %+v", v)
	}

	if f := byType["admin.signin_failed"]; len(f) != 2 || f[0].Outcome != "failed" || f[0].Actor != "anonymous" ||
		!strings.Contains(string(f[1].Data), `"suppressed":2`) || strings.Contains(string(f[0].Data), "SECRET") {
		t.Fatalf("refused sign-ins %+v", f)
	}

	// Filters and pages.
	var keys trailPage
	sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/audit?type=key", auditor, nil, &keys)
	for _, e := range keys.Entries {
		if !strings.HasPrefix(e.Type, "key.") {
			t.Fatalf("type=key listed %s", e.Type)
		}
	}
	if len(keys.Entries) < 3 { // granted, updated, revoked
		t.Fatalf("type=key: %+v", keys.Entries)
	}
	var mine trailPage
	sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/audit?actor=alice", auditor, nil, &mine)
	if len(mine.Entries) != 5 {
		t.Fatalf("alice's: %+v", mine.Entries)
	}
	var first, second trailPage
	sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/audit?limit=2", auditor, nil, &first)
	sc.s.mustAdmin(200, "GET", fmt.Sprintf("/admin/v1/tenants/acme/audit?limit=2&after=%d", first.NextAfter), auditor, nil, &second)
	if len(first.Entries) != 2 || len(second.Entries) != 2 || second.Entries[0].Seq <= first.Entries[1].Seq {
		t.Fatalf("pages %+v then %+v", first.Entries, second.Entries)
	}
	sc.s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/audit?limit=0x", auditor, nil, nil)
	sc.s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/audit?from=2027-01-01&to=2026-01-01", auditor, nil, nil)
	sc.s.mustAdmin(403, "GET", "/admin/v1/tenants/acme/audit", sc.in.token("--role", "viewer", "--tenant", "acme"), nil, nil)
}

type accessSnapshot struct {
	LastSeq int64 `json:"last_seq"`
	Keys    []struct {
		ID      string
		Name    string
		Models  []string
		Team    *struct{ ID, Name string }
		Budgets []struct {
			Scope    string
			LimitUSD float64 `json:"limit_usd"`
		}
		Granted struct {
			Seq   int64
			Actor string
		}
		Changes []struct{ Type string }
		Revoked *struct {
			Seq   int64
			Actor string
		}
	} `json:"keys"`
}

func TestE2E_WhoCouldCallWhichModelAtAnyPastInstant(t *testing.T) {
	sc := newTenantScenario(t)
	alice := sc.in.token("--role", "tenant_admin", "--tenant", "acme", "--sub", "alice")
	auditor := sc.in.token("--role", "auditor", "--tenant", "acme")
	var team struct{ ID string }
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/teams", alice, map[string]string{"name": "research"}, &team)
	var k2 keyOut
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/keys", alice, map[string]any{"name": "lab", "team_id": team.ID, "models": []string{"up/gpt-4o-mini"}}, &k2)
	sc.s.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/budgets/key/"+k2.ID, alice, map[string]any{"limit_usd": 25, "period": "month"}, nil)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+k2.ID, alice, map[string]any{"name": "lab-2"}, nil)
	time.Sleep(20 * time.Millisecond)
	t1 := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	sc.s.mustAdmin(200, "POST", "/admin/v1/tenants/acme/keys/"+k2.ID+"/revoke", sc.admin, nil, nil)
	var k3 keyOut
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/keys", alice, map[string]string{"name": "later"}, &k3)

	at := func(when string) accessSnapshot {
		var snap accessSnapshot
		sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/audit/access"+when, auditor, nil, &snap)
		return snap
	}
	ids := func(s accessSnapshot) map[string]int {
		out := map[string]int{}
		for i, k := range s.Keys {
			out[k.ID] = i
		}
		return out
	}
	then := at("?at=" + t1.Format(time.RFC3339Nano))
	got := ids(then)
	i, ok := got[k2.ID]
	if _, later := got[k3.ID]; !ok || later || len(then.Keys) != 2 {
		t.Fatalf("at t1: %+v", then.Keys)
	}
	k := then.Keys[i]
	if k.Name != "lab-2" || len(k.Models) != 1 || k.Models[0] != "up/gpt-4o-mini" || k.Team == nil || k.Team.Name != "research" ||
		len(k.Budgets) != 1 || k.Budgets[0].LimitUSD != 25 || k.Granted.Actor != "alice" || len(k.Changes) != 1 || k.Revoked == nil || k.Revoked.Seq <= then.LastSeq {
		t.Fatalf("the lab key at t1: %+v", k)
	}
	now := ids(at(""))
	if _, ok := now[k2.ID]; ok {
		t.Fatal("a revoked key is still listed now")
	}
	if _, ok := now[k3.ID]; !ok {
		t.Fatal("the latest key is missing now")
	}
	if before := at("?at=2001-01-01"); len(before.Keys) != 0 || before.LastSeq != 0 {
		t.Fatalf("before the tenant: %+v", before)
	}
	sc.s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/audit/access?at=yesterday", auditor, nil, nil)
}
