package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// Handler folds a page of consecutive recorded events into a read model.
// For a durable projector the context carries the transaction that also
// advances its checkpoint past the page; stores write through it.
type Handler func(ctx context.Context, page []eventlog.Recorded) error

// Projection is one read model fed from the log.
type Projection struct {
	Name    string // versioned: renaming it rebuilds the model from position 0
	Topic   string
	Durable bool // checkpoint in Postgres (rows in Postgres); else in memory
	Handle  Handler
}

// Projections runs read models off the event log through a watermill router:
// each projection is a consumer group of a watermill-sql subscriber reading
// the events table.
type Projections struct {
	pool   *pgxpool.Pool
	codec  *eventcodec.Registry
	log    *slog.Logger
	router *message.Router
	poll   time.Duration

	mu      sync.Mutex
	memory  map[string]*memoryOffsets
	failing map[string]error
	topics  map[string]string // each projection's topic
	subs    []*wsql.Subscriber
	stopped chan struct{} // closed by Close: a pause after a failure ends

	// gate keeps Close from closing a subscriber while a handler is still
	// writing in the subscriber's transaction: watermill-sql commits as soon
	// as its subscriber closes, and a handler's statement running on the
	// same connection at that moment would race the commit.
	gate     sync.Mutex
	stopping bool
	inFlight sync.WaitGroup
}

// errStopping nacks a message that arrives while the projections stop; it
// is delivered again at the next start.
var errStopping = errors.New("projections stopping")

func (p *Projections) enter() bool {
	p.gate.Lock()
	defer p.gate.Unlock()
	if p.stopping {
		return false
	}
	p.inFlight.Add(1)
	return true
}

// NewProjections builds an empty runner; poll is how often an idle
// projection looks for new events.
func NewProjections(pool *pgxpool.Pool, codec *eventcodec.Registry, log *slog.Logger, poll time.Duration) (*Projections, error) {
	if pool == nil || codec == nil || log == nil {
		panic("postgres.NewProjections: nil dependency")
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug}))
	if err != nil {
		return nil, err
	}
	return &Projections{pool: pool, codec: codec, log: log, router: router, poll: poll,
		memory: map[string]*memoryOffsets{}, failing: map[string]error{}, stopped: make(chan struct{})}, nil
}

// Add registers a projection; call before Run.
func (p *Projections) Add(pr Projection) error {
	if pr.Name == "" || pr.Handle == nil {
		return errors.New("projection needs a name and a handler")
	}
	if _, ok := topicFilter[pr.Topic]; !ok {
		return fmt.Errorf("projection %s: unknown topic %q", pr.Name, pr.Topic)
	}
	p.mu.Lock()
	if p.topics == nil {
		p.topics = map[string]string{}
	}
	p.topics[pr.Name] = pr.Topic
	p.mu.Unlock()
	var offsets wsql.OffsetsAdapter = checkpointOffsets{}
	var mem *memoryOffsets
	if !pr.Durable {
		mem = &memoryOffsets{}
		p.mu.Lock()
		p.memory[pr.Name] = mem
		p.mu.Unlock()
		offsets = mem
	}
	ack := time.Duration(0) // handlers may take long on a rebuild; never re-deliver mid-batch
	sub, err := wsql.NewSubscriber(wsql.BeginnerFromPgx(p.pool), wsql.SubscriberConfig{
		ConsumerGroup:  pr.Name,
		AckDeadline:    &ack,
		PollInterval:   p.poll,
		ResendInterval: time.Second,
		RetryInterval:  time.Second,
		SchemaAdapter:  eventsSchema{batchSize: 1000},
		OffsetsAdapter: offsets,
	}, watermill.NewSlogLogger(p.log))
	if err != nil {
		return fmt.Errorf("projection %s: %w", pr.Name, err)
	}
	p.subs = append(p.subs, sub)
	p.router.AddConsumerHandler(pr.Name, pr.Topic, sub, func(msg *message.Message) error {
		if !p.enter() {
			return errStopping
		}
		defer p.inFlight.Done()
		err := p.fold(pr, mem, msg)
		p.setHealth(pr.Name, err)
		if err != nil {
			// The page is acknowledged but its place is not moved: the
			// transaction keeps nothing of it, and the next poll reads it
			// again from the same place, after a pause.
			p.log.Error("projection failed on a page of events; retrying", "projection", pr.Name, "page", msg.UUID, "err", err)
			select {
			case <-time.After(time.Second):
			case <-p.stopped:
			}
		}
		return nil
	})
	return nil
}

