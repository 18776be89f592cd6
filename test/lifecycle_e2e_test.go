package test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/adapters/postgres"
	"github.com/gatehouse/gatehouse/domain/eventlog"
)

func TestE2E_GracefulShutdownRecordsEveryAnsweredRequest(t *testing.T) {
	sc := newTenantScenario(t)
	in, s, k := sc.in, sc.s, sc.key
	client := sdk(s, k.Secret)

	var answered atomic.Int64
	var wg sync.WaitGroup
	stopAt := make(chan struct{})
	for w := 0; w < 24; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				var err error
				if (w+i)%2 == 0 {
					_, err = client.Chat.Completions.New(ctx, chat("up/m", "slow"))
				} else {
					st := client.Chat.Completions.NewStreaming(ctx, chat("up/m", "slow"))
					for st.Next() {
					}
					err = st.Err()
				}
				cancel()
				if err != nil {
					return // the server has stopped taking requests
				}
				answered.Add(1)
				if w == 0 && i == 20 {
					close(stopAt)
				}
			}
		}(w)
	}
	<-stopAt
	s.stop() // SIGTERM while two dozen requests are in flight
	wg.Wait()
	if answered.Load() < 20 {
		t.Fatalf("only %d requests answered before the stop", answered.Load())
	}
	var recorded int64
	if err := in.pool().QueryRow(context.Background(),
		`SELECT count(*) FROM events WHERE tenant_id = 'acme' AND type = 'request.completed'`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != answered.Load() {
		t.Fatalf("%d requests answered, %d recorded: a graceful stop must write every one", answered.Load(), recorded)
	}
}

