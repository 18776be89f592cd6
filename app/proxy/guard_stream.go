package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/domain/guardrail"
)

// A stream's text flows in lanes: an answer's content, a refusal,
// reasoning, each tool call's arguments, per choice or content block or
// output item. Each lane is held back and checked on its own, so a match
// split across chunks of a lane is found whole.

// streamGuard is one output guardrail over a stream: per lane, a redactor
// for the span checks that holds back what could still be a match, and
// the lane's text for the checks that need it whole, run at the end.
type streamGuard struct {
	pub   guardrail.Published
	spans *guardrail.Guardrail // pii, secrets, words, regex on match; nil when none
	whole *guardrail.Guardrail // length, json_schema, webhook, prompt_injection; nil when none
	lanes map[string]*guardLane
	order []string // lanes in the order they began
	done  bool     // its verdict is recorded
	start time.Time
}

type guardLane struct {
	redactor *guardrail.StreamRedactor
	answer   bool
	text     strings.Builder
}

func (sg *streamGuard) lane(name string, answer bool) *guardLane {
	if l, ok := sg.lanes[name]; ok {
		return l
	}
	l := &guardLane{answer: answer}
	if sg.spans != nil {
		l.redactor, _ = sg.spans.NewStreamRedactor()
		l.redactor.Keep = sg.pub.Guardrail.Action != guardrail.ActionRedact
	}
	sg.lanes[name] = l
	sg.order = append(sg.order, name)
	return l
}

// findings are the spans found in every lane.
func (sg *streamGuard) findings() []guardrail.Finding {
	var fs []guardrail.Finding
	for _, name := range sg.order {
		if r := sg.lanes[name].redactor; r != nil {
			fs = append(fs, r.Findings()...)
		}
	}
	return fs
}

// guardedStream passes a stream on through the key's output guardrails.
// Text is held back only as long as a match could still be forming;
// a block ends the stream with an error event (the matched text never
// went out), a redaction rewrites the text, a flag is recorded.
type guardedStream struct {
	svc     *Service
	ctx     context.Context
	x       *Exchange
	inner   ChunkStream
	guards  []*streamGuard
	tails   map[string]func(string) []byte // per lane: a chunk carrying text released later
	order   []string                       // lanes in the order they began
	pending [][]byte
	done    bool
}

// guardStream wraps a stream in its output guardrails, if the key has any.
func (s *Service) guardStream(ctx context.Context, x *Exchange) error {
	names := s.guardrailNames(x, guardrail.StageOutput)
	if len(names) == 0 || !x.Stream || x.chunks == nil {
		return nil
	}
	g := &guardedStream{svc: s, ctx: ctx, x: x, inner: x.chunks, tails: map[string]func(string) []byte{}}
	for _, name := range names {
		pub, err := s.Guardrails.Guardrail(x.key.TenantID, name)
		if err != nil {
			id, rerr := s.recordVerdict(ctx, x, name, 0, guardrail.StageOutput, guardrail.Error, guardrail.Blocked,
				[]guardrail.Result{{Check: "guardrail", Outcome: guardrail.Error}}, s.Now())
			if rerr != nil {
				return rerr
			}
			return blockedRefusal(name, id.String(), "answer")
		}
		g.guards = append(g.guards, &streamGuard{pub: pub, spans: pub.Guardrail.Spans(), whole: pub.Guardrail.Whole(),
			lanes: map[string]*guardLane{}, start: s.Now()})
	}
	x.chunks = g
	return nil
}

func blockedRefusal(name, verdict, what string) *Refusal {
	r := refuse(http.StatusBadRequest, "guardrail_blocked", "invalid_request_error", "",
		"The %s was blocked by guardrail %q (verdict %s).", what, name, verdict)
	r.Verdict = verdict
	return r
}

func (g *guardedStream) Close() error { return g.inner.Close() }

