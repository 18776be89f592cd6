package proxy

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/gatehouse/gatehouse/app/proxy/jsontop"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/quota"
)

// MessagesUpstream is a provider that takes Anthropic's Messages API as it
// is: requests in that dialect pass through to it untranslated.
type MessagesUpstream interface {
	Messages(ctx context.Context, body []byte) (Response, error)
	MessagesStream(ctx context.Context, body []byte) (ChunkStream, error)
}

// ToChat translates a Messages API request into OpenAI's chat dialect, for
// providers that do not take the Messages API. A request it cannot
// translate is a *Refusal.
type ToChat func(body []byte) ([]byte, error)

// messagesRequest is what the gateway reads of a Messages API request.
type messagesRequest struct {
	body      []byte
	model     string
	stream    bool
	modelAt   span
	maxOutput int64
	images    int
}

var imageBlock = []byte(`"image"`)

var messagesOnce = []string{"model", "stream", "max_tokens"}

// readMessagesRequest reads the members the gateway acts on, in one scan,
// with the same rules as chat requests.
func readMessagesRequest(body []byte) (messagesRequest, *Refusal) {
	r := messagesRequest{body: body}
	var modelRaw, streamRaw, maxRaw []byte
	refusal := scanMembers(body, messagesOnce, func(m jsontop.Member, v []byte) bool {
		switch string(m.Key) {
		case "model":
			modelRaw, r.modelAt = v, span{m.ValueStart, m.ValueEnd}
		case "stream":
			streamRaw = v
		case "max_tokens":
			maxRaw = v
		case "messages", "system":
			r.images += bytes.Count(v, imageBlock)
		}
		return true
	})
	if refusal != nil {
		return r, refusal
	}
	if len(modelRaw) == 0 || modelRaw[0] != '"' || json.Unmarshal(modelRaw, &r.model) != nil || r.model == "" {
		return r, InvalidRequest("model", "model: Field required")
	}
	if !CleanText(r.model) || len(r.model) > 300 {
		return r, InvalidRequest("model", "the model name must be valid UTF-8 without NUL characters, at most 300 bytes")
	}
	if json.Unmarshal(maxRaw, &r.maxOutput) != nil || r.maxOutput < 0 || r.maxOutput > maxOutputTokens {
		return r, InvalidRequest("max_tokens", "max_tokens: an integer from 0 to %d is required", maxOutputTokens)
	}
	switch string(streamRaw) {
	case "", "null", "false":
	case "true":
		r.stream = true
	default:
		return r, InvalidRequest("stream", "stream must be a boolean")
	}
	return r, nil
}

func (r messagesRequest) estimate() quota.Estimate {
	return quota.Estimate{PromptTokens: quota.EstimatePrompt(len(r.body), r.images), MaxOutput: r.maxOutput}
}

// Messages starts a Messages API request for an authenticated key. A
// provider that takes the Messages API gets the body as it came, with only
// the model renamed (Exchange.Native); any other gets it translated by
// toChat, and the port translates the OpenAI answer back.
func (s *Service) Messages(ctx context.Context, k key.Key, in Inbound, toChat ToChat) (*Exchange, error) {
	x, err := s.begin(ctx, k, in)
	if err != nil {
		return nil, err
	}
	if err := s.guard(ctx, x); err != nil {
		return nil, err
	}
	req, refusal := readMessagesRequest(x.in.Body)
	if refusal != nil {
		return nil, x.refuse(refusal)
	}
	x.model, x.Stream, x.estimate = req.model, req.stream, req.estimate()
	return s.dispatch(ctx, x, func(x *Exchange, t target) ([]byte, wholeCall, streamCall, error) {
		body, err := rewriteModel(req.body, req.modelAt, t.route.UpstreamModel)
		if err != nil {
			return nil, nil, nil, InvalidRequest("", "The request body must be one JSON object.")
		}
		if mu, ok := t.up.(MessagesUpstream); ok {
			x.Native, x.dialect, x.wantUsage = true, dialectAnthropic, false
			return body, mu.Messages, mu.MessagesStream, nil
		}
		chatBody, err := toChat(body)
		if err != nil {
			if r, ok := IsRefusal(err); ok {
				return nil, nil, nil, r
			}
			return nil, nil, nil, InvalidRequest("", "The request could not be translated for this model's provider.")
		}
		x.Native, x.dialect = false, dialectOpenAI
		x.wantUsage = true // the usage chunk becomes the answer's message_delta
		return chatBody, t.up.ChatCompletion, t.up.ChatCompletionStream, nil
	})
}