func TestE2E_EverythingSurvivesARestartAndTheChainVerifies(t *testing.T) {
	sc := newTenantScenario(t)
	in, s, admin, k := sc.in, sc.s, sc.admin, sc.key
	for i := 0; i < 3; i++ {
		c := sdk(s, k.Secret)
		if _, err := c.Chat.Completions.New(context.Background(), chat("up/m", "hello")); err != nil {
			t.Fatal(err)
		}
	}
	s.stop()

	s = in.start()
	c := sdk(s, k.Secret)
	if _, err := c.Chat.Completions.New(context.Background(), chat("up/m", "hello")); err != nil {
		t.Fatalf("key or provider lost across a restart: %v", err)
	}
	var keys struct {
		Keys []keyOut `json:"keys"`
	}
	s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/keys", admin, nil, &keys)
	if len(keys.Keys) != 1 || keys.Keys[0].ID != k.ID || keys.Keys[0].Status != "active" || keys.Keys[0].Secret != "" {
		t.Fatalf("keys after restart: %+v", keys.Keys)
	}
	eventually(t, 10*time.Second, func() error {
		var spend struct {
			Total struct{ Requests int64 } `json:"total"`
		}
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/spend", admin, nil, &spend)
		if spend.Total.Requests != 4 {
			return fmt.Errorf("spend requests %d, want 4", spend.Total.Requests)
		}
		return nil
	})
	verifyFeed(t, s, admin, "acme", 8)
	s.stop()

	store := postgres.NewEventStore(in.pool(), eventcodec.Gatehouse())
	n, err := store.VerifyTenant(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1+1+1+4+1 { // tenant, provider, key, four requests, price.missing for up/m
		t.Fatalf("chain of %d events", n)
	}
}

func TestE2E_ReplayRebuildsSpendAndTheRequestLogToTheSameResult(t *testing.T) {
	sc := newTenantScenario(t)
	in, s, admin, k := sc.in, sc.s, sc.admin, sc.key
	c := sdk(s, k.Secret)
	for i, m := range []string{"up/gpt-4o-mini", "up/m", "nope/x", "up/gpt-4o-mini"} {
		c.Chat.Completions.New(context.Background(), chat(m, fmt.Sprint("hello ", i)))
	}
	s.mustAdmin(200, "POST", "/admin/v1/tenants/acme/keys/"+k.ID+"/revoke", admin, nil, nil)
	c.Chat.Completions.New(context.Background(), chat("up/m", "refused"))
	eventually(t, 10*time.Second, func() error {
		var page struct {
			Requests []struct{} `json:"requests"`
		}
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests", admin, nil, &page)
		if len(page.Requests) != 5 {
			return fmt.Errorf("request log has %d rows", len(page.Requests))
		}
		var spend struct {
			Total struct{ Requests int64 } `json:"total"`
		}
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/spend", admin, nil, &spend)
		if spend.Total.Requests != 3 { // both projections caught up before the snapshot
			return fmt.Errorf("spend counts %d requests", spend.Total.Requests)
		}
		return nil
	})
	s.stop()
	pool := in.pool()
	snapshot := func() string {
		var out string
		err := pool.QueryRow(context.Background(), `SELECT
			coalesce((SELECT string_agg(t::text, E'\n' ORDER BY t::text) FROM spend_hourly t), '') || E'\n--\n' ||
			coalesce((SELECT string_agg(t::text, E'\n' ORDER BY t::text) FROM request_log t), '')`).Scan(&out)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := snapshot()
	// Damage both projections; the log is the truth they are rebuilt from.
	if _, err := pool.Exec(context.Background(), `UPDATE spend_hourly SET requests = 999; DELETE FROM request_log WHERE status = 200`); err != nil {
		t.Fatal(err)
	}
	if out, err := runBinary(in, "replay"); err != nil {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	if after := snapshot(); after != before {
		t.Fatalf("replay did not rebuild the same projections:\nbefore\n%s\nafter\n%s", before, after)
	}
	if out, err := runBinary(in, "replay", "--projection", "nope.v1"); err == nil || !strings.Contains(out, "spend.v2") {
		t.Fatalf("an unknown projection: %v %s", err, out)
	}
}

func TestE2E_RevocationReachesAnotherReplicaWithinASecond(t *testing.T) {
	in := newInstallation(t)
	up := newFakeOpenAI(t)
	a := in.start()
	b := in.start()
	admin := in.token("--role", "platform_admin")
	k := a.setupTenant(admin, "acme", "up", up.URL+"/v1", upstreamKey)
	onB := sdk(b, k.Secret)
	eventually(t, 5*time.Second, func() error {
		_, err := onB.Chat.Completions.New(context.Background(), chat("up/m", "hello"))
		return err
	})
	a.mustAdmin(200, "POST", "/admin/v1/tenants/acme/keys/"+k.ID+"/revoke", admin, nil, nil)
	revokedAt := time.Now()
	for {
		_, err := onB.Chat.Completions.New(context.Background(), chat("up/m", "hello"))
		var apiErr *openai.Error
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized {
			break
		}
		if time.Since(revokedAt) > time.Second {
			t.Fatalf("replica b still accepts the key %s after the revocation on replica a", time.Since(revokedAt))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestE2E_SecretsNeverAppearInLogsEventsOrAnswers(t *testing.T) {
	sc := newTenantScenario(t)
	in, up, s, admin, k := sc.in, sc.up, sc.s, sc.admin, sc.key
	// A second provider with a wrong key: the upstream quotes it back in its error.
	s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/providers", admin,
		map[string]string{"name": "bad", "kind": "openai", "base_url": up.URL + "/v1", "api_key": "sk-wrong-key-9876543210"}, nil)
	ctx := context.Background()
	client := sdk(s, k.Secret)
	client.Chat.Completions.New(ctx, chat("up/m", "hello"))
	st := client.Chat.Completions.NewStreaming(ctx, chat("up/m", "hello"))
	for st.Next() {
	}
	_, err := client.Chat.Completions.New(ctx, chat("bad/m", "hello"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("wrong upstream key: %v", err)
	}
	if strings.Contains(apiErr.Message, "sk-wrong") || strings.Contains(apiErr.Message, "sk-upstr") {
		t.Fatalf("the upstream's error quoted a credential to the client: %s", apiErr.Message)
	}

	var answers []string
	for _, path := range []string{"/admin/v1/tenants/acme/providers", "/admin/v1/tenants/acme/keys", "/admin/v1/tenants/acme/keys/" + k.ID, "/admin/v1/tenants/acme/events?limit=1000"} {
		var raw any
		s.mustAdmin(200, "GET", path, admin, nil, &raw)
		answers = append(answers, fmt.Sprint(raw))
	}
	s.stop()
	var records strings.Builder
	rows, err := in.pool().Query(ctx, `SELECT convert_from(record, 'UTF8') FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r string
		rows.Scan(&r)
		records.WriteString(r)
	}
	var sealed []byte
	in.pool().QueryRow(ctx, `SELECT string_agg(sealed, '') FROM provider_credentials`).Scan(&sealed)

	places := map[string]string{"server log": in.logs.String(), "event records": records.String(), "admin answers": strings.Join(answers, "\n"), "sealed credentials": string(sealed)}
	secrets := map[string]string{"upstream key": upstreamKey, "wrong upstream key": "sk-wrong-key-9876543210", "virtual key": k.Secret, "virtual key body": strings.TrimPrefix(k.Secret, "sk-gh-"), "master key": in.masterKey, "admin secret": in.jwtSecret}
	for where, text := range places {
		if len(text) == 0 {
			t.Fatalf("%s is empty: the check would prove nothing", where)
		}
		for what, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}
}

func TestE2E_AStreamOutlivingTheShutdownDeadlineIsCutAndStillRecorded(t *testing.T) {
	in := newInstallation(t)
	up := newFakeOpenAI(t)
	s := in.start("GATEHOUSE_SHUTDOWN_TIMEOUT=1s")
	admin := in.token("--role", "platform_admin")
	k := s.setupTenant(admin, "acme", "up", up.URL+"/v1", upstreamKey)
	client := sdk(s, k.Secret)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := client.Chat.Completions.New(ctx, chat("up/m", "hello")); err != nil {
			t.Fatal(err)
		}
	}
	st := client.Chat.Completions.NewStreaming(ctx, chat("up/m", "hold")) // the upstream never finishes it
	if !st.Next() {
		t.Fatalf("no first chunk: %v", st.Err())
	}
	begin := time.Now()
	s.stop()
	if took := time.Since(begin); took > 10*time.Second {
		t.Fatalf("stop took %s with a 1s shutdown deadline", took)
	}
	for st.Next() {
	}
	if st.Err() == nil {
		t.Fatal("the cut stream ended cleanly for the client")
	}
	var statuses []int
	rows, err := in.pool().Query(ctx, `SELECT (convert_from(record, 'UTF8')::json->'data'->>'status')::int FROM events WHERE type = 'request.completed' ORDER BY position`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var st int
		rows.Scan(&st)
		statuses = append(statuses, st)
	}
	if len(statuses) != 6 || statuses[5] != 499 {
		t.Fatalf("recorded statuses %v: want five 200s and the cut stream as 499", statuses)
	}
}

// verifyFeed checks a tenant's chain from the raw event feed alone, as a
// SIEM would: no database, only the records, hashes and the chain rule.
func verifyFeed(t *testing.T, s *server, token, tenant string, want int) {
	t.Helper()
	var feed struct {
		Events []struct {
			Seq      int64  `json:"seq"`
			Record   []byte `json:"record"`
			PrevHash string `json:"prev_hash"`
			Hash     string `json:"hash"`
		} `json:"events"`
	}
	s.mustAdmin(200, "GET", "/admin/v1/tenants/"+tenant+"/events?limit=1000", token, nil, &feed)
	v := eventlog.NewVerifier(tenant, eventcodec.ReadHeader)
	for _, e := range feed.Events {
		prev, _ := hex.DecodeString(e.PrevHash)
		hash, _ := hex.DecodeString(e.Hash)
		l := eventlog.Link{Seq: e.Seq, Record: e.Record}
		copy(l.PrevHash[:], prev)
		copy(l.Hash[:], hash)
		if err := v.Next(l); err != nil {
			t.Fatalf("the feed does not verify: %v", err)
		}
	}
	if n, _ := v.Head(); n != int64(want) {
		t.Fatalf("verified %d events from the feed, want %d", n, want)
	}
}
