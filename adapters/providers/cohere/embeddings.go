package cohere

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/adapters/providers/httpcall"
	"github.com/gatehouse/gatehouse/app/proxy"
)

type embedRequest struct {
	Model           string   `json:"model"`
	Texts           []string `json:"texts"`
	InputType       string   `json:"input_type"`
	EmbeddingTypes  []string `json:"embedding_types"`
	OutputDimension *int64   `json:"output_dimension,omitempty"`
}

type embedAnswer struct {
	Embeddings struct {
		Float [][]float64 `json:"float"`
	} `json:"embeddings"`
	Meta *struct {
		BilledUnits *tokenCounts `json:"billed_units"`
	} `json:"meta"`
}

// inputTypes are Cohere's kinds of embedded text; documents are the default.
var inputTypes = map[string]bool{"search_document": true, "search_query": true, "classification": true, "clustering": true}

// toEmbedRequest translates an OpenAI embeddings request into v2 Embed.
func toEmbedRequest(body []byte) (*embedRequest, *chat.EmbeddingsRequest, error) {
	in, err := chat.DecodeEmbeddings(body)
	if err != nil {
		return nil, nil, proxy.InvalidRequest("input", "%v", err)
	}
	typ := in.InputType
	if typ == "" {
		typ = "search_document"
	}
	if !inputTypes[typ] {
		return nil, nil, proxy.InvalidRequest("input_type", "input_type must be search_document, search_query, classification or clustering")
	}
	return &embedRequest{Model: in.Model, Texts: in.Input, InputType: typ, EmbeddingTypes: []string{"float"}, OutputDimension: in.Dimensions}, in, nil
}

// Embeddings calls v2 Embed; usage is the billed input tokens.
func (p *Provider) Embeddings(ctx context.Context, body []byte) (proxy.Response, error) {
	req, in, err := toEmbedRequest(body)
	if err != nil {
		return proxy.Response{}, err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return proxy.Response{}, err
	}
	resp, err := p.call.Post(ctx, strings.TrimSuffix(p.url, "/chat")+"/embed", p.header, b, false)
	if err != nil {
		return proxy.Response{}, err
	}
	raw, err := httpcall.ReadAnswer(resp)
	if err != nil {
		return proxy.Response{}, err
	}
	var a embedAnswer
	if err := json.Unmarshal(raw, &a); err != nil || len(a.Embeddings.Float) != len(in.Input) {
		return proxy.Response{}, &proxy.UpstreamError{Message: "the upstream answered with something other than one embedding per text"}
	}
	tokens := int64(-1)
	if a.Meta != nil && a.Meta.BilledUnits != nil {
		tokens = a.Meta.BilledUnits.InputTokens
	}
	out, err := chat.Embeddings(in.Model, in.EncodingFormat, a.Embeddings.Float, tokens)
	if err != nil {
		return proxy.Response{}, err
	}
	return proxy.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: out}, nil
}
