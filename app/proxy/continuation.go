package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/app/proxy/jsontop"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// continuePrompt asks the next target to go on from the text a cut
// stream had delivered, which it gets as its own previous turn.
const continuePrompt = "Your previous answer was cut off. Continue it exactly where it stopped: do not repeat anything, do not comment, just go on."

// continuation is what a stream under on_stream_cut "continue" needs to
// go on when its upstream breaks after bytes reached the client: the
// targets left, and the text streamed so far.
type continuation struct {
	svc      *Service
	ctx      context.Context
	rest     []planned
	deadline time.Time
	text     strings.Builder
	id       []byte // the first stream's id, model and created, kept on
	model    []byte
	created  []byte
	toolUse  bool // a stream that called tools is not continued
}

// continuable says whether a stream can be continued by another target:
// chat in OpenAI's dialect, which every provider takes.
func (x *Exchange) continuable() bool {
	return x.dialect == dialectOpenAI && !x.Native && (x.in.Endpoint == "/v1/chat/completions" || x.in.Endpoint == "/v1/messages")
}

type continuedChunk struct {
	Choices []struct {
		Delta struct {
			Content   *string           `json:"content"`
			ToolCalls []json.RawMessage `json:"tool_calls"`
		} `json:"delta"`
	} `json:"choices"`
}

// note keeps what a chunk passed on says: its text, and the first
// chunk's identity.
func (c *continuation) note(chunk []byte) {
	if c.id == nil {
		// Copies: a chunk's bytes are the reader's, valid until its next read.
		for _, f := range []struct {
			key string
			dst *[]byte
		}{{"id", &c.id}, {"model", &c.model}, {"created", &c.created}} {
			if raw, ok, err := jsontop.Get(chunk, f.key); err == nil && ok {
				*f.dst = bytes.Clone(raw)
			}
		}
	}
	var ch continuedChunk
	if json.Unmarshal(chunk, &ch) != nil {
		return
	}
	for _, choice := range ch.Choices {
		if choice.Delta.Content != nil {
			c.text.WriteString(*choice.Delta.Content)
		}
		if len(choice.Delta.ToolCalls) > 0 {
			c.toolUse = true
		}
	}
}

// resume asks the targets left, in order, to continue the text; the
// first whose stream opens goes on in the client's stream. The cut
// stream's tokens are carried into the request's usage.
func (c *continuation) resume(x *Exchange) (ChunkStream, error) {
	if c.toolUse || c.text.Len() == 0 {
		return nil, errors.New("nothing to continue")
	}
	cut := x.chunks
	x.carried = x.carried.Add(usage.Tokens{Prompt: x.estimate.PromptTokens, Completion: streamedTokens(x.streamedText - x.carriedText)})
	x.carriedText = x.streamedText
	for _, t := range c.rest {
		body, err := continuationBody(x.sent, t.route.UpstreamModel, c.text.String())
		if err == nil {
			body, err = withOverridesErr(body, t.Override)
		}
		if err != nil {
			continue
		}
		up, err := c.svc.Upstreams.For(c.ctx, t.route.Connection)
		if err != nil {
			continue
		}
		tenant, name, model := x.key.TenantID, t.route.Connection.Name, t.route.UpstreamModel
		start := c.svc.Now()
		pass, ok := c.svc.breakers.Allow(tenant, t.Attempt, name, model, start)
		if !ok {
			continue
		}
		x.usageSeen, x.tokens = false, usage.Tokens{}
		err = c.svc.try(c.ctx, x, t.Attempt, body, nil, up.ChatCompletionStream, c.deadline)
		status := statusOf(err)
		if c.ctx.Err() != nil {
			c.svc.breakers.Abandon(tenant, t.Attempt, name, model, pass)
		} else {
			c.svc.reportCall(tenant, t.Attempt, name, model, pass, status)
		}
		x.record(t, status, err, c.svc.Now().Sub(start), false)
		x.routing.Attempts[len(x.routing.Attempts)-1].Continuation = true
		if err != nil {
			if c.ctx.Err() != nil {
				return nil, c.ctx.Err()
			}
			continue
		}
		cut.Close()
		x.routing.Target, x.Provider, x.UpstreamModel, x.answeredBy = t.Target, name, model, &t
		if p, ok := c.svc.Prices.Price(t.route.Connection, model); !ok {
			x.priced = false
		} else if p.Cost(x.carried) > x.price.Cost(x.carried) {
			x.price = p // the whole request at the dearer of the two
		}
		return &seamless{inner: x.chunks, id: c.id, model: c.model, created: c.created}, nil
	}
	return nil, errors.New("no target continued the stream")
}

// continuationBody is the request as the cut target got it, for another
// model, with the text so far as the assistant's turn and a request to
// go on.
func continuationBody(sent []byte, model, text string) ([]byte, error) {
	raw, ok, err := jsontop.Get(sent, "messages")
	if err != nil || !ok {
		return nil, errors.New("the request has no messages")
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return nil, err
	}
	for _, m := range []map[string]string{{"role": "assistant", "content": text}, {"role": "user", "content": continuePrompt}} {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, b)
	}
	all, err := json.Marshal(msgs)
	if err != nil {
		return nil, err
	}
	name, err := json.Marshal(model)
	if err != nil {
		return nil, err
	}
	body, err := jsontop.Set(sent, "messages", all)
	if err != nil {
		return nil, err
	}
	return jsontop.Set(body, "model", name)
}

// seamless passes a continuation's chunks on as if they were the cut
// stream's: its id, model and time, without a second opening role.
type seamless struct {
	inner              ChunkStream
	id, model, created []byte
	started            bool
}

func (s *seamless) Next() ([]byte, error) {
	for {
		c, err := s.inner.Next()
		if err != nil {
			return c, err
		}
		if !s.started {
			s.started = true
			if isRoleOnly(c) {
				continue
			}
		}
		for _, m := range []struct {
			key string
			raw []byte
		}{{"id", s.id}, {"model", s.model}, {"created", s.created}} {
			if len(m.raw) > 0 {
				if out, err := jsontop.Set(c, m.key, m.raw); err == nil {
					c = out
				}
			}
		}
		return c, nil
	}
}

func (s *seamless) Close() error { return s.inner.Close() }

// isRoleOnly is a chunk that only opens the assistant's turn.
func isRoleOnly(c []byte) bool {
	var ch struct {
		Choices []struct {
			Delta map[string]any `json:"delta"`
		} `json:"choices"`
	}
	if json.Unmarshal(c, &ch) != nil || len(ch.Choices) != 1 {
		return false
	}
	for k, v := range ch.Choices[0].Delta {
		if k != "role" && !(k == "content" && (v == nil || v == "")) {
			return false
		}
	}
	return true
}
