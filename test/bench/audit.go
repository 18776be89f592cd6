package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// auditResult is the export and verification of one large tenant.
type auditResult struct {
	events                    int64
	fill                      time.Duration
	export, exportTenth       time.Duration
	exportRSS, exportTenthRSS int64 // peak resident memory, KiB
	verify                    time.Duration
	verifyRSS                 int64
	fileBytes                 int64
}

const auditTenant = "audit-bench"

// chainSource makes a tenant's events as the writer would, chained, for COPY.
type chainSource struct {
	codec *eventcodec.Registry
	n     int64
	seq   int64
	prev  eventlog.Hash
	start time.Time
	keyID uuid.UUID
	row   []any
	err   error
}

func (c *chainSource) Next() bool {
	if c.seq >= c.n || c.err != nil {
		return false
	}
	c.seq++
	id := uuid.New()
	at := c.start.Add(time.Duration(c.seq) * time.Millisecond)
	e := usage.RequestCompleted{V: 1, RequestID: id, KeyID: c.keyID, Endpoint: "/v1/chat/completions", Model: "up/gpt-4o-mini", Provider: "up",
		UpstreamModel: "gpt-4o-mini", Status: 200, Tokens: usage.Tokens{Prompt: 24, Completion: 20}, CostMicros: 21, DurationMs: 412.5}
	env := eventlog.Meta{Actor: "key:" + c.keyID.String(), TraceID: id.String(), OccurredAt: at}.Envelope(uuid.New(), auditTenant, usage.StreamID(id), 1, e)
	rec, err := c.codec.Encode(env, c.seq)
	if err != nil {
		c.err = err
		return false
	}
	prev, h := c.prev, eventlog.ChainHash(c.prev, rec)
	c.row = []any{auditTenant, c.seq, env.StreamID, int32(1), env.ID, env.Event.EventType(), at, env.Actor, env.TraceID, rec, prev[:], h[:]}
	c.prev = h
	return true
}

func (c *chainSource) Values() ([]any, error) { return c.row, nil }
func (c *chainSource) Err() error             { return c.err }

// auditExportAndVerify fills a tenant with n request events, then exports
// it with `gatehouse audit export` and verifies the file with `gatehouse
// audit verify`, each a process of its own whose peak memory is measured.
func auditExportAndVerify(ctx context.Context, s *settings, dbURL, masterKey string, n int64) (auditResult, error) {
	res := auditResult{events: n}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return res, err
	}
	defer conn.Close(ctx)
	start := time.Now()
	src := &chainSource{codec: eventcodec.Gatehouse(), n: n, start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), keyID: uuid.New()}
	cols := []string{"tenant_id", "seq", "stream_id", "stream_version", "event_id", "type", "occurred_at", "actor", "trace_id", "record", "prev_hash", "hash"}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"events"}, cols, src); err != nil {
		return res, fmt.Errorf("fill: %w", err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO tenant_heads (tenant_id, seq, hash) VALUES ($1, $2, $3)`, auditTenant, n, src.prev[:]); err != nil {
		return res, err
	}
	res.fill = time.Since(start)
	var vkey string
	if err := conn.QueryRow(ctx, `SELECT verifier_key FROM audit_signing_keys WHERE active`).Scan(&vkey); err != nil {
		return res, fmt.Errorf("the installation's verifier key: %w", err)
	}
	dir, err := os.MkdirTemp("", "gatehouse-audit-bench")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "GATEHOUSE_MASTER_KEY="+masterKey, "GATEHOUSE_LOG_LEVEL=warn")
	run := func(args ...string) (time.Duration, int64, error) {
		cmd := exec.CommandContext(ctx, s.gatehouse, args...)
		cmd.Env = env
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return 0, 0, err
		}
		peak := watchPeak(cmd.Process.Pid)
		err := cmd.Wait()
		took := time.Since(t0)
		if err != nil {
			return took, 0, fmt.Errorf("gatehouse %s: %w\n%s", strings.Join(args, " "), err, out.String())
		}
		return took, peak(), nil
	}
	file := filepath.Join(dir, "audit.jsonl")
	tenthTo := src.start.Add(time.Duration(n/10+1) * time.Millisecond).Format(time.RFC3339Nano)
	fmt.Fprintln(os.Stderr, "bench: audit export of a tenth")
	if res.exportTenth, res.exportTenthRSS, err = run("audit", "export", "--tenant", auditTenant, "--to", tenthTo, "-o", filepath.Join(dir, "tenth.jsonl")); err != nil {
		return res, err
	}
	fmt.Fprintln(os.Stderr, "bench: audit export of", n, "events")
	if res.export, res.exportRSS, err = run("audit", "export", "--tenant", auditTenant, "-o", file); err != nil {
		return res, err
	}
	if st, err := os.Stat(file); err == nil {
		res.fileBytes = st.Size()
	}
	fmt.Fprintln(os.Stderr, "bench: audit verify")
	res.verify, res.verifyRSS, err = run("audit", "verify", file, "--key", vkey)
	return res, err
}

func (a auditResult) section() string {
	if a.events == 0 {
		return ""
	}
	rate := func(d time.Duration, n int64) string { return fmt.Sprintf("%.0f events/s", float64(n)/d.Seconds()) }
	mib := func(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
	var b strings.Builder
	b.WriteString("## Audit export and verification\n\n")
	fmt.Fprintf(&b, "A tenant of %d `request.completed` events (chained as the writer chains them, filled with COPY in %s). "+
		"`gatehouse audit export` streams it from Postgres in pages of 1,000 events, growing the tree as it goes, and signs a checkpoint at the end; "+
		"`gatehouse audit verify` checks the file offline (every hash, the chain, the tree, the signature). Each runs as its own process; "+
		"peak memory is its maximum resident set.\n\n", a.events, a.fill.Round(time.Second))
	b.WriteString("| step | events | time | throughput | peak memory |\n| --- | --- | --- | --- | --- |\n")
	fmt.Fprintf(&b, "| export, a tenth of the log | %d | %s | %s | %s |\n", a.events/10, a.exportTenth.Round(time.Millisecond), rate(a.exportTenth, a.events/10), mib(a.exportTenthRSS))
	fmt.Fprintf(&b, "| export, the whole log | %d | %s | %s | %s |\n", a.events, a.export.Round(time.Millisecond), rate(a.export, a.events), mib(a.exportRSS))
	fmt.Fprintf(&b, "| verify the whole export | %d | %s | %s | %s |\n\n", a.events, a.verify.Round(time.Millisecond), rate(a.verify, a.events), mib(a.verifyRSS))
	fmt.Fprintf(&b, "The export file holds %.0f MiB. Ten times the events take about the same memory (%s against %s): it is bounded, "+
		"whatever the size of the log.\n\n", float64(a.fileBytes)/(1<<20), mib(a.exportRSS), mib(a.exportTenthRSS))
	return b.String()
}

// watchPeak reads a process's peak resident memory (VmHWM, KiB) every few
// milliseconds until it exits; the answer is the last reading. (The rusage
// of a child counts its parent's memory from before exec.)
func watchPeak(pid int) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := fmt.Sprintf("/proc/%d/status", pid)
		for {
			b, err := os.ReadFile(path)
			if err != nil {
				return
			}
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					if kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil {
						peak.Store(kib)
					}
				}
			}
			if strings.Contains(string(b), "State:\tZ") {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() int64 {
		<-done
		return peak.Load()
	}
}
