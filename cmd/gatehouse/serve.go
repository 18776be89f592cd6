package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/adapters/guardwebhook"
	"github.com/gatehouse/gatehouse/adapters/jsonschema"
	"github.com/gatehouse/gatehouse/adapters/postgres"
	"github.com/gatehouse/gatehouse/adapters/pricing"
	"github.com/gatehouse/gatehouse/adapters/providers"
	anthropicwire "github.com/gatehouse/gatehouse/adapters/providers/anthropic"
	"github.com/gatehouse/gatehouse/adapters/rediscache"
	"github.com/gatehouse/gatehouse/adapters/vault"
	"github.com/gatehouse/gatehouse/app"
	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/tenancy"
	"github.com/gatehouse/gatehouse/ports/http/admin"
	"github.com/gatehouse/gatehouse/ports/http/anthropic"
	"github.com/gatehouse/gatehouse/ports/http/health"
	"github.com/gatehouse/gatehouse/ports/http/metrics"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
	"github.com/gatehouse/gatehouse/ports/http/openai"
	"github.com/gatehouse/gatehouse/ports/projectors"
)

// gateway is the running service: everything serve builds, in the order it
// must be stopped.
type gateway struct {
	cfg       Config
	log       *slog.Logger
	pool      *pgxpool.Pool
	store     *postgres.EventStore
	writer    *postgres.Writer
	quotas    *postgres.Quotas
	proj      *postgres.Projections
	directory *projectors.Directory
	handler   http.Handler
	commands  commands
	closers   []func() // what stop releases last
}

// commands are the write use cases, shared by the admin API and dev's bootstrap.
type commands struct {
	createTenant    app.Handler[command.CreateTenant, tenancy.Tenant]
	createTeam      app.Handler[command.CreateTeam, tenancy.Team]
	connectProvider app.Handler[command.ConnectProvider, provider.Connection]
	grantKey        app.Handler[command.GrantKey, command.GrantedKey]
	revokeKey       app.Handler[command.RevokeKey, key.Key]
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" || (cfg.LogFormat == "" && isTerminal(w)) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// isTerminal says whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func openPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	pc.MaxConns = 32
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database unreachable: %w", err)
	}
	return pool, nil
}

