package proxy

import (
	"context"

	"github.com/gatehouse/gatehouse/domain/key"
)

// Completer is a provider that serves OpenAI's legacy completions.
type Completer interface {
	Completions(ctx context.Context, body []byte) (Response, error)
	CompletionsStream(ctx context.Context, body []byte) (ChunkStream, error)
}

// Completions runs a legacy completion (POST /v1/completions) for an
// authenticated key: read, admitted and passed through as a chat
// completion is (its members are the same: model, stream,
// stream_options, max_tokens, n, best_of).
func (s *Service) Completions(ctx context.Context, k key.Key, in Inbound) (*Exchange, error) {
	x, err := s.begin(ctx, k, in)
	if err != nil {
		return nil, err
	}
	if err := s.guard(ctx, x); err != nil {
		return nil, err
	}
	req, refusal := readChatRequest(x.in.Body)
	if refusal != nil {
		return nil, x.refuse(refusal)
	}
	x.model, x.Stream, x.wantUsage, x.estimate = req.model, req.stream, req.includeUsage, req.estimate()
	return s.dispatch(ctx, x, func(x *Exchange, t target) ([]byte, wholeCall, streamCall, error) {
		c, ok := t.up.(Completer)
		if !ok {
			return nil, nil, nil, InvalidRequest("model", "%s is a %s provider, which serves no legacy completions.", t.route.Connection.Name, t.route.Connection.Kind)
		}
		body, err := req.rewrite(t.route.UpstreamModel)
		if err != nil {
			return nil, nil, nil, InvalidRequest("", "We could not parse the JSON body of your request.")
		}
		return body, c.Completions, c.CompletionsStream, nil
	})
}
