package proxy

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/gatehouse/gatehouse/app/proxy/jsontop"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// Responder is a provider that serves OpenAI's Responses API.
type Responder interface {
	Responses(ctx context.Context, body []byte) (Response, error)
	ResponsesStream(ctx context.Context, body []byte) (ChunkStream, error)
}

// responsesRequest is what the gateway reads of a Responses API request.
type responsesRequest struct {
	body      []byte
	model     string
	stream    bool
	modelAt   span
	maxOutput int64
	images    int
}

var (
	responsesOnce = []string{"model", "stream", "max_output_tokens"}
	inputImage    = []byte(`"input_image"`)
)

func readResponsesRequest(body []byte) (responsesRequest, *Refusal) {
	r := responsesRequest{body: body}
	var modelRaw, streamRaw []byte
	var bad bool
	refusal := scanMembers(body, responsesOnce, func(m jsontop.Member, v []byte) bool {
		switch string(m.Key) {
		case "model":
			modelRaw, r.modelAt = v, span{m.ValueStart, m.ValueEnd}
		case "stream":
			streamRaw = v
		case "max_output_tokens":
			if string(v) != "null" && (json.Unmarshal(v, &r.maxOutput) != nil || r.maxOutput < 0 || r.maxOutput > maxOutputTokens) {
				bad = true
				return false
			}
		case "input":
			r.images = bytes.Count(v, inputImage)
		}
		return true
	})
	switch {
	case refusal != nil:
		return r, refusal
	case bad:
		return r, InvalidRequest("max_output_tokens", "max_output_tokens must be an integer from 0 to %d", maxOutputTokens)
	}
	if len(modelRaw) == 0 || modelRaw[0] != '"' || json.Unmarshal(modelRaw, &r.model) != nil || r.model == "" || !CleanText(r.model) || len(r.model) > 300 {
		return r, InvalidRequest("model", "you must provide a model parameter as a string (valid UTF-8, at most 300 bytes)")
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

func (r responsesRequest) estimate() quota.Estimate {
	out := r.maxOutput
	if out <= 0 {
		out = quota.DefaultMaxOutput
	}
	return quota.Estimate{PromptTokens: quota.EstimatePrompt(len(r.body), r.images), MaxOutput: out}
}

// Responses runs a Responses API request (POST /v1/responses) for an
// authenticated key, passed through to an OpenAI-family provider with only
// the model renamed; its usage is read from the answer, or from the
// stream's closing event.
func (s *Service) Responses(ctx context.Context, k key.Key, in Inbound) (*Exchange, error) {
	x, err := s.begin(ctx, k, in)
	if err != nil {
		return nil, err
	}
	if err := s.guard(ctx, x); err != nil {
		return nil, err
	}
	req, refusal := readResponsesRequest(x.in.Body)
	if refusal != nil {
		return nil, x.refuse(refusal)
	}
	x.model, x.Stream, x.estimate = req.model, req.stream, req.estimate()
	return s.dispatch(ctx, x, func(x *Exchange, t target) ([]byte, wholeCall, streamCall, error) {
		rs, ok := t.up.(Responder)
		if !ok {
			return nil, nil, nil, InvalidRequest("model", "%s is a %s provider, which does not serve the Responses API.", t.route.Connection.Name, t.route.Connection.Kind)
		}
		body, err := rewriteModel(req.body, req.modelAt, t.route.UpstreamModel)
		if err != nil {
			return nil, nil, nil, InvalidRequest("", "We could not parse the JSON body of your request.")
		}
		x.Native, x.dialect = true, dialectResponses
		return body, rs.Responses, rs.ResponsesStream, nil
	})
}

// responsesUsage is the Responses API's usage object.
type responsesUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	InputTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
}

func (u responsesUsage) tokens() usage.Tokens {
	t := usage.Tokens{Prompt: u.InputTokens, Completion: u.OutputTokens}
	if u.InputTokensDetails != nil {
		t.CachedPrompt = u.InputTokensDetails.CachedTokens
	}
	return t
}

// responsesUsageOf reads usage from a whole response, or from a stream's
// closing event (response.completed, .incomplete or .failed, which carry
// the response).
func responsesUsageOf(b []byte) (usage.Tokens, bool) {
	if !bytes.Contains(b, usageName) {
		return usage.Tokens{}, false
	}
	doc := b
	if typ, ok, err := jsontop.Get(b, "type"); err == nil && ok && string(typ) != `"response"` {
		resp, has, err := jsontop.Get(b, "response")
		if err != nil || !has {
			return usage.Tokens{}, false
		}
		doc = resp
	}
	raw, ok, err := jsontop.Get(doc, "usage")
	var u responsesUsage
	if err != nil || !ok || string(raw) == "null" || json.Unmarshal(raw, &u) != nil {
		return usage.Tokens{}, false
	}
	return u.tokens(), true
}
