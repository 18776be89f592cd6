package test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hookReceiver is a tenant's webhook endpoint: it checks each delivery's
// signature and keeps what it was sent, or fails on demand.
type hookReceiver struct {
	*httptest.Server
	secret  string
	failing atomic.Bool
	mu      sync.Mutex
	got     []hookDelivery
	bad     int // deliveries with a wrong signature
}

type hookDelivery struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Seq  int64  `json:"seq"`
	Data json.RawMessage
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	h := &hookReceiver{secret: secret}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if h.failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var d hookDelivery
		json.Unmarshal(body, &d)
		h.mu.Lock()
		defer h.mu.Unlock()
		if !h.verify(r.Header.Get("X-Gatehouse-Signature"), body) || r.Header.Get("X-Gatehouse-Delivery") != d.ID {
			h.bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		h.got = append(h.got, d)
	}))
	t.Cleanup(h.Close)
	return h
}

// verify checks "t=<unix>,v1=<hex HMAC-SHA256(secret, t.body)>".
func (h *hookReceiver) verify(header string, body []byte) bool {
	ts, sig, ok := strings.Cut(header, ",v1=")
	t, ok2 := strings.CutPrefix(ts, "t=")
	if !ok || !ok2 {
		return false
	}
	if n, err := strconv.ParseInt(t, 10, 64); err != nil || time.Since(time.Unix(n, 0)).Abs() > 5*time.Minute {
		return false
	}
	m := hmac.New(sha256.New, []byte(h.secret))
	m.Write([]byte(t + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(sig), []byte(want))
}

func (h *hookReceiver) deliveries() []hookDelivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookDelivery(nil), h.got...)
}

func TestE2E_WebhooksGetAlertsSignedInOrderAcrossFailuresAndARestart(t *testing.T) {
	sc := newTenantScenario(t)
	const secret = "whsec-0123456789abcdef"
	rcv := newHookReceiver(t, secret)
	alice := sc.in.token("--role", "tenant_admin", "--tenant", "acme")
	for _, bad := range []map[string]any{
		{"url": rcv.URL, "events": []string{"request.completed"}, "secret": secret},
		{"url": rcv.URL, "events": []string{"no.such.event"}, "secret": secret},
		{"url": "ftp://x", "events": []string{"key.revoked"}, "secret": secret},
		{"url": rcv.URL, "events": []string{"key.revoked"}, "secret": "short"},
	} {
		sc.s.mustAdmin(400, "POST", "/admin/v1/tenants/acme/webhooks", alice, bad, nil)
	}
	var hook struct{ ID, URL string }
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/webhooks", alice, map[string]any{"url": rcv.URL + "/hooks/T0KEN-in-the-path?sig=abc", "events": []string{"budget", "key.revoked"}, "secret": secret}, &hook)
	if hook.URL != rcv.URL+"/…" {
		t.Fatalf("the webhook's URL is shown as %q", hook.URL)
	}
	sc.s.mustAdmin(403, "POST", "/admin/v1/tenants/acme/webhooks", sc.in.token("--role", "viewer", "--tenant", "acme"),
		map[string]any{"url": rcv.URL, "events": []string{"key.revoked"}, "secret": secret}, nil)

	// A budget alert, signed.
	sc.s.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/budgets/tenant/acme", alice, map[string]any{"limit_usd": 0.00001, "period": "month", "hard": false, "alert_at": []float64{0.5}}, nil)
	client := sdk(sc.s, sc.key.Secret)
	if _, err := client.Chat.Completions.New(context.Background(), chat("up/gpt-4o-mini", "hello")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() error {
		for _, d := range rcv.deliveries() {
			if d.Type == "budget.alerted" {
				return nil
			}
		}
		return fmt.Errorf("no budget alert among %+v", rcv.deliveries())
	})

	// The endpoint fails: revocations queue, retried with backoff, across a restart.
	rcv.failing.Store(true)
	s := sc.s
	grant := func() string {
		var k keyOut
		s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/keys", alice, map[string]string{"name": "temp"}, &k)
		return k.ID
	}
	var revoked []string
	for i := 0; i < 2; i++ {
		id := grant()
		s.mustAdmin(200, "POST", "/admin/v1/tenants/acme/keys/"+id+"/revoke", alice, nil, nil)
		revoked = append(revoked, id)
	}
	type deliveryRow struct {
		Seq       int64
		EventType string `json:"event_type"`
		Status    string
		Attempts  int
		LastError string `json:"last_error"`
	}
	var log struct{ Deliveries []deliveryRow }
	eventually(t, 10*time.Second, func() error {
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/webhooks/"+hook.ID+"/deliveries", alice, nil, &log)
		for _, d := range log.Deliveries {
			if d.EventType == "key.revoked" && d.Attempts >= 1 && d.Status == "pending" && d.LastError != "" {
				return nil
			}
		}
		return fmt.Errorf("no failed attempt yet: %+v", log.Deliveries)
	})
	s.stop()
	s = sc.in.start()
	rcv.failing.Store(false)
	id := grant()
	s.mustAdmin(200, "POST", "/admin/v1/tenants/acme/keys/"+id+"/revoke", alice, nil, nil)
	revoked = append(revoked, id)
	eventually(t, 30*time.Second, func() error {
		var keys []string
		var seqs []int64
		for _, d := range rcv.deliveries() {
			if d.Type == "key.revoked" {
				var data struct {
					KeyID string `json:"key_id"`
				}
				json.Unmarshal(d.Data, &data)
				keys, seqs = append(keys, data.KeyID), append(seqs, d.Seq)
			}
		}
		if len(keys) < 3 {
			return fmt.Errorf("revocations delivered: %v", keys)
		}
		for i := range revoked { // each once, in the order they happened
			if keys[i] != revoked[i] || (i > 0 && seqs[i] <= seqs[i-1]) {
				return fmt.Errorf("delivered %v (seqs %v), revoked %v", keys, seqs, revoked)
			}
		}
		return nil
	})
	s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/webhooks/"+hook.ID+"/deliveries", alice, nil, &log)
	for _, d := range log.Deliveries {
		if d.Status != "delivered" {
			t.Fatalf("a delivery is still %s: %+v", d.Status, d)
		}
	}
	if rcv.bad != 0 {
		t.Fatalf("%d deliveries were not signed right", rcv.bad)
	}
	var list struct{ Webhooks []struct{ ID, URL string } }
	s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/webhooks", sc.in.token("--role", "viewer", "--tenant", "acme"), nil, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].ID != hook.ID {
		t.Fatalf("webhooks %+v", list)
	}
	if strings.Contains(sc.in.logs.String(), secret) {
		t.Fatal("the webhook's secret reached the log")
	}
	for _, e := range s.feed("acme", sc.admin) {
		if strings.Contains(string(e.Payload), secret) || strings.Contains(string(e.Payload), "T0KEN") {
			t.Fatalf("%s holds the secret or the URL's token: %s", e.Type, e.Payload)
		}
	}
}
