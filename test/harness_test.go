package test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/postgres/pgtest"
)

// binary is the gatehouse binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", binary, "../cmd/gatehouse")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build gatehouse:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a process's output safely across goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// installation is one database and the secrets of a gatehouse deployment
// on it; servers can be started and stopped on it in turn.
type installation struct {
	t         *testing.T
	dbURL     string
	masterKey string
	jwtSecret string
	logs      *lockedBuffer // every server's stderr, for leak checks
}

func newInstallation(t *testing.T) *installation {
	t.Helper()
	mk := make([]byte, 32)
	rand.Read(mk)
	js := make([]byte, 40)
	rand.Read(js)
	return &installation{t: t, dbURL: pgtest.NewDatabase(t), masterKey: base64.StdEncoding.EncodeToString(mk),
		jwtSecret: base64.StdEncoding.EncodeToString(js), logs: &lockedBuffer{}}
}

func (in *installation) env(extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + in.dbURL,
		"GATEHOUSE_MASTER_KEY=" + in.masterKey,
		"GATEHOUSE_ADMIN_JWT_SECRET=" + in.jwtSecret,
		"GATEHOUSE_ADDR=127.0.0.1:0",
		"GATEHOUSE_LOG_LEVEL=debug",
		"GATEHOUSE_AUDIT_CHECKPOINT_INTERVAL=200ms",
	}, extra...)
}

// pool opens the installation's database for assertions.
func (in *installation) pool() *pgxpool.Pool {
	p, err := pgxpool.New(context.Background(), in.dbURL)
	if err != nil {
		in.t.Fatal(err)
	}
	in.t.Cleanup(p.Close)
	return p
}

// token mints an admin token with the real binary.
func (in *installation) token(args ...string) string {
	in.t.Helper()
	cmd := exec.Command(binary, append([]string{"token"}, args...)...)
	cmd.Env = in.env()
	out, err := cmd.Output()
	if err != nil {
		in.t.Fatalf("gatehouse token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// server is a running gatehouse serve process.
type server struct {
	in   *installation
	cmd  *exec.Cmd
	URL  string
	done chan error
}

func (in *installation) start(extraEnv ...string) *server {
	in.t.Helper()
	cmd := exec.Command(binary, "serve")
	cmd.Env = in.env(extraEnv...)
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(in.logs, pw)
	if err := cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	s := &server{in: in, cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); pw.Close() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if !sent && json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "gatehouse listening" {
				addr <- line.Addr
				sent = true
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case err := <-s.done:
		in.t.Fatalf("gatehouse exited at start: %v\n%s", err, in.logs.String())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		in.t.Fatalf("gatehouse did not start\n%s", in.logs.String())
	}
	in.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	s.in.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			s.in.t.Fatalf("gatehouse exited with %v\n%s", err, s.in.logs.String())
		}
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		s.in.t.Fatal("gatehouse did not stop within 60s")
	}
}

// adminDo calls the admin API and decodes the JSON answer into out.
func (s *server) adminDo(method, path, token string, body any, out any) int {
	s.in.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.in.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			s.in.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

// mustAdmin is adminDo that expects a status.
func (s *server) mustAdmin(want int, method, path, token string, body any, out any) {
	s.in.t.Helper()
	var raw json.RawMessage
	got := s.adminDo(method, path, token, body, &raw)
	if got != want {
		s.in.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.in.t.Fatal(err)
		}
	}
}

type keyOut struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	Prefix string `json:"prefix"`
	Status string `json:"status"`
}

// setupTenant creates a tenant with a provider pointing at upstream and a
// key, returning the key.
func (s *server) setupTenant(admin, tenant, providerName, upstreamURL, apiKey string) keyOut {
	s.in.t.Helper()
	s.mustAdmin(201, "POST", "/admin/v1/tenants", admin, map[string]string{"id": tenant, "name": tenant}, nil)
	s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tenant+"/providers", admin,
		map[string]string{"name": providerName, "kind": "openai", "base_url": upstreamURL, "api_key": apiKey}, nil)
	var k keyOut
	s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tenant+"/keys", admin, map[string]string{"name": "app"}, &k)
	return k
}

// eventually retries f until it returns nil or the deadline passes.
func eventually(t *testing.T, within time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runBinary runs a gatehouse command against the installation.
func runBinary(in *installation, args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = in.env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// tenantScenario is an installation with one server running, a fake
// upstream, a platform admin token, and tenant acme whose provider "up"
// points at the upstream, with one key.
type tenantScenario struct {
	in    *installation
	up    *fakeOpenAI
	s     *server
	admin string
	key   keyOut
}

func newTenantScenario(t *testing.T) *tenantScenario {
	t.Helper()
	in := newInstallation(t)
	up := newFakeOpenAI(t)
	s := in.start()
	admin := in.token("--role", "platform_admin")
	return &tenantScenario{in: in, up: up, s: s, admin: admin, key: s.setupTenant(admin, "acme", "up", up.URL+"/v1", upstreamKey)}
}

// feedEvent is an event of a tenant's feed, as the admin API shows it.
type feedEvent struct {
	Type    string          `json:"type"`
	Actor   string          `json:"actor"`
	Payload json.RawMessage `json:"data"`
}

// feed is a tenant's first 1,000 events.
func (s *server) feed(tenant, token string) []feedEvent {
	s.in.t.Helper()
	var page struct {
		Events []feedEvent `json:"events"`
	}
	s.mustAdmin(200, "GET", "/admin/v1/tenants/"+tenant+"/events?limit=1000", token, nil, &page)
	return page.Events
}
