package eventlog_test

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// record is a stand-in for stored bytes; the header is parsed from it.
func record(tenant string, seq int64) []byte { return []byte(fmt.Sprintf("%s|%d", tenant, seq)) }

func header(b []byte) (eventlog.Header, error) {
	i := bytes.LastIndexByte(b, '|')
	if i < 0 {
		return eventlog.Header{}, errors.New("no separator")
	}
	seq, err := strconv.ParseInt(strings.TrimSpace(string(b[i+1:])), 10, 64)
	return eventlog.Header{TenantID: string(b[:i]), Seq: seq}, err
}

func chain(tenant string, n int) []eventlog.Link {
	prev := eventlog.GenesisHash
	var out []eventlog.Link
	for i := 1; i <= n; i++ {
		r := record(tenant, int64(i))
		h := eventlog.ChainHash(prev, r)
		out = append(out, eventlog.Link{Seq: int64(i), Record: r, PrevHash: prev, Hash: h})
		prev = h
	}
	return out
}

func verify(tenant string, links []eventlog.Link) error {
	v := eventlog.NewVerifier(tenant, header)
	for _, l := range links {
		if err := v.Next(l); err != nil {
			return err
		}
	}
	return nil
}

func TestVerifier_AcceptsAnIntactChain(t *testing.T) {
	if err := verify("acme", chain("acme", 5)); err != nil {
		t.Fatal(err)
	}
}

func TestVerifier_NamesTheFirstBadLink(t *testing.T) {
	cases := map[string]struct {
		mutate func([]eventlog.Link) []eventlog.Link
		seq    int64
	}{
		"altered record": {func(l []eventlog.Link) []eventlog.Link { l[2].Record = []byte("acme|9"); return l }, 3},
		"dropped link":   {func(l []eventlog.Link) []eventlog.Link { return append(l[:1], l[2:]...) }, 2},
		"swapped links":  {func(l []eventlog.Link) []eventlog.Link { l[1], l[2] = l[2], l[1]; return l }, 2},
		"other tenant":   {func(l []eventlog.Link) []eventlog.Link { return chain("evil", 5) }, 1},
		"rehashed forgery": {func(l []eventlog.Link) []eventlog.Link {
			// A forger recomputes the altered link's own hash; the next link's
			// prev_hash, which the forger cannot fix without the rest, gives it away.
			l[1].Record = []byte("acme|2 ")
			l[1].Hash = eventlog.ChainHash(l[1].PrevHash, l[1].Record)
			return l
		}, 3},
	}
	for name, c := range cases {
		err := verify("acme", c.mutate(chain("acme", 5)))
		var ce *eventlog.ChainError
		if !errors.As(err, &ce) || ce.Seq != c.seq {
			t.Errorf("%s: got %v, want a chain error at seq %d", name, err, c.seq)
		}
	}
}
