package test

import (
	"context"
	"crypto/sha256"
	binenc "encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/option"
)

type storedPayload struct {
	Request           string    `json:"request"`
	Response          string    `json:"response"`
	RequestTruncated  bool      `json:"request_truncated"`
	ResponseTruncated bool      `json:"response_truncated"`
	StoredAt          time.Time `json:"stored_at"`
	ExpiresAt         time.Time `json:"expires_at"`
	Digest            string    `json:"digest"`
}

// digestOf recomputes a payload's digest as docs describe it.
func digestOf(request, response string) string {
	h := sha256.New()
	h.Write([]byte("gatehouse.payload.v1\n"))
	for _, b := range []string{request, response} {
		var n [8]byte
		binenc.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write([]byte(b))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestE2E_PayloadLoggingIsOptInRedactedCappedAndShownToAuditorsOnly(t *testing.T) {
	sc := newTenantScenario(t)
	alice := sc.in.token("--role", "tenant_admin", "--tenant", "acme")
	viewer := sc.in.token("--role", "viewer", "--tenant", "acme")
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/guardrails", alice, map[string]any{"name": "no-pii", "checks": []any{map[string]any{"type": "pii"}}, "action": "redact"}, nil)
	var k struct {
		LogPayloads bool `json:"log_payloads"`
	}
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, alice, map[string]any{"log_payloads": true, "guardrails": map[string]any{"input": []string{"no-pii"}}}, &k)
	if !k.LogPayloads {
		t.Fatal("the key does not say it logs payloads")
	}
	var tenant struct {
		Days int `json:"payload_retention_days"`
	}
	sc.s.mustAdmin(400, "PATCH", "/admin/v1/tenants/acme", alice, map[string]any{"payload_retention_days": 0}, nil)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme", alice, map[string]any{"payload_retention_days": 7}, &tenant)
	if tenant.Days != 7 {
		t.Fatalf("retention %d", tenant.Days)
	}
	sc.s.mustAdmin(403, "PATCH", "/admin/v1/tenants/acme", viewer, map[string]any{"payload_retention_days": 3}, nil)

	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()
	ask := func(c interface {
		Post(context.Context, string, any, any, ...option.RequestOption) error
	}, prompt string, stream bool) string {
		var resp *http.Response
		body := map[string]any{"model": "up/gpt-4o-mini", "stream": stream, "messages": []any{map[string]string{"role": "user", "content": prompt}}}
		var out []byte
		if err := c.Post(ctx, "chat/completions", body, &out, option.WithResponseInto(&resp)); err != nil {
			t.Fatal(err)
		}
		return resp.Header.Get("x-gatehouse-request-id")
	}
	detail := func(id, token string) (payload *storedPayload) {
		var got struct {
			Payload *storedPayload `json:"payload"`
		}
		eventually(t, 10*time.Second, func() error {
			if code := sc.s.adminDo("GET", "/admin/v1/tenants/acme/requests/"+id, token, nil, &got); code != 200 {
				return fmt.Errorf("GET request %s: %d", id, code)
			}
			return nil
		})
		return got.Payload
	}
	id := ask(&client, "mail jane.doe@example.com please", false)
	p := detail(id, alice)
	if p == nil || !strings.Contains(p.Request, "[REDACTED:EMAIL]") || strings.Contains(p.Request, "jane.doe") ||
		!strings.Contains(p.Response, "hi from upstream") || p.RequestTruncated || p.ResponseTruncated {
		t.Fatalf("the stored bodies: %+v", p)
	}
	if p.Digest != digestOf(p.Request, p.Response) || p.ExpiresAt.Sub(p.StoredAt) != 7*24*time.Hour {
		t.Fatalf("digest %s (recomputed %s), kept %v", p.Digest, digestOf(p.Request, p.Response), p.ExpiresAt.Sub(p.StoredAt))
	}
	if v := detail(id, viewer); v != nil {
		t.Fatal("a viewer was shown the bodies")
	}
	// A new retention applies to what is stored already.
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme", alice, map[string]any{"payload_retention_days": 2}, nil)
	if p2 := detail(id, alice); p2 == nil || p2.ExpiresAt.Sub(p2.StoredAt) != 2*24*time.Hour {
		t.Fatalf("after the retention changed: %+v", p2)
	}
	// The event holds the digest, never the bodies.
	for _, e := range sc.s.feed("acme", sc.admin) {
		if strings.Contains(string(e.Payload), "hi from upstream") || strings.Contains(string(e.Payload), "REDACTED") {
			t.Fatalf("%s holds a body: %s", e.Type, e.Payload)
		}
		if e.Type == "request.completed" && strings.Contains(string(e.Payload), id) && !strings.Contains(string(e.Payload), `"payload_digest":"`+p.Digest+`"`) {
			t.Fatalf("the event does not carry the digest: %s", e.Payload)
		}
	}
	// A stream's answer is stored as its chunks; a long prompt is cut and marked.
	sp := detail(ask(&client, "hello", true), alice)
	if sp == nil || !strings.Contains(sp.Response, `"chat.completion.chunk"`) {
		t.Fatalf("a streamed answer: %+v", sp)
	}
	long := detail(ask(&client, strings.Repeat("word ", 20000), false), alice)
	if long == nil || !long.RequestTruncated || len(long.Request) != 64<<10 {
		t.Fatalf("a long prompt: truncated %v, %d bytes", long != nil && long.RequestTruncated, len(long.Request))
	}

	// Off by default: another key's bodies are not stored; a team can switch it on for its keys.
	var other keyOut
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/keys", alice, map[string]string{"name": "quiet"}, &other)
	quiet := sdk(sc.s, other.Secret)
	if p := detail(ask(&quiet, "hello", false), alice); p != nil {
		t.Fatalf("a key that does not log stored %+v", p)
	}
	var team struct {
		ID          string
		LogPayloads bool `json:"log_payloads"`
	}
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/teams", alice, map[string]string{"name": "support"}, &team)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/teams/"+team.ID, alice, map[string]any{"log_payloads": true}, &team)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+other.ID, alice, map[string]any{"team_id": team.ID}, nil)
	if !team.LogPayloads {
		t.Fatal("the team does not say it logs payloads")
	}
	eventually(t, 5*time.Second, func() error {
		if p := detail(ask(&quiet, "hello team", false), alice); p == nil || !strings.Contains(p.Request, "hello team") {
			return fmt.Errorf("the team's key stored %+v", p)
		}
		return nil
	})
}