// startGateway builds and starts everything but the listener.
func startGateway(ctx context.Context, cfg Config, doMigrate bool, log *slog.Logger) (*gateway, error) {
	now := time.Now
	pool, err := openPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	g := &gateway{cfg: cfg, log: log, pool: pool}
	if doMigrate {
		applied, err := postgres.Migrate(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, err
		}
		if len(applied) > 0 {
			log.Info("migrations applied", "versions", applied)
		}
	}
	if err := postgres.SchemaCurrent(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database schema: %w (run gatehouse migrate)", err)
	}
	v, err := vault.New(cfg.MasterKey)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if cfg.JWKSURL != "" {
		if cfg.Auth.JWKS, err = admin.NewJWKS(ctx, cfg.JWKSURL, nil); err != nil {
			pool.Close()
			return nil, fmt.Errorf("GATEHOUSE_ADMIN_JWT_JWKS_URL: %w", err)
		}
	}
	verifier, err := admin.NewVerifier(cfg.Auth)
	if err != nil {
		pool.Close()
		return nil, err
	}

	catalogue, err := pricing.Catalogue()
	if err != nil {
		pool.Close()
		return nil, err
	}
	codec := eventcodec.Gatehouse()
	g.store = postgres.NewEventStore(pool, codec)
	g.directory = projectors.NewDirectory()
	g.directory.UseSchemaCompiler(jsonschema.Compile)
	g.store.Observe(g.directory.Apply)
	writerMetrics := metrics.NewWriter(func() (int64, int64, int) {
		st := g.writer.Stats()
		return st.Appended, st.Batches, st.Buffered
	})
	g.writer = postgres.NewWriter(g.store, postgres.WriterConfig{Capacity: cfg.EventBuffer, OnBatch: writerMetrics.OnBatch}, log)

	g.proj, err = postgres.NewProjections(pool, codec, log, 100*time.Millisecond)
	if err != nil {
		pool.Close()
		return nil, err
	}
	spendStore := postgres.NewSpendStore(pool)
	requestLog := postgres.NewRequestLogStore(pool)
	analytics := postgres.NewAnalyticsStore(pool)
	webhookStore := postgres.NewWebhookStore(pool)
	for _, p := range append([]postgres.Projection{
		{Name: projectors.DirectoryName, Topic: postgres.TopicGovernance, Durable: false, Handle: g.directory.Handle},
		{Name: projectors.WebhooksName, Topic: postgres.TopicGovernance, Durable: true, Handle: projectors.NewWebhooks(webhookStore).Handle},
	}, durableProjections(spendStore, requestLog, analytics)...) {
		if err := g.proj.Add(p); err != nil {
			pool.Close()
			return nil, err
		}
	}
	go func() {
		if err := g.proj.Run(context.WithoutCancel(ctx)); err != nil {
			log.Error("projections stopped", "err", err)
		}
	}()
	<-g.proj.Running()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := g.proj.WaitCaughtUp(wctx, projectors.DirectoryName, postgres.TopicGovernance); err != nil {
		g.stop(context.Background())
		return nil, fmt.Errorf("loading keys and providers from the log: %w", err)
	}

	repos := postgres.NewRepositories(g.store)
	g.quotas = postgres.NewQuotas(pool, log)
	cache, err := g.openCache(ctx, now)
	if err != nil {
		g.stop(context.Background())
		return nil, err
	}
	payloads := postgres.NewPayloadStore(pool, now)
	pctx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	go payloads.RunSweeper(pctx, time.Minute, log)
	g.closers = append(g.closers, stopSweep)
	g.commands = commands{
		createTenant:    app.Logged(command.NewCreateTenantHandler(repos, now), log),
		connectProvider: app.Logged(command.NewConnectProviderHandler(g.directory, repos, v, now), log),
		grantKey:        app.Logged(command.NewGrantKeyHandler(g.directory, repos, now), log),
		createTeam:      app.Logged(command.NewCreateTeamHandler(g.directory, repos, now), log),
		revokeKey:       app.Logged(command.NewRevokeKeyHandler(g.directory, repos, now), log),
	}
	uc := admin.UseCases{
		CreateTenant:     g.commands.createTenant,
		ConnectProvider:  g.commands.connectProvider,
		GrantKey:         g.commands.grantKey,
		RevokeKey:        g.commands.revokeKey,
		CreateTeam:       g.commands.createTeam,
		UpdateTeam:       app.Logged(command.NewUpdateTeamHandler(g.directory, g.directory, repos, now), log),
		ListTeams:        app.Logged(query.NewListTeamsHandler(g.directory), log),
		GetTeam:          app.Logged(query.NewGetTeamHandler(g.directory), log),
		UpdateKey:        app.Logged(command.NewUpdateKeyHandler(g.directory, g.directory, repos, now), log),
		RotateKey:        app.Logged(command.NewRotateKeyHandler(g.directory, repos, now), log),
		SetPrice:         app.Logged(command.NewSetPriceHandler(g.directory, repos, now), log),
		ListPrices:       app.Logged(query.NewListPricesHandler(g.directory, catalogue), log),
		SetBudget:        app.Logged(command.NewSetBudgetHandler(g.directory, g.directory, repos, now), log),
		SetRateLimit:     app.Logged(command.NewSetRateLimitHandler(g.directory, g.directory, repos, now), log),
		GetBudget:        app.Logged(query.NewGetBudgetHandler(g.directory, g.quotas), log),
		GetRateLimit:     app.Logged(query.NewGetRateLimitHandler(g.directory, g.quotas), log),
		ListTenants:      app.Logged(query.NewListTenantsHandler(g.directory), log),
		GetTenant:        app.Logged(query.NewGetTenantHandler(g.directory), log),
		UpdateTenant:     app.Logged(command.NewUpdateTenantHandler(g.directory, repos, now), log),
		ListProviders:    app.Logged(query.NewListProvidersHandler(g.directory), log),
		RotateProvider:   app.Logged(command.NewRotateProviderCredentialsHandler(g.directory, repos, v, now), log),
		ListKeys:         app.Logged(query.NewListKeysHandler(g.directory), log),
		GetKey:           app.Logged(query.NewGetKeyHandler(g.directory), log),
		Spend:            app.Logged(query.NewSpendHandler(g.directory, spendStore), log),
		ListRequests:     app.Logged(query.NewListRequestsHandler(g.directory, requestLog), log),
		GetRequest:       app.Logged(query.NewGetRequestHandler(g.directory, requestLog, payloads), log),
		Analytics:        app.Logged(query.NewAnalyticsHandler(g.directory, analytics), log),
		Events:           app.Logged(query.NewEventsHandler(g.directory, g.store), log),
		PublishConfig:    app.Logged(command.NewPublishConfigHandler(g.directory, g.directory, repos, now), log),
		ListConfigs:      app.Logged(query.NewListConfigsHandler(g.directory), log),
		GetConfig:        app.Logged(query.NewGetConfigHandler(g.directory), log),
		PublishGuardrail: app.Logged(command.NewPublishGuardrailHandler(g.directory, repos, jsonschema.Compile, now), log),
		ListGuardrails:   app.Logged(query.NewListGuardrailsHandler(g.directory), log),
		GetGuardrail:     app.Logged(query.NewGetGuardrailHandler(g.directory), log),
		SignInFailed:     command.NewRecordSignInFailureHandler(g.directory, repos, now),
		CreateWebhook:    app.Logged(command.NewCreateWebhookHandler(g.directory, repos, v, alertable(codec), now), log),
		ListWebhooks:     app.Logged(query.NewWebhooksHandler(g.directory, webhookStore), log),
		ListDeliveries:   app.Logged(query.DeliveriesHandler{WebhooksHandler: query.NewWebhooksHandler(g.directory, webhookStore)}, log),
	}
	sender := postgres.NewWebhookSender(pool, v, now, log)
	sctx, stopSender := context.WithCancel(context.WithoutCancel(ctx))
	senderDone := make(chan struct{})
	go func() { defer close(senderDone); sender.Run(sctx, 250*time.Millisecond) }()
	g.closers = append(g.closers, func() { stopSender(); <-senderDone })
	tracer, err := g.startTracing(ctx)
	if err != nil {
		g.stop(context.Background())
		return nil, err
	}
	metricsOpts := metrics.Options{TenantLabel: cfg.MetricsTenant}
	requestMetrics := metrics.NewRequests(metricsOpts)
	svc := proxy.NewService(proxy.Deps{
		Keys: g.directory, Policy: proxy.NewDirectoryPolicy(g.directory), Upstreams: providers.NewRegistry(repos, v, now),
		Recorder: recorder{g.writer}, Prices: proxy.NewPriceList(g.directory, catalogue),
		Governance: g.directory, Quotas: g.quotas, ModelSource: g.directory, Configs: g.directory, Cache: cache,
		Guardrails: g.directory, Webhooks: guardwebhook.New(), Now: now, Log: log,
		Observer: proxy.Observers{requestMetrics, proxy.LogLine{Log: log}}, Tracer: tracer, Tenants: g.directory,
	})
	g.quotas.OnPosted(svc.Posted)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = routerErrors(log)
	e.Use(middleware.Recover(log), middleware.Trace())
	if tracer != nil {
		e.Use(middleware.Tracing(tracer))
	}
	state := metrics.NewState(g.proj.Lag, g.budgetReadings(now), metricsOpts)
	metrics.Register(e, metrics.NewRegistry(svc.Breakers(), now, metricsOpts, append(requestMetrics.Collectors(), writerMetrics, state)...))
	health.Register(e, log, []health.Check{
		{Name: "database", Check: func(ctx context.Context) error { return pool.Ping(ctx) }},
		{Name: "migrations", Check: func(ctx context.Context) error { return postgres.SchemaCurrent(ctx, pool) }},
		{Name: "event_writer", Check: func(context.Context) error { return g.writer.Healthy() }},
		{Name: "projections", Check: func(context.Context) error { return g.proj.Healthy() }},
	})
	openai.NewChat(svc, log).Register(e)
	openai.NewModels(svc, log).Register(e)
	inbound := anthropicwire.Inbound{}
	anthropic.NewMessages(svc, anthropic.Dialect{ToChat: inbound.ToChat, FromChat: inbound.FromChat,
		NewStream: func() anthropic.EventStream { return inbound.NewStream() }}, log).Register(e)
	uc.ProviderHealth = app.Logged(query.NewProviderHealthHandler(g.directory, svc.Breakers(), now), log)
	if uc.Audit, err = g.startAudit(ctx, v, now); err != nil {
		g.stop(context.Background())
		return nil, err
	}
	uc.AuditTrail = app.Logged(query.NewAuditTrailHandler(g.directory, postgres.NewAuditStore(pool, g.store), now), log)
	uc.AccessAt = app.Logged(query.NewAccessAtHandler(g.directory, projectors.NewAccessHistory(g.store, jsonschema.Compile)), log)
	admin.NewServer(verifier, uc, log).Register(e)
	g.handler = e
	return g, nil
}

