package gemini

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/adapters/providers/httpcall"
	"github.com/gatehouse/gatehouse/app/proxy"
)

type embedRequest struct {
	Requests []embedContent `json:"requests"`
}

type embedContent struct {
	Model                string  `json:"model"`
	Content              content `json:"content"`
	OutputDimensionality *int64  `json:"outputDimensionality,omitempty"`
}

type embedAnswer struct {
	Embeddings []struct {
		Values []float64 `json:"values"`
	} `json:"embeddings"`
}

// toEmbedRequest translates an OpenAI embeddings request into
// batchEmbedContents: one request per input.
func toEmbedRequest(body []byte) (*embedRequest, *chat.EmbeddingsRequest, error) {
	in, err := chat.DecodeEmbeddings(body)
	if err != nil {
		return nil, nil, proxy.InvalidRequest("input", "%v", err)
	}
	out := &embedRequest{}
	for _, text := range in.Input {
		out.Requests = append(out.Requests, embedContent{Model: "models/" + in.Model, Content: content{Parts: []part{{Text: text}}},
			OutputDimensionality: in.Dimensions})
	}
	return out, in, nil
}

// Embeddings calls batchEmbedContents. The API reports no token counts for
// embeddings, so the request is recorded at its bound (and marked as
// estimated).
func (p *Provider) Embeddings(ctx context.Context, body []byte) (proxy.Response, error) {
	req, in, err := toEmbedRequest(body)
	if err != nil {
		return proxy.Response{}, err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return proxy.Response{}, err
	}
	resp, err := p.call.Post(ctx, p.base+"/models/"+url.PathEscape(in.Model)+":batchEmbedContents", p.header, b, false)
	if err != nil {
		return proxy.Response{}, err
	}
	raw, err := httpcall.ReadAnswer(resp)
	if err != nil {
		return proxy.Response{}, err
	}
	var a embedAnswer
	if err := json.Unmarshal(raw, &a); err != nil || len(a.Embeddings) != len(in.Input) {
		return proxy.Response{}, &proxy.UpstreamError{Message: "the upstream answered with something other than one embedding per input"}
	}
	vectors := make([][]float64, len(a.Embeddings))
	for i, e := range a.Embeddings {
		vectors[i] = e.Values
	}
	out, err := chat.Embeddings(in.Model, in.EncodingFormat, vectors, -1)
	if err != nil {
		return proxy.Response{}, err
	}
	return proxy.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: out}, nil
}
