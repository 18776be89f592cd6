package postgres

import (
	stdsql "database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Topics are families of event types a projector follows in the one log.
const (
	TopicGovernance = "governance" // everything but traffic
	TopicTraffic    = "traffic"    // request.* events
)

var topicFilter = map[string]string{
	TopicGovernance: `type NOT LIKE 'request.%'`,
	TopicTraffic:    `type LIKE 'request.%'`,
}

// eventsSchema lets watermill-sql's subscriber read our events table. Rows
// are read in (transaction_id, position) order and only below the oldest
// running transaction's id, so a row committed late by a slow transaction
// is read after the ones before it instead of being skipped.
//
// One watermill message carries a page of consecutive events, not one: a
// projector then folds a whole page with one statement, and the checkpoint
// moves to the page's last event in the same transaction.
type eventsSchema struct {
	batchSize int
}

var _ wsql.SchemaAdapter = eventsSchema{}

func (eventsSchema) InsertQuery(wsql.InsertQueryParams) (wsql.Query, error) {
	return wsql.Query{}, errors.New("events are appended by the event store, not published through watermill")
}

func (s eventsSchema) SelectQuery(p wsql.SelectQueryParams) (wsql.Query, error) {
	filter, ok := topicFilter[p.Topic]
	if !ok {
		return wsql.Query{}, fmt.Errorf("unknown topic %q", p.Topic)
	}
	next, err := p.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{Topic: p.Topic, ConsumerGroup: p.ConsumerGroup})
	if err != nil {
		return wsql.Query{}, err
	}
	q := `WITH last_processed AS (` + next.Query + `),
page AS (
  SELECT position, transaction_id, record
  FROM events
  WHERE ` + filter + `
    AND (transaction_id, position) > ((SELECT last_processed_transaction_id FROM last_processed), (SELECT offset_acked FROM last_processed))
    AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
  ORDER BY transaction_id, position
  LIMIT ` + strconv.Itoa(s.batchSize) + `
)
SELECT array_agg(position ORDER BY transaction_id, position),
       array_agg(transaction_id ORDER BY transaction_id, position),
       array_agg(record ORDER BY transaction_id, position)
FROM page
HAVING count(*) > 0`
	return wsql.Query{Query: q, Args: next.Args}, nil
}

func (eventsSchema) UnmarshalMessage(p wsql.UnmarshalMessageParams) (wsql.Row, error) {
	var (
		positions []int64
		xids      []uint64
		records   [][]byte
	)
	if err := p.Row.Scan(&positions, &xids, &records); err != nil {
		return wsql.Row{}, fmt.Errorf("scan event page: %w", err)
	}
	n := len(positions)
	if n == 0 || len(xids) != n || len(records) != n {
		return wsql.Row{}, fmt.Errorf("malformed event page of %d positions, %d xids, %d records", n, len(xids), len(records))
	}
	r := wsql.Row{Offset: positions[n-1], Payload: encodePage(positions, records)}
	id := fmt.Sprintf("events-%d-%d", positions[0], positions[n-1])
	r.UUID = []byte(id)
	r.Msg = message.NewMessage(id, r.Payload)
	r.Msg.Metadata.Set(metaLastXID, strconv.FormatUint(xids[n-1], 10))
	r.Msg.Metadata.Set(metaLastPosition, strconv.FormatInt(positions[n-1], 10))
	r.ExtraData = map[string]any{"transaction_id": xids[n-1]}
	return r, nil
}

// A page's message names where the page ends; the handler moves the
// projector's place there once the page is folded in.
const (
	metaLastXID      = "last_transaction_id"
	metaLastPosition = "last_position"
)

// pageEnd reads where a page's message ends.
func pageEnd(msg *message.Message) (xid uint64, position int64, err error) {
	xid, err1 := strconv.ParseUint(msg.Metadata.Get(metaLastXID), 10, 64)
	position, err2 := strconv.ParseInt(msg.Metadata.Get(metaLastPosition), 10, 64)
	return xid, position, errors.Join(err1, err2)
}

