// Command gatehouse is the AI gateway and governance control plane: one
// binary that serves the proxy, the admin API and health endpoints, applies
// migrations, mints admin tokens, rebuilds projections, and runs a complete
// local setup with `gatehouse dev`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "gatehouse:", err)
		}
		os.Exit(exitCode(err))
	}
}

var errUsage = errors.New("usage")

// exitFailure carries a specific exit status.
type exitFailure struct {
	code int
	err  error
}

func (e *exitFailure) Error() string { return e.err.Error() }
func (e *exitFailure) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ef *exitFailure
	if errors.As(err, &ef) {
		return ef.code
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

const usage = `usage: gatehouse <command> [flags]

commands:
  serve     run the proxy, admin API and health endpoints (--no-migrate to skip migrations)
  migrate   apply pending database migrations and exit
  dev       one-command local start: private Postgres, tenant, admin token, key, echo provider
  token     mint an admin JWT: --role R [--tenant T] [--ttl 24h] [--sub NAME]
  replay    rebuild projections from the event log: [--projection NAME]
  audit     export a tenant's signed audit log, or verify an export offline:
              audit export --tenant T [--from --to] [--format jsonl|csv] -o FILE
              audit verify FILE [--key VERIFIER-KEY] [--checkpoint OLD]
              audit rotate-key (a new audit key; the old one signs the hand-over)

Every command takes --config FILE (YAML; environment variables win).
`

// run is the whole program; tests call it with their own environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet("gatehouse "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "YAML configuration file")
	switch cmd {
	case "serve":
		noMigrate := fs.Bool("no-migrate", false, "do not apply migrations at start")
		if err := fs.Parse(rest); err != nil {
			return errUsage
		}
		cfg, err := configure(getenv, *configFile, need{database: true, masterKey: true, adminAuth: true})
		if err != nil {
			return err
		}
		return serve(ctx, cfg, !*noMigrate, stdout, stderr, nil)
	case "migrate":
		if err := fs.Parse(rest); err != nil {
			return errUsage
		}
		cfg, err := configure(getenv, *configFile, need{database: true})
		if err != nil {
			return err
		}
		return migrate(ctx, cfg, stdout)
	case "dev":
		if err := fs.Parse(rest); err != nil {
			return errUsage
		}
		return dev(ctx, getenv, *configFile, stdout, stderr)
	case "token":
		return token(fs, configFile, rest, getenv, stdout)
	case "replay":
		projection := fs.String("projection", "", "rebuild only this projection")
		if err := fs.Parse(rest); err != nil {
			return errUsage
		}
		cfg, err := configure(getenv, *configFile, need{database: true})
		if err != nil {
			return err
		}
		return replay(ctx, cfg, *projection, stdout, stderr)
	case "audit":
		return auditCommand(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}

func configure(getenv func(string) string, file string, n need) (Config, error) {
	get, err := newLookup(getenv, file)
	if err != nil {
		return Config{}, err
	}
	cfg, err := loadConfig(get, n)
	if err != nil {
		return Config{}, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}
