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

	"github.com/gatehouse/gatehouse/domain/guardrail"
)

// streamGuard is one output guardrail over a stream: a redactor that
// holds back what could still be a match (checks that find spans), and
// the whole text for the checks that need it (length, json_schema,
// webhook, prompt_injection), run when the stream ends.
type streamGuard struct {
	pub      guardrail.Published
	redactor *guardrail.StreamRedactor // nil when no check finds spans
	whole    bool                      // some check needs the whole text
	text     strings.Builder
	start    time.Time
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
	last    map[string]any // the last text chunk, to carry text released at the end
	pending [][]byte
	done    bool
}

// guardStream wraps a stream in its output guardrails, if the key has any.
func (s *Service) guardStream(ctx context.Context, x *Exchange) error {
	names := s.guardrailNames(x, guardrail.StageOutput)
	if len(names) == 0 || !x.Stream || x.chunks == nil {
		return nil
	}
	g := &guardedStream{svc: s, ctx: ctx, x: x, inner: x.chunks}
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
		sg := &streamGuard{pub: pub, start: s.Now()}
		var span []guardrail.Check
		for _, c := range pub.Guardrail.Checks {
			if c.Window() >= 0 {
				span = append(span, c)
			} else {
				sg.whole = true
			}
		}
		if len(span) > 0 {
			only := &guardrail.Guardrail{Checks: span, Action: pub.Guardrail.Action, OnError: pub.Guardrail.OnError}
			sg.redactor, _ = only.NewStreamRedactor()
			sg.redactor.Keep = pub.Guardrail.Action != guardrail.ActionRedact
		}
		g.guards = append(g.guards, sg)
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
			if err := g.finish(nil); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		root, text, ok := g.textOf(c)
		if !ok {
			if g.terminal(c) { // the end of a block or an answer: what is held goes first
				if err := g.release(c); err != nil {
					return nil, err
				}
				continue
			}
			return g.scrub(c)
		}
		out, err := g.pass(text)
		if err != nil {
			return nil, err
		}
		g.last = root
		switch out {
		case "":
			continue
		case text:
			return c, nil // nothing held, nothing changed: the chunk as it came
		}
		return g.withText(root, out), nil
	}
}

// pass runs a piece of text through every guardrail in turn.
func (g *guardedStream) pass(text string) (string, error) {
	for _, sg := range g.guards {
		sg.text.WriteString(text)
		if sg.redactor == nil {
			continue
		}
		text = sg.redactor.Write(text)
		if err := g.spanVerdict(sg, false); err != nil {
			return "", err
		}
	}
	return text, nil
}

// spanVerdict blocks as soon as a blocking guardrail has found a span (the
// span is still held back).
func (g *guardedStream) spanVerdict(sg *streamGuard, final bool) error {
	if sg.pub.Guardrail.Action != guardrail.ActionBlock || len(sg.redactor.Findings()) == 0 {
		return nil
	}
	return g.conclude(sg, []guardrail.Result{{Check: "stream", Outcome: guardrail.Fail, Findings: sg.redactor.Findings()}})
}

// conclude records a guardrail's verdict and, on a block, ends the stream.
func (g *guardedStream) conclude(sg *streamGuard, results []guardrail.Result) error {
	outcome, action := sg.pub.Guardrail.Decide(results)
	id, err := g.svc.recordVerdict(g.ctx, g.x, sg.pub.Name, sg.pub.Version, guardrail.StageOutput, outcome, action, results, sg.start)
	if err != nil {
		return err
	}
	sg.redactor, sg.whole = nil, false // concluded
	if action == guardrail.Blocked {
		g.done = true
		return blockedRefusal(sg.pub.Name, id.String(), "answer")
	}
	if action == guardrail.Flagged {
		g.x.flagged = true
	}
	return nil
}

// release passes on what is held, then the chunk that ends a block or
// the answer; the guardrails go on watching what follows.
func (g *guardedStream) release(terminal []byte) error {
	terminal, err := g.scrub(terminal) // a closing event may repeat the whole text
	if err != nil {
		return err
	}
	var tail string
	for _, sg := range g.guards {
		if sg.redactor != nil {
			tail = sg.redactor.Write(tail) + sg.redactor.Flush()
		}
	}
	if tail != "" && g.last != nil {
		g.pending = append(g.pending, g.withText(g.last, tail))
	}
	g.pending = append(g.pending, terminal)
	return nil
}

