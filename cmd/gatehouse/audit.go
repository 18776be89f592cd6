package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/note"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/adapters/postgres"
	"github.com/gatehouse/gatehouse/adapters/vault"
	"github.com/gatehouse/gatehouse/app/auditing"
	"github.com/gatehouse/gatehouse/domain/audit"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

const auditUsage = `usage:
  gatehouse audit export --tenant T [--from TIME | --after-seq N] [--to TIME] [--format jsonl|csv] -o FILE
  gatehouse audit verify FILE [--key VERIFIER-KEY|FILE] [--checkpoint FILE]
  gatehouse audit rotate-key
`

// auditCommand runs gatehouse audit export and verify.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("gatehouse audit "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "export":
		configFile := fs.String("config", "", "YAML configuration file")
		tenant := fs.String("tenant", "", "the tenant whose log to export")
		from := fs.String("from", "", "the first event's time (RFC 3339 or YYYY-MM-DD), default the log's start")
		to := fs.String("to", "", "the end of the range, exclusive, default now")
		afterSeq := fs.Int64("after-seq", -1, "instead of --from: start after the first N events (the size of a checkpoint you kept)")
		format := fs.String("format", auditing.FormatJSONL, "jsonl (verifiable) or csv")
		out := fs.String("o", "", "the file to write")
		if err := fs.Parse(args[1:]); err != nil || *tenant == "" || *out == "" || fs.NArg() > 0 {
			fmt.Fprint(stderr, auditUsage)
			return errUsage
		}
		cfg, err := configure(getenv, *configFile, need{database: true, masterKey: true})
		if err != nil {
			return err
		}
		var after *int64
		if *afterSeq >= 0 {
			after = afterSeq
		}
		return auditExport(ctx, cfg, auditing.Export{TenantID: *tenant, AfterSeq: after, Format: *format, Via: auditing.ViaCLI}, *from, *to, *out, stdout, stderr)
	case "rotate-key":
		configFile := fs.String("config", "", "YAML configuration file")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			fmt.Fprint(stderr, auditUsage)
			return errUsage
		}
		cfg, err := configure(getenv, *configFile, need{database: true, masterKey: true})
		if err != nil {
			return err
		}
		return auditRotateKey(ctx, cfg, stdout)
	case "verify":
		key := fs.String("key", "", "the verifier key to pin (its text, or a file holding it)")
		kept := fs.String("checkpoint", "", "a file with a signed checkpoint kept from before, which the export must extend")
		file, rest := "", args[1:]
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			file, rest = rest[0], rest[1:]
		}
		if err := fs.Parse(rest); err != nil {
			return errUsage
		}
		if file == "" && fs.NArg() == 1 {
			file = fs.Arg(0)
		}
		if file == "" {
			fmt.Fprint(stderr, auditUsage)
			return errUsage
		}
		return auditVerify(file, *key, *kept, stdout, stderr)
	}
	fmt.Fprint(stderr, auditUsage)
	return errUsage
}

func parseWhen(name, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return &t, nil
		}
	}
	return nil, fmt.Errorf("--%s must be an RFC 3339 time or a YYYY-MM-DD date", name)
}

// knownTenants are the tenants with a log, read once.
type knownTenants map[string]bool

func (k knownTenants) Tenant(id string) (tenancy.Tenant, bool) {
	return tenancy.Tenant{ID: id}, k[id]
}