// fold decodes a page, hands it to the projection and moves the
// projection's place past it. A durable projection does all of it inside a
// savepoint of the subscriber's transaction, so a failure leaves no trace.
func (p *Projections) fold(pr Projection, mem *memoryOffsets, msg *message.Message) error {
	xid, position, err := pageEnd(msg)
	if err != nil {
		return fmt.Errorf("page end: %w", err)
	}
	var page []eventlog.Recorded
	err = decodePage(msg.Payload, func(position int64, record []byte) error {
		env, seq, err := p.codec.Decode(record)
		if err != nil {
			return fmt.Errorf("event at position %d: %w", position, err)
		}
		page = append(page, eventlog.Recorded{Envelope: env, Position: position, Seq: seq, Record: record})
		return nil
	})
	if err != nil {
		return err
	}
	ctx := msg.Context()
	if !pr.Durable {
		if err := pr.Handle(ctx, page); err != nil {
			return err
		}
		mem.advance(xid, position)
		return nil
	}
	wtx, ok := wsql.TxFromContext(ctx)
	ptx, isPgx := wtx.(*wsql.PgxTx)
	if !ok || !isPgx {
		return errors.New("no subscriber transaction to fold the page in")
	}
	tx := ptx.Tx
	if _, err := tx.Exec(ctx, "SAVEPOINT page"); err != nil {
		return err
	}
	err = pr.Handle(withTx(ctx, tx), page)
	if err == nil {
		err = db.New(tx).AdvanceCheckpoint(ctx, db.AdvanceCheckpointParams{Name: pr.Name, LastTransactionID: xid, LastPosition: position})
	}
	if err != nil {
		if _, rerr := tx.Exec(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT page"); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return err
	}
	_, err = tx.Exec(ctx, "RELEASE SAVEPOINT page")
	return err
}

func (p *Projections) setHealth(name string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		delete(p.failing, name)
		return
	}
	p.failing[name] = err
}

// Healthy reports the projections whose last page failed.
func (p *Projections) Healthy() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for name, err := range p.failing {
		errs = append(errs, fmt.Errorf("projection %s: %w", name, err))
	}
	return errors.Join(errs...)
}

// Run processes events until ctx ends or Close is called.
func (p *Projections) Run(ctx context.Context) error { return p.router.Run(ctx) }

// Running is closed once every handler is subscribed.
func (p *Projections) Running() chan struct{} { return p.router.Running() }

// Close lets running handlers finish, then stops the router and its subscribers.
func (p *Projections) Close() error {
	p.gate.Lock()
	if !p.stopping {
		p.stopping = true
		close(p.stopped)
	}
	p.gate.Unlock()
	p.inFlight.Wait()
	err := p.router.Close()
	for _, s := range p.subs {
		err = errors.Join(err, s.Close())
	}
	return err
}

// WaitCaughtUp blocks until the named projection has processed everything
// that was committed when the call began.
func (p *Projections) WaitCaughtUp(ctx context.Context, name, topic string) error {
	var headXID uint64
	var headPos int64
	// The head is the last event committed now, in log order. The
	// projection may pass it only once every older transaction has ended,
	// which waiting covers.
	err := p.pool.QueryRow(ctx, `SELECT transaction_id, position FROM events WHERE `+topicFilter[topic]+`
		ORDER BY transaction_id DESC, position DESC LIMIT 1`).Scan(&headXID, &headPos)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read log head: %w", err)
	}
	if headPos == 0 {
		return nil
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		xid, pos, err := p.cursor(ctx, name)
		if err != nil {
			return err
		}
		if xid > headXID || (xid == headXID && pos >= headPos) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("projection %s not caught up: %w", name, ctx.Err())
		case <-t.C:
		}
	}
}

// Lag is how far each projection is behind the log: the time between the
// newest event of its topic and the event it last folded (0 when it is
// caught up).
func (p *Projections) Lag(ctx context.Context) (map[string]time.Duration, error) {
	p.mu.Lock()
	topics := maps.Clone(p.topics)
	p.mu.Unlock()
	heads := map[string]struct {
		pos int64
		at  time.Time
	}{}
	out := map[string]time.Duration{}
	for name, topic := range topics {
		head, ok := heads[topic]
		if !ok {
			err := p.pool.QueryRow(ctx, `SELECT position, occurred_at FROM events WHERE `+topicFilter[topic]+`
				ORDER BY transaction_id DESC, position DESC LIMIT 1`).Scan(&head.pos, &head.at)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return nil, err
			}
			heads[topic] = head
		}
		_, pos, err := p.cursor(ctx, name)
		if err != nil {
			return nil, err
		}
		if head.pos == 0 || pos == head.pos {
			out[name] = 0
			continue
		}
		var at time.Time
		if err := p.pool.QueryRow(ctx, `SELECT coalesce(min(occurred_at), $2) FROM events WHERE position = $1 OR ($1 = 0 AND `+topicFilter[topic]+`)`,
			pos, head.at).Scan(&at); err != nil {
			return nil, err
		}
		out[name] = max(head.at.Sub(at), 0)
	}
	return out, nil
}

func (p *Projections) cursor(ctx context.Context, name string) (uint64, int64, error) {
	p.mu.Lock()
	m, ok := p.memory[name]
	p.mu.Unlock()
	if ok {
		xid, pos := m.cursor()
		return xid, pos, nil
	}
	var xid uint64
	var pos int64
	err := p.pool.QueryRow(ctx, `SELECT last_transaction_id, last_position FROM projector_checkpoints WHERE name = $1`, name).Scan(&xid, &pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, nil
	}
	return xid, pos, err
}

type txKey struct{}

func withTx(ctx context.Context, tx pgx.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// projectionTx returns the transaction a durable projection writes in.
func projectionTx(ctx context.Context) (pgx.Tx, error) {
	if tx, ok := ctx.Value(txKey{}).(pgx.Tx); ok {
		return tx, nil
	}
	return nil, errors.New("projection store used outside a projection's transaction")
}

// resetProjection empties a projection's rows and its checkpoint in one
// transaction, so that its projector rebuilds it from position 0.
func resetProjection(ctx context.Context, pool *pgxpool.Pool, projection string, clearRows func(*db.Queries, context.Context) error) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		if err := clearRows(q, ctx); err != nil {
			return err
		}
		return q.ResetCheckpoint(ctx, projection)
	})
}
