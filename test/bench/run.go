package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/ports/http/admin"
)

// settings of a run, from flags after `-mode run`.
type settings struct {
	gatehouse string // path of the gatehouse binary
	out       string
	serverURL string // Postgres maintenance URL
	rate      int
	duration  time.Duration
	rounds    int
	workers   int
	micro     string // output of the in-process benchmarks, if run
	dialects  string // output of the pass-through and translation benchmarks, if run
	// auditEvents is the size of the tenant exported and verified (0: skip).
	auditEvents int64
}

// registerSettings declares the run's flags on the global flag set.
func registerSettings() *settings {
	s := &settings{}
	flag.StringVar(&s.gatehouse, "gatehouse", "", "gatehouse binary (run mode)")
	flag.StringVar(&s.out, "out", "docs/benchmarks.md", "report file")
	flag.StringVar(&s.serverURL, "postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres maintenance URL")
	flag.IntVar(&s.rate, "rate", 500, "requests per second for the latency runs")
	flag.DurationVar(&s.duration, "duration", 5*time.Second, "length of each measured run")
	flag.IntVar(&s.rounds, "rounds", 3, "rounds of each latency measurement (the median is reported)")
	flag.IntVar(&s.workers, "workers", 64, "concurrent clients for the throughput runs")
	flag.StringVar(&s.micro, "micro", "", "file with the in-process benchmark output to include")
	flag.StringVar(&s.dialects, "dialects", "", "file with the BenchmarkDialects output to include")
	flag.Int64Var(&s.auditEvents, "audit-events", 1_000_000, "events of the tenant the audit export and verification run on (0 skips them)")
	return s
}

// helper starts this binary in a helper mode and returns its address.
func helper(args ...string) (*exec.Cmd, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, "", fmt.Errorf("helper %v: %w", args, err)
	}
	return cmd, strings.TrimSpace(line), nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// database creates a fresh database for the run.
func database(ctx context.Context, server string) (string, func(), error) {
	c, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", nil, fmt.Errorf("postgres at the -postgres URL: %w", err)
	}
	defer c.Close(ctx)
	name := "gh_bench_" + randomHex(4)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, _ := url.Parse(server)
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), server)
		if err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	}
	return u.String(), drop, nil
}

type gatehouseProc struct {
	cmd    *exec.Cmd
	addr   string
	debug  string
	stderr *bytes.Buffer
}

func startGatehouse(bin, dbURL, masterKey, secret string) (*gatehouseProc, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	debug, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + dbURL, "GATEHOUSE_ADDR=" + addr, "GATEHOUSE_DEBUG_ADDR=" + debug,
		"GATEHOUSE_MASTER_KEY=" + masterKey, "GATEHOUSE_ADMIN_JWT_SECRET=" + secret, "GATEHOUSE_LOG_LEVEL=warn",
	}
	p := &gatehouseProc{cmd: cmd, addr: addr, debug: debug, stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	return nil, fmt.Errorf("gatehouse did not become ready:\n%s", p.stderr)
}

func (p *gatehouseProc) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	return p.cmd.Wait()
}