// discardHeld drops the text every lane holds back: a stream that goes on
// elsewhere goes on from what the client saw, so what was held never goes out.
func (g *guardedStream) discardHeld() {
	for _, sg := range g.guards {
		for _, l := range sg.lanes {
			if l.redactor != nil {
				l.redactor.Discard()
			}
		}
	}
}

func (g *guardedStream) Next() ([]byte, error) {
	for {
		if len(g.pending) > 0 {
			c := g.pending[0]
			g.pending = g.pending[1:]
			return c, nil
		}
		if g.done {
			return nil, io.EOF
		}
		c, err := g.inner.Next()
		if errors.Is(err, io.EOF) {
			g.done = true
			if err := g.finish(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := g.take(c); err != nil {
			return nil, err
		}
	}
}

// take passes a chunk's pieces of text through the guardrails and queues
// what can go out: the held text of the lanes the chunk ends, then the
// chunk (rewritten if a piece changed, left out if all its text is held).
func (g *guardedStream) take(c []byte) error {
	dec := json.NewDecoder(bytes.NewReader(c))
	dec.UseNumber()
	var root map[string]any
	if dec.Decode(&root) != nil || root == nil {
		g.pending = append(g.pending, c)
		return nil
	}
	pieces, plain, ends, forced := g.piecesOf(root)
	ending := func(lane string) bool {
		for _, p := range ends {
			if strings.HasPrefix(lane, p) {
				return true
			}
		}
		return false
	}
	changed, held, inChunk := forced, plain, map[string]bool{}
	for _, p := range pieces {
		if _, ok := g.tails[p.lane]; !ok {
			g.order = append(g.order, p.lane)
		}
		g.tails[p.lane], inChunk[p.lane] = p.tail, true
		out, err := g.pass(p.lane, p.answer, p.text)
		if err != nil {
			return err
		}
		if ending(p.lane) {
			more, err := g.flush(p.lane)
			if err != nil {
				return err
			}
			out += more
		}
		if out != "" {
			held = false
		}
		if out != p.text {
			p.set(out)
			changed = true
		}
	}
	for _, lane := range g.order {
		if inChunk[lane] || !ending(lane) {
			continue
		}
		t, err := g.flush(lane)
		if err != nil {
			return err
		}
		if t != "" {
			g.pending = append(g.pending, g.tails[lane](t))
		}
	}
	switch {
	case len(pieces) == 0: // a chunk that starts or closes: its strings are checked as they are
		out, err := g.scrub(root, c)
		if err != nil {
			return err
		}
		g.pending = append(g.pending, out)
	case held:
	case changed:
		b, err := json.Marshal(root)
		if err != nil {
			return err
		}
		g.pending = append(g.pending, b)
	default:
		g.pending = append(g.pending, c) // nothing held, nothing changed: the chunk as it came
	}
	return nil
}

// pass runs a lane's piece of text through every guardrail in turn.
func (g *guardedStream) pass(lane string, answer bool, text string) (string, error) {
	for _, sg := range g.guards {
		if sg.done {
			continue
		}
		l := sg.lane(lane, answer)
		if sg.whole != nil {
			l.text.WriteString(text)
		}
		if l.redactor == nil {
			continue
		}
		text = l.redactor.Write(text)
		if err := g.spanVerdict(sg, l); err != nil {
			return "", err
		}
	}
	return text, nil
}

// flush releases what a lane holds, through every guardrail in turn.
func (g *guardedStream) flush(lane string) (string, error) {
	var text string
	for _, sg := range g.guards {
		l, ok := sg.lanes[lane]
		if sg.done || !ok {
			continue
		}
		if sg.whole != nil {
			l.text.WriteString(text)
		}
		if l.redactor == nil {
			continue
		}
		text = l.redactor.Write(text) + l.redactor.Flush()
		if err := g.spanVerdict(sg, l); err != nil {
			return "", err
		}
	}
	return text, nil
}

// spanVerdict blocks as soon as a blocking guardrail has found a span (the
// span is still held back).
func (g *guardedStream) spanVerdict(sg *streamGuard, l *guardLane) error {
	if sg.pub.Guardrail.Action != guardrail.ActionBlock || len(l.redactor.Findings()) == 0 {
		return nil
	}
	return g.conclude(sg, []guardrail.Result{{Check: "stream", Outcome: guardrail.Fail, Findings: sg.findings()}})
}

// conclude records a guardrail's verdict and, on a block, ends the stream.
func (g *guardedStream) conclude(sg *streamGuard, results []guardrail.Result) error {
	outcome, action := sg.pub.Guardrail.Decide(results)
	if g.svc.Tracer != nil { // the guardrail's span runs from the stream's start to its verdict
		_, sp := g.svc.Tracer.Start(g.ctx, "gatehouse.guardrail", trace.WithTimestamp(sg.start), trace.WithAttributes(
			attribute.String("gatehouse.guardrail", sg.pub.Name), attribute.String("gatehouse.stage", guardrail.StageOutput),
			attribute.String("gatehouse.outcome", outcome), attribute.String("gatehouse.action", action)))
		sp.End()
	}
	id, err := g.svc.recordVerdict(g.ctx, g.x, sg.pub.Name, sg.pub.Version, guardrail.StageOutput, outcome, action, results, sg.start)
	if err != nil {
		return err
	}
	sg.done = true
	if action == guardrail.Blocked {
		g.done = true
		g.pending = nil
		return blockedRefusal(sg.pub.Name, id.String(), "answer")
	}
	if action == guardrail.Flagged {
		g.x.flagged = true
	}
	return nil
}

// finish releases what every lane holds, runs the whole-text checks and
// records every verdict, at the end of the stream.
func (g *guardedStream) finish() error {
	for _, lane := range g.order {
		t, err := g.flush(lane)
		if err != nil {
			return err
		}
		if t != "" {
			g.pending = append(g.pending, g.tails[lane](t))
		}
	}
	for _, sg := range g.guards {
		if sg.done {
			continue
		}
		var rs []guardrail.Result
		if sg.spans != nil {
			r := guardrail.Result{Check: "stream", Outcome: guardrail.Pass, Findings: sg.findings()}
			if len(r.Findings) > 0 {
				r.Outcome = guardrail.Fail
			}
			rs = append(rs, r)
		}
		if sg.whole != nil {
			slots := make([]textSlot, 0, len(sg.order))
			for _, name := range sg.order {
				l := sg.lanes[name]
				slots = append(slots, textSlot{text: l.text.String(), answer: l.answer})
			}
			whole, _ := g.svc.runGuardrail(g.ctx, g.x, guardrail.Published{Name: sg.pub.Name, Guardrail: sg.whole}, slots, guardrail.StageOutput)
			rs = append(rs, whole...)
		}
		if err := g.conclude(sg, rs); err != nil {
			return err
		}
	}
	return nil
}

// scrub checks a chunk that carries no lane's text (a block's start, a
// closing event that repeats the whole text): each of its strings, but
// its structure, is run through the span checks on its own; a finding is
// redacted, or ends the stream under a blocking guardrail.
func (g *guardedStream) scrub(root map[string]any, c []byte) ([]byte, error) {
	changed := false
	for _, sl := range textsIn(map[string]any{"chunk": root}, "chunk", nil) {
		out := sl.text
		for _, sg := range g.guards {
			if sg.done || sg.spans == nil {
				continue
			}
			var fs []guardrail.Finding
			for _, r := range sg.spans.Run(out, guardrail.StageOutput) {
				fs = append(fs, r.Findings...)
			}
			if len(fs) == 0 {
				continue
			}
			switch sg.pub.Guardrail.Action {
			case guardrail.ActionBlock:
				return nil, g.conclude(sg, []guardrail.Result{{Check: "stream", Outcome: guardrail.Fail, Findings: fs}})
			case guardrail.ActionRedact:
				out = guardrail.Redact(out, fs)
			}
		}
		if out != sl.text {
			sl.set(out)
			changed = true
		}
	}
	if !changed {
		return c, nil
	}
	return json.Marshal(root)
}
