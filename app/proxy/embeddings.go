package proxy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse/app/proxy/jsontop"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/quota"
)

// Embedder is a provider that serves embeddings, in OpenAI's dialect.
type Embedder interface {
	Embeddings(ctx context.Context, body []byte) (Response, error)
}

// embeddingsRequest is what the gateway reads of an embeddings request:
// the model, renamed on the way.
type embeddingsRequest struct {
	body    []byte
	model   string
	modelAt span
}

var embeddingsOnce = []string{"model", "input"}

func readEmbeddingsRequest(body []byte) (embeddingsRequest, *Refusal) {
	r := embeddingsRequest{body: body}
	var modelRaw []byte
	refusal := scanMembers(body, embeddingsOnce, func(m jsontop.Member, v []byte) bool {
		if string(m.Key) == "model" {
			modelRaw, r.modelAt = v, span{m.ValueStart, m.ValueEnd}
		}
		return true
	})
	if refusal != nil {
		return r, refusal
	}
	if len(modelRaw) == 0 || modelRaw[0] != '"' || json.Unmarshal(modelRaw, &r.model) != nil || r.model == "" {
		return r, InvalidRequest("model", "you must provide a model parameter as a string")
	}
	if !CleanText(r.model) || len(r.model) > 300 {
		return r, InvalidRequest("model", "the model name must be valid UTF-8 without NUL characters, at most 300 bytes")
	}
	return r, nil
}

// Embeddings runs an embeddings request for an authenticated key. Its
// worst case is a token per byte of input and no output.
func (s *Service) Embeddings(ctx context.Context, k key.Key, in Inbound) (*Exchange, error) {
	x, err := s.begin(ctx, k, in)
	if err != nil {
		return nil, err
	}
	if err := s.guard(ctx, x); err != nil {
		return nil, err
	}
	req, refusal := readEmbeddingsRequest(x.in.Body)
	if refusal != nil {
		return nil, x.refuse(refusal)
	}
	x.model, x.estimate = req.model, quota.Estimate{PromptTokens: int64(len(x.in.Body))}
	return s.dispatch(ctx, x, func(x *Exchange, t target) ([]byte, wholeCall, streamCall, error) {
		e, ok := t.up.(Embedder)
		if !ok {
			return nil, nil, nil, InvalidRequest("model", "%s is a %s provider, which serves no embeddings.", t.route.Connection.Name, t.route.Connection.Kind)
		}
		body, err := rewriteModel(req.body, req.modelAt, t.route.UpstreamModel)
		if err != nil {
			return nil, nil, nil, InvalidRequest("", "We could not parse the JSON body of your request.")
		}
		return body, e.Embeddings, nil, nil
	})
}

// rewriteModel names the upstream's model in a body, changing nothing else.
func rewriteModel(body []byte, at span, upstreamModel string) ([]byte, error) {
	model, err := json.Marshal(upstreamModel)
	if err != nil {
		return nil, fmt.Errorf("model name: %w", err)
	}
	out := make([]byte, 0, len(body)+len(model))
	out = append(out, body[:at.start]...)
	out = append(out, model...)
	return append(out, body[at.end:]...), nil
}