func auditExport(ctx context.Context, cfg Config, q auditing.Export, fromS, toS, out string, stdout, stderr io.Writer) error {
	var err error
	if q.From, err = parseWhen("from", fromS); err != nil {
		return err
	}
	if q.To, err = parseWhen("to", toS); err != nil {
		return err
	}
	tenant := q.TenantID
	log := newLogger(cfg, stderr)
	a, err := openAudit(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.pool.Close()
	pool, v, ids := a.pool, a.vault, a.tenants
	known := knownTenants{}
	for _, id := range ids {
		known[id] = true
	}
	svc, err := newAuditService(ctx, cfg, pool, postgres.NewEventStore(pool, eventcodec.Gatehouse()), v, known, time.Now, log)
	if err != nil {
		return err
	}
	p, err := svc.Prepare(ctx, q)
	if err != nil {
		if !known[tenant] {
			return fmt.Errorf("no tenant %q has a log here", tenant)
		}
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	progress := terminalProgress(stderr, tenant)
	e, err := p.Write(ctx, f, progress)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if progress != nil {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", out, err)
	}
	fmt.Fprintf(stdout, "exported %d events of %s (seq %d-%d) to %s\n", e.Events, tenant, e.FirstSeq, e.LastSeq, out)
	return nil
}

// terminalProgress draws a progress bar when w is a terminal.
func terminalProgress(w io.Writer, tenant string) auditing.Progress {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(w) {
		return nil
	}
	return func(done, total int64) {
		const width = 30
		filled := width
		if total > 0 {
			filled = int(done * width / total)
		}
		fmt.Fprintf(f, "\rexporting %s [%s%s] %d/%d events", tenant, strings.Repeat("#", filled), strings.Repeat(" ", width-filled), done, total)
	}
}

func auditVerify(file, keyArg, keptFile string, stdout, stderr io.Writer) error {
	var key note.Verifier
	if keyArg != "" {
		text := keyArg
		if b, err := os.ReadFile(keyArg); err == nil {
			text = strings.TrimSpace(string(b))
		}
		k, err := note.NewVerifier(text)
		if err != nil {
			return &exitFailure{code: 2, err: fmt.Errorf("--key: not a verifier key in note format: %v", err)}
		}
		key = k
	}
	var kept string
	if keptFile != "" {
		b, err := os.ReadFile(keptFile)
		if err != nil {
			return &exitFailure{code: 2, err: fmt.Errorf("--checkpoint: %v", err)}
		}
		kept = string(b)
		var line audit.CheckpointLine // the last line of an earlier export will do too
		if json.Unmarshal([]byte(strings.TrimSpace(kept)), &line) == nil && line.Note != "" {
			kept = line.Note
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return &exitFailure{code: 2, err: err}
	}
	defer f.Close()
	s, err := audit.Verify(f, audit.VerifyOptions{Key: key, Kept: kept})
	var le *audit.LineError
	if errors.As(err, &le) {
		fmt.Fprintf(stdout, "FAIL %s: line %d: %s\n", file, le.Line, le.Reason)
		return &exitFailure{code: 1, err: fmt.Errorf("the export does not verify")}
	}
	if err != nil {
		return err
	}
	span := "no events"
	if s.Events > 0 {
		span = fmt.Sprintf("seq %d-%d, %s to %s", s.FirstSeq, s.LastSeq, s.First, s.Last)
	}
	line := fmt.Sprintf("OK %s: tenant %s, %d events (%s), head %s, tree of %d events with root %s", file, s.Tenant, s.Events, span, s.Head, s.CheckpointCount, s.Root)
	if s.Kept {
		line += fmt.Sprintf(", consistent with the kept checkpoint of %d events", s.KeptCheckpoint)
	}
	fmt.Fprintln(stdout, line)
	if !s.Pinned {
		fmt.Fprintln(stderr, "WARNING: THE SIGNER WAS NOT PINNED (no --key): the events hang together and match the checkpoint,"+
			" but anyone could have signed it. Pass --key with the verifier key from GET /admin/v1/audit/verifier-key.")
	}
	return nil
}

// auditRotateKey replaces the installation's audit key, recording in every
// tenant's log the statement the old key signed that names the new one.
func auditRotateKey(ctx context.Context, cfg Config, stdout io.Writer) error {
	a, err := openAudit(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.pool.Close()
	pool, tenants := a.pool, a.tenants
	keys := postgres.NewAuditKeys(pool, a.vault, cfg.AuditKey, cfg.Installation, time.Now)
	oldKey, newKey, err := keys.Rotate(ctx, postgres.NewEventStore(pool, eventcodec.Gatehouse()), tenants)
	if err != nil {
		return fmt.Errorf("rotate the audit key: %w", err)
	}
	fmt.Fprintf(stdout, "the audit key %s hands over to\n%s\nrecorded as audit.key_rotated in %d tenant logs; running gateways sign with it within their checkpoint interval\n", oldKey, newKey, len(tenants))
	if cfg.AuditKey != "" {
		fmt.Fprintln(stdout, "GATEHOUSE_AUDIT_SIGNING_KEY is set: unset it before the next start (the new key is kept sealed with the master key)")
	}
	return nil
}

// auditDB is what the audit commands open: the database, the vault of
// its sealed keys, and the tenants that have a log.
type auditDB struct {
	pool    *pgxpool.Pool
	vault   *vault.Vault
	tenants []string
}

func openAudit(ctx context.Context, cfg Config) (auditDB, error) {
	pool, err := openCurrentPool(ctx, cfg)
	if err != nil {
		return auditDB{}, err
	}
	v, err := vault.New(cfg.MasterKey)
	if err != nil {
		pool.Close()
		return auditDB{}, err
	}
	ids, err := postgres.TenantIDs(ctx, pool)
	if err != nil {
		pool.Close()
		return auditDB{}, err
	}
	return auditDB{pool: pool, vault: v, tenants: ids}, nil
}

// startAudit loads (or makes) the audit signing key and signs each
// tenant's checkpoints in the background until the gateway stops.
func (g *gateway) startAudit(ctx context.Context, v *vault.Vault, now func() time.Time) (*auditing.Service, error) {
	svc, err := newAuditService(ctx, g.cfg, g.pool, g.store, v, g.directory, now, g.log)
	if err != nil {
		return nil, err
	}
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(actx, g.cfg.AuditInterval)
	}()
	g.closers = append(g.closers, func() { cancel(); <-done })
	return svc, nil
}

// newAuditService builds the audit service over the database.
func newAuditService(ctx context.Context, cfg Config, pool *pgxpool.Pool, store *postgres.EventStore, v *vault.Vault, tenants auditing.Tenants,
	now func() time.Time, log *slog.Logger) (*auditing.Service, error) {
	keys := postgres.NewAuditKeys(pool, v, cfg.AuditKey, cfg.Installation, now)
	return auditing.New(ctx, postgres.NewAuditStore(pool, store), tenants, keys, now, log)
}