// finish releases what is held, runs the whole-text checks and records
// every verdict, at the end of the stream.
func (g *guardedStream) finish(terminal []byte) error {
	var tail string
	for _, sg := range g.guards {
		if sg.redactor != nil {
			tail = sg.redactor.Write(tail) + sg.redactor.Flush()
		}
	}
	var results = map[*streamGuard][]guardrail.Result{}
	for _, sg := range g.guards {
		if sg.redactor == nil && !sg.whole {
			continue // concluded already
		}
		var rs []guardrail.Result
		if sg.redactor != nil {
			r := guardrail.Result{Check: "stream", Outcome: guardrail.Pass, Findings: sg.redactor.Findings()}
			if len(r.Findings) > 0 {
				r.Outcome = guardrail.Fail
			}
			rs = append(rs, r)
		}
		if sg.whole {
			slots := []textSlot{{text: sg.text.String()}}
			whole, _ := g.svc.runGuardrail(g.ctx, g.x, guardrail.Published{Name: sg.pub.Name, Guardrail: wholeOnly(sg.pub.Guardrail)}, slots, guardrail.StageOutput)
			rs = append(rs, whole...)
		}
		results[sg] = rs
	}
	if tail != "" && g.last != nil {
		g.pending = append(g.pending, g.withText(g.last, tail))
	}
	for _, sg := range g.guards {
		if rs, ok := results[sg]; ok {
			if err := g.conclude(sg, rs); err != nil {
				g.pending = nil
				return err
			}
		}
	}
	if terminal != nil {
		g.pending = append(g.pending, terminal)
	}
	return nil
}

// wholeOnly is a guardrail reduced to the checks that need the whole text.
func wholeOnly(g *guardrail.Guardrail) *guardrail.Guardrail {
	out := &guardrail.Guardrail{Action: g.Action, OnError: g.OnError}
	for _, c := range g.Checks {
		if c.Window() < 0 {
			out.Checks = append(out.Checks, c)
		}
	}
	return out
}

// textOf reads a chunk's text delta in the exchange's dialect.
func (g *guardedStream) textOf(c []byte) (map[string]any, string, bool) {
	dec := json.NewDecoder(bytes.NewReader(c))
	dec.UseNumber()
	var root map[string]any
	if dec.Decode(&root) != nil {
		return nil, "", false
	}
	switch g.x.dialect {
	case dialectAnthropic:
		if d, ok := root["delta"].(map[string]any); ok && d["type"] == "text_delta" {
			s, ok := d["text"].(string)
			return root, s, ok
		}
	case dialectResponses:
		if root["type"] == "response.output_text.delta" {
			s, ok := root["delta"].(string)
			return root, s, ok
		}
	default:
		if choices, ok := root["choices"].([]any); ok && len(choices) == 1 {
			if ch, ok := choices[0].(map[string]any); ok && ch["finish_reason"] == nil {
				if d, ok := ch["delta"].(map[string]any); ok {
					if s, ok := d["content"].(string); ok && len(d) <= 2 {
						return root, s, true
					}
				}
			}
		}
	}
	return nil, "", false
}

// terminal says whether a chunk ends the text: a finish reason, the usage,
// the end of a content block or message.
func (g *guardedStream) terminal(c []byte) bool {
	switch g.x.dialect {
	case dialectAnthropic:
		return bytes.Contains(c, []byte(`"content_block_stop"`)) || bytes.Contains(c, []byte(`"message_delta"`)) || bytes.Contains(c, []byte(`"message_stop"`))
	case dialectResponses:
		return bytes.Contains(c, []byte(`"response.output_text.done"`)) || bytes.Contains(c, []byte(`"response.completed"`))
	}
	return bytes.Contains(c, []byte(`"finish_reason":"`)) || bytes.Contains(c, []byte(`"choices":[]`))
}

// withText is a text chunk carrying other text.
func (g *guardedStream) withText(root map[string]any, text string) []byte {
	switch g.x.dialect {
	case dialectAnthropic:
		root["delta"].(map[string]any)["text"] = text
	case dialectResponses:
		root["delta"] = text
	default:
		root["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)["content"] = text
	}
	b, _ := json.Marshal(root)
	return b
}

// scrub checks a chunk that carries no text delta the guard reads as it
// flows (a tool call's arguments, several choices, a closing event that
// repeats the text, reasoning): every string in it is run through the
// span checks on its own; a finding is redacted, or ends the stream under
// a blocking guardrail.
func (g *guardedStream) scrub(c []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(c))
	dec.UseNumber()
	var root any
	if dec.Decode(&root) != nil {
		return c, nil
	}
	changed := false
	var walk func(v any) (any, error)
	walk = func(v any) (any, error) {
		switch t := v.(type) {
		case string:
			out := t
			for _, sg := range g.guards {
				if sg.redactor == nil {
					continue
				}
				var fs []guardrail.Finding
				for _, r := range sg.pub.Guardrail.Run(out, guardrail.StageOutput) {
					fs = append(fs, r.Findings...)
				}
				if len(fs) == 0 {
					continue
				}
				switch sg.pub.Guardrail.Action {
				case guardrail.ActionBlock:
					return nil, g.conclude(sg, []guardrail.Result{{Check: "stream", Outcome: guardrail.Fail, Findings: fs}})
				case guardrail.ActionRedact:
					out, changed = guardrail.Redact(out, fs), true
				}
			}
			return out, nil
		case map[string]any:
			for k, e := range t {
				n, err := walk(e)
				if err != nil {
					return nil, err
				}
				t[k] = n
			}
		case []any:
			for i, e := range t {
				n, err := walk(e)
				if err != nil {
					return nil, err
				}
				t[i] = n
			}
		}
		return v, nil
	}
	out, err := walk(root)
	if err != nil {
		return nil, err
	}
	if !changed {
		return c, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return c, nil
	}
	return b, nil
}