// recorder adapts the writer to the proxy's Recorder port.
type recorder struct{ w *postgres.Writer }

func (r recorder) Reserve(ctx context.Context) (proxy.Slot, error) {
	s, err := r.w.Reserve(ctx)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (r recorder) TryReserve() (proxy.Slot, bool) {
	s, ok := r.w.TryReserve()
	if !ok {
		return nil, false
	}
	return s, true
}

// stop posts the last quota settlements (whose alerts are events), drains
// the event buffer, then stops the projections and the pool.
func (g *gateway) stop(ctx context.Context) error {
	var err error
	if g.quotas != nil {
		err = g.quotas.Close(ctx)
	}
	if g.writer != nil {
		err = errors.Join(err, g.writer.Close(ctx))
		st := g.writer.Stats()
		g.log.Info("event writer drained", "events_appended", st.Appended, "batches", st.Batches)
	}
	if g.proj != nil {
		err = errors.Join(err, g.proj.Close())
	}
	for _, c := range g.closers {
		c()
	}
	g.pool.Close()
	return err
}

// openCache opens the exact cache: in Redis when REDIS_URL is set, else
// in Postgres, swept of expired entries every minute.
func (g *gateway) openCache(ctx context.Context, now func() time.Time) (proxy.Cache, error) {
	if g.cfg.RedisURL == "" {
		c := postgres.NewResponseCache(g.pool, now)
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		go c.RunSweeper(sctx, time.Minute, g.log)
		g.closers = append(g.closers, cancel)
		return c, nil
	}
	c, err := rediscache.New(g.cfg.RedisURL, g.cfg.RedisKeyPrefix)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("REDIS_URL: Redis unreachable: %w", err)
	}
	g.closers = append(g.closers, func() { c.Close() })
	return c, nil
}