func adminCall(base, token, method, path string, body any, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, rb)
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// result is one target's measurement.
type result struct {
	p50, p99 []time.Duration // per round
	rps      float64
	answered int64
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func runBenchmark(s settings) error {
	if s.gatehouse == "" {
		return errors.New("-gatehouse is required")
	}
	ctx := context.Background()

	up, upAddr, err := helper("-mode", "upstream")
	if err != nil {
		return err
	}
	defer up.Process.Kill()
	rp, rpAddr, err := helper("-mode", "reverse-proxy", "-target", "http://"+upAddr)
	if err != nil {
		return err
	}
	defer rp.Process.Kill()

	dbURL, drop, err := database(ctx, s.serverURL)
	if err != nil {
		return err
	}
	defer drop()
	mk := make([]byte, 32)
	rand.Read(mk)
	secret := randomHex(32)
	masterKey := base64.StdEncoding.EncodeToString(mk)
	gh, err := startGatehouse(s.gatehouse, dbURL, masterKey, secret)
	if err != nil {
		return err
	}
	base := "http://" + gh.addr
	now := time.Now()
	token, err := admin.Mint([]byte(secret), admin.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: "bench", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))},
		Roles:            []string{"platform_admin"},
	})
	if err != nil {
		return err
	}
	var key, governed struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	for _, step := range []func() error{
		func() error {
			return adminCall(base, token, "POST", "/admin/v1/tenants", map[string]string{"id": "bench", "name": "bench"}, nil)
		},
		func() error {
			return adminCall(base, token, "POST", "/admin/v1/tenants/bench/providers", map[string]string{"name": "up", "kind": "openai-compatible", "base_url": "http://" + upAddr}, nil)
		},
		func() error {
			return adminCall(base, token, "POST", "/admin/v1/tenants/bench/prices", map[string]any{"model": "up/m", "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6}, nil)
		},
		func() error {
			return adminCall(base, token, "POST", "/admin/v1/tenants/bench/keys", map[string]string{"name": "bench"}, &key)
		},
		func() error {
			return adminCall(base, token, "POST", "/admin/v1/tenants/bench/keys", map[string]string{"name": "governed"}, &governed)
		},
		// A hard budget and a rate limit on the governed key, both far from
		// full: every request is admitted through the shared counters.
		func() error {
			return adminCall(base, token, "PUT", "/admin/v1/tenants/bench/budgets/key/"+governed.ID, map[string]any{"limit_usd": 1e6, "period": "day"}, nil)
		},
		func() error {
			return adminCall(base, token, "PUT", "/admin/v1/tenants/bench/rate-limits/key/"+governed.ID, map[string]any{"rpm": 1e8, "tpm": 1e11}, nil)
		},
		// A two-target fallback whose first target answers, and a cache
		// that every measured request hits (the warm-up fills it).
		func() error {
			return adminCall(base, token, "POST", "/admin/v1/tenants/bench/configs", map[string]any{"name": "fallback", "config": map[string]any{
				"strategy": map[string]any{"mode": "fallback"},
				"targets":  []any{map[string]any{"provider": "up"}, map[string]any{"provider": "up"}}}}, nil)
		},
		func() error {
			return adminCall(base, token, "POST", "/admin/v1/tenants/bench/configs", map[string]any{"name": "cached", "config": map[string]any{
				"provider": "up", "cache": map[string]any{"mode": "simple", "max_age": 3600}}}, nil)
		},
	} {
		if err := step(); err != nil {
			return err
		}
	}

	targets := []target{
		{name: "direct", url: "http://" + upAddr + "/chat/completions", model: "m", client: newClient()},
		{name: "reverse proxy", url: "http://" + rpAddr + "/chat/completions", model: "m", client: newClient()},
		{name: "gatehouse", url: base + "/v1/chat/completions", auth: key.Secret, model: "up/m", client: newClient()},
		{name: governedTarget, url: base + "/v1/chat/completions", auth: governed.Secret, model: "up/m", client: newClient()},
		{name: fallbackTarget, url: base + "/v1/chat/completions", auth: key.Secret, model: "m", config: "fallback", client: newClient()},
		{name: cacheTarget, url: base + "/v1/chat/completions", auth: key.Secret, model: "m", config: "cached", client: newClient()},
	}
	var gatehouseAnswered int64
	count := func(t target, n int64) {
		if t.url == base+"/v1/chat/completions" {
			gatehouseAnswered += n
		}
	}
	fmt.Fprintln(os.Stderr, "bench: warming up")
	for _, t := range targets {
		for _, stream := range []bool{false, true} {
			_, n, err := peak(t, stream, 16, time.Second)
			if err != nil {
				return fmt.Errorf("warm-up %s: %w", t.name, err)
			}
			count(t, n)
		}
	}

	results := map[string]*result{} // key: target name + mode
	for _, stream := range []bool{false, true} {
		for round := 0; round < s.rounds; round++ {
			for _, t := range targets {
				fmt.Fprintf(os.Stderr, "bench: %s stream=%v latency at %d req/s, round %d\n", t.name, stream, s.rate, round+1)
				lat, failed, err := fixedRate(t, stream, s.rate, s.duration)
				if failed > 0 {
					return fmt.Errorf("%s: %d requests failed: %w", t.name, failed, err)
				}
				count(t, int64(len(lat)))
				r := results[key2(t.name, stream)]
				if r == nil {
					r = &result{}
					results[key2(t.name, stream)] = r
				}
				r.p50 = append(r.p50, lat.pct(0.50))
				r.p99 = append(r.p99, lat.pct(0.99))
			}
		}
	}
	var profile []byte
	for _, stream := range []bool{false, true} {
		for _, t := range targets {
			fmt.Fprintf(os.Stderr, "bench: %s stream=%v peak throughput, %d clients\n", t.name, stream, s.workers)
			var prof chan []byte
			if t.name == "gatehouse" && !stream {
				prof = make(chan []byte, 1)
				go func() { prof <- cpuProfile(gh.debug, s.duration-time.Second) }()
			}
			rps, n, err := peak(t, stream, s.workers, s.duration)
			if err != nil {
				return fmt.Errorf("%s peak: %w", t.name, err)
			}
			count(t, n)
			results[key2(t.name, stream)].rps = rps
			if prof != nil {
				profile = <-prof
			}
		}
	}

	fmt.Fprintln(os.Stderr, "bench: stopping gatehouse and counting its records")
	if err := gh.stop(); err != nil {
		return fmt.Errorf("gatehouse stop: %w\n%s", err, gh.stderr)
	}
	var recorded int64
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	err = conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = 'request.completed'`).Scan(&recorded)
	conn.Close(ctx)
	if err != nil {
		return err
	}

	fmt.Fprintln(os.Stderr, "bench: event writer throughput")
	writer, err := writerThroughput(ctx, dbURL)
	if err != nil {
		return err
	}
	var auditRes auditResult
	if s.auditEvents > 0 {
		if auditRes, err = auditExportAndVerify(ctx, &s, dbURL, masterKey, s.auditEvents); err != nil {
			return err
		}
	}
	var micro, dialects []byte
	if s.micro != "" {
		micro, _ = os.ReadFile(s.micro)
	}
	if s.dialects != "" {
		dialects, _ = os.ReadFile(s.dialects)
	}
	rep := report{s: s, results: results, answered: gatehouseAnswered, recorded: recorded, writer: writer, profile: profile,
		micro: micro, dialects: parseDialects(dialects), audit: auditRes}
	text := rep.markdown()
	if err := os.WriteFile(s.out, []byte(text), 0o644); err != nil {
		return err
	}
	fmt.Print(text)
	if recorded != gatehouseAnswered {
		return fmt.Errorf("%d requests answered through gatehouse, %d recorded", gatehouseAnswered, recorded)
	}
	return nil
}

// governedTarget is gatehouse with a key under a hard budget and a rate limit.
const governedTarget = "gatehouse, budget + rate limit"

// fallbackTarget is gatehouse under a two-target fallback config whose
// first target answers; cacheTarget under a config whose cache every
// measured request hits.
const (
	fallbackTarget = "gatehouse, fallback config"
	cacheTarget    = "gatehouse, cache hit"
)

func key2(name string, stream bool) string {
	if stream {
		return name + "/stream"
	}
	return name + "/plain"
}

// cpuProfile takes gatehouse's CPU profile for d and returns pprof's top list.
func cpuProfile(debugAddr string, d time.Duration) []byte {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debugAddr, int(d.Seconds())))
	if err != nil {
		return []byte("profile unavailable: " + err.Error())
	}
	defer resp.Body.Close()
	f, err := os.CreateTemp("", "gatehouse-cpu-*.prof")
	if err != nil {
		return nil
	}
	defer os.Remove(f.Name())
	io.Copy(f, resp.Body)
	f.Close()
	out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=45", f.Name()).Output()
	if err != nil {
		return []byte("pprof failed: " + err.Error())
	}
	return out
}

func machine() string {
	var b strings.Builder
	cpu := "unknown"
	if f, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(f), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if f, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.TrimSpace(strings.SplitN(strings.Split(string(f), "\n")[0], ":", 2)[1])
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	fmt.Fprintf(&b, "- CPU: %s, %d logical cores (shared by the load generator, the fake upstream, the reverse proxy, gatehouse and Postgres)\n", cpu, runtime.NumCPU())
	fmt.Fprintf(&b, "- Memory: %s\n- Kernel: %s- Go: %s\n", mem, kernel, runtime.Version())
	return b.String()
}
