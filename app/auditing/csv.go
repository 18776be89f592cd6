package auditing

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// csvSink flattens events for a spreadsheet: the record's fields, its data
// as JSON, and the chain's hashes.
type csvSink struct {
	bw *bufio.Writer
	w  *csv.Writer
}

var csvHeader = []string{"seq", "occurred_at", "type", "actor", "stream", "version", "event_id", "trace_id", "data", "prev_hash", "hash"}

func newCSV(w io.Writer) (*csvSink, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	c := &csvSink{bw: bw, w: csv.NewWriter(bw)}
	return c, c.w.Write(csvHeader)
}

func (c *csvSink) Event(l eventlog.Link) error {
	var r struct {
		Stream     string          `json:"stream"`
		Version    int64           `json:"version"`
		ID         string          `json:"id"`
		Type       string          `json:"type"`
		OccurredAt string          `json:"occurred_at"`
		Actor      string          `json:"actor"`
		TraceID    string          `json:"trace_id"`
		Data       json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(l.Record, &r); err != nil {
		return fmt.Errorf("export: seq %d: %w", l.Seq, err)
	}
	return c.w.Write([]string{strconv.FormatInt(l.Seq, 10), r.OccurredAt, r.Type, r.Actor, r.Stream, strconv.FormatInt(r.Version, 10),
		r.ID, r.TraceID, string(r.Data), l.PrevHash.String(), l.Hash.String()})
}

func (c *csvSink) Close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.bw.Flush()
}