// serve runs until ctx ends, then stops gracefully: in-flight requests
// finish, every buffered event is written, and only then does it exit.
// ready, when given, receives the bound address once listening.
func serve(ctx context.Context, cfg Config, doMigrate bool, stdout, stderr io.Writer, ready func(addr string, g *gateway) error) error {
	log := newLogger(cfg, stderr)
	g, err := startGateway(ctx, cfg, doMigrate, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		g.stop(context.Background())
		return fmt.Errorf("GATEHOUSE_ADDR: %w", err)
	}
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			ln.Close()
			g.stop(context.Background())
			return fmt.Errorf("GATEHOUSE_DEBUG_ADDR: %w", err)
		}
		defer stopDebug()
	}
	srv := &http.Server{Handler: g.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("gatehouse listening", "addr", ln.Addr().String())
	if ready != nil {
		if err := ready(ln.Addr().String(), g); err != nil {
			srv.Close()
			g.stop(context.Background())
			return err
		}
	}

	select {
	case err := <-errc:
		g.stop(context.Background())
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests and draining events")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Cut the connections still open: their handlers see their context
		// end, finish, and hand over their events, which are drained below
		// on a deadline of their own.
		log.Warn("requests still running at the shutdown deadline; closing them", "err", err)
		srv.Close()
	}
	dctx, dcancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer dcancel()
	if err := g.stop(dctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func migrate(ctx context.Context, cfg Config, stdout io.Writer) error {
	pool, err := openPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := postgres.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema is current (migration %d)\n", postgres.LatestMigration())
		return nil
	}
	fmt.Fprintf(stdout, "applied migrations %v\n", applied)
	return nil
}

// serveDebug serves pprof on its own listener, never on the public one.
func serveDebug(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("pprof listening", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// routerErrors answers the errors echo raises itself (no such route, wrong
// method) in the shape of the API the path belongs to.
func routerErrors(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, message := http.StatusInternalServerError, "internal error"
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status, message = he.Code, fmt.Sprint(he.Message)
		} else {
			log.Error("unhandled error", "path", c.Request().URL.Path, "trace_id", middleware.TraceID(c), "err", err)
		}
		path := c.Request().URL.Path
		switch {
		case strings.HasPrefix(path, admin.Prefix):
			err = admin.HTTPError(c, status, message)
		case path == "/v1/messages":
			err = anthropic.HTTPError(c, status, message)
		case strings.HasPrefix(path, "/v1/"):
			err = openai.HTTPError(c, status, message)
		default:
			err = c.JSON(status, map[string]string{"error": message})
		}
		if err != nil {
			log.Warn("could not answer an error", "err", err)
		}
	}
}

// durableProjections are the read models kept in Postgres, which replay rebuilds.
func durableProjections(spend *postgres.SpendStore, requestLog *postgres.RequestLogStore, analytics *postgres.AnalyticsStore) []postgres.Projection {
	return []postgres.Projection{
		{Name: projectors.SpendName, Topic: postgres.TopicTraffic, Durable: true, Handle: projectors.NewSpend(spend).Handle},
		{Name: projectors.RequestLogName, Topic: postgres.TopicTraffic, Durable: true, Handle: projectors.NewRequestLog(requestLog).Handle},
		{Name: projectors.AnalyticsName, Topic: postgres.TopicTraffic, Durable: true, Handle: projectors.NewAnalytics(analytics).Handle},
	}
}
