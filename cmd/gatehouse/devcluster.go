package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// devCluster is the private Postgres that `gatehouse dev` runs under
// ./.gatehouse/pg when DATABASE_URL is not set. It listens only on a Unix
// socket of its own, so a system Postgres on 5432 is no obstacle.
type devCluster struct {
	dir     string // .gatehouse/pg
	bin     string // directory of initdb and pg_ctl
	port    int
	owner   *user.User // set when running as root: the cluster runs as postgres
	started bool       // we started it, so we stop it
}

const devPort = 54330

func (c *devCluster) data() string   { return filepath.Join(c.dir, "data") }
func (c *devCluster) socket() string { return filepath.Join(c.dir, "run") }

// URL is the cluster's connection string for database name.
func (c *devCluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", name, c.socket(), c.port)
}

// findPGBin finds initdb and pg_ctl: on PATH, else Debian's versioned dirs.
func findPGBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL is not installed: no initdb found on PATH or under /usr/lib/postgresql.\n" +
		"Install it (Debian/Ubuntu: sudo apt-get install -y postgresql) or set DATABASE_URL to a server you have")
}

func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func newDevCluster(stateDir string) (*devCluster, error) {
	bin, err := findPGBin()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filepath.Join(stateDir, "pg"))
	if err != nil {
		return nil, err
	}
	c := &devCluster{dir: abs, bin: bin, port: devPort}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root: the cluster runs as the
		// postgres system user, in directories it owns.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("running as root, and there is no postgres system user to run the private cluster as")
		}
		c.owner = u
	}
	if len(c.socket())+len("/.s.PGSQL.54330") > 100 {
		return nil, fmt.Errorf("the path %s is too long for a Postgres socket; run gatehouse dev from a shorter path or set DATABASE_URL", c.socket())
	}
	return c, nil
}

// command runs a Postgres binary as the cluster's owner.
func (c *devCluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	if c.owner != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.owner.Username, "--", filepath.Join(c.bin, name)}, args...)...)
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

func (c *devCluster) chown(paths ...string) error {
	if c.owner == nil {
		return nil
	}
	uid, _ := strconv.Atoi(c.owner.Uid)
	gid, _ := strconv.Atoi(c.owner.Gid)
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// ensure creates the cluster on first use and starts it unless running.
func (c *devCluster) ensure(ctx context.Context) error {
	if err := os.MkdirAll(c.socket(), 0o700); err != nil {
		return err
	}
	if err := c.chown(c.dir, c.socket()); err != nil {
		return err
	}
	if c.owner != nil {
		// The owner must be able to reach the directory through its parents.
		if out, err := c.command(ctx, "pg_ctl", "--version").CombinedOutput(); err != nil {
			return fmt.Errorf("cannot run Postgres as %s: %v: %s", c.owner.Username, err, out)
		}
		if err := exec.CommandContext(ctx, "runuser", "-u", c.owner.Username, "--", "test", "-w", c.dir).Run(); err != nil {
			return fmt.Errorf("the postgres user cannot write %s (a parent directory is closed to it); run gatehouse dev elsewhere or set DATABASE_URL", c.dir)
		}
	}
	if _, err := os.Stat(filepath.Join(c.data(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		out, err := c.command(ctx, "initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput()
		if err != nil {
			return fmt.Errorf("initdb: %v\n%s", err, out)
		}
	}
	if c.command(ctx, "pg_ctl", "-D", c.data(), "status").Run() == nil {
		return c.createDatabase(ctx) // already running (a previous dev still up, or started by hand)
	}
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories='%s' -p %d", c.socket(), c.port)
	out, err := c.command(ctx, "pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "-o", opts, "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s\n(see %s)", err, out, filepath.Join(c.dir, "server.log"))
	}
	c.started = true
	return c.createDatabase(ctx)
}

func (c *devCluster) createDatabase(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to the private cluster: %w", err)
	}
	defer conn.Close(cctx)
	var exists bool
	if err := conn.QueryRow(cctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'gatehouse')`).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		var pgErr *pgconn.PgError
		if _, err := conn.Exec(cctx, `CREATE DATABASE gatehouse`); err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") {
			return err
		}
	}
	return nil
}

// stop stops the cluster if this process started it.
func (c *devCluster) stop() error {
	if !c.started {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := c.command(ctx, "pg_ctl", "-D", c.data(), "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}