// encodePage lays a page out as (uvarint position, uvarint length, record)...
func encodePage(positions []int64, records [][]byte) []byte {
	size := 0
	for _, r := range records {
		size += len(r) + 2*binary.MaxVarintLen64
	}
	out := make([]byte, 0, size)
	for i, r := range records {
		out = binary.AppendUvarint(out, uint64(positions[i]))
		out = binary.AppendUvarint(out, uint64(len(r)))
		out = append(out, r...)
	}
	return out
}

// decodePage calls fn for each (position, record) of a page.
func decodePage(b []byte, fn func(position int64, record []byte) error) error {
	for len(b) > 0 {
		pos, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("event page: bad position")
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < size {
			return errors.New("event page: bad record length")
		}
		b = b[n:]
		if err := fn(int64(pos), b[:size]); err != nil {
			return err
		}
		b = b[size:]
	}
	return nil
}

func (eventsSchema) SchemaInitializingQueries(wsql.SchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil // the migrations own the schema
}

func (eventsSchema) SubscribeIsolationLevel() stdsql.IsolationLevel { return stdsql.LevelReadCommitted }

// checkpointOffsets reads a durable projector's place from
// projector_checkpoints. The place is moved by the projection handler itself,
// in the transaction that writes the page's rows, never by watermill's ack:
// watermill-sql commits its transaction even for a message it did not see
// acknowledged, and a page that failed must not be skipped.
type checkpointOffsets struct{}

var _ wsql.OffsetsAdapter = checkpointOffsets{}

func (checkpointOffsets) NextOffsetQuery(p wsql.NextOffsetQueryParams) (wsql.Query, error) {
	// FOR UPDATE: replicas running the same projector take turns.
	return wsql.Query{
		Query: `SELECT last_position AS offset_acked, last_transaction_id AS last_processed_transaction_id
		        FROM projector_checkpoints WHERE name = $1 FOR UPDATE`,
		Args: []any{p.ConsumerGroup},
	}, nil
}

// noAck is the acknowledgement query: the handler has moved the place already.
var noAck = wsql.Query{Query: `SELECT 1`}

func (checkpointOffsets) AckMessageQuery(wsql.AckMessageQueryParams) (wsql.Query, error) {
	return noAck, nil
}

func (checkpointOffsets) ConsumedMessageQuery(wsql.ConsumedMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{}, nil
}

func (checkpointOffsets) SchemaInitializingQueries(wsql.OffsetsSchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}

func (checkpointOffsets) BeforeSubscribingQueries(p wsql.BeforeSubscribingQueriesParams) ([]wsql.Query, error) {
	return []wsql.Query{{
		Query: `INSERT INTO projector_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`,
		Args:  []any{p.ConsumerGroup},
	}}, nil
}

// memoryOffsets keeps an in-memory read model's place in memory (the model
// is rebuilt from the log at every start); the handler advances it.
type memoryOffsets struct {
	mu       sync.Mutex
	xid      uint64
	position int64
}

var _ wsql.OffsetsAdapter = (*memoryOffsets)(nil)

func (m *memoryOffsets) cursor() (uint64, int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.xid, m.position
}

func (m *memoryOffsets) NextOffsetQuery(wsql.NextOffsetQueryParams) (wsql.Query, error) {
	xid, pos := m.cursor()
	return wsql.Query{
		Query: `SELECT $1::bigint AS offset_acked, $2::xid8 AS last_processed_transaction_id`,
		Args:  []any{pos, xid},
	}, nil
}

func (m *memoryOffsets) advance(xid uint64, position int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.xid, m.position = xid, position
}

func (m *memoryOffsets) AckMessageQuery(wsql.AckMessageQueryParams) (wsql.Query, error) {
	return noAck, nil
}

func (*memoryOffsets) ConsumedMessageQuery(wsql.ConsumedMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{}, nil
}

func (*memoryOffsets) SchemaInitializingQueries(wsql.OffsetsSchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}

func (*memoryOffsets) BeforeSubscribingQueries(wsql.BeforeSubscribingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}
