package bedrock

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/adapters/providers/httpcall"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// Embeddings go through InvokeModel, whose body is the model family's own:
// Titan embeds one text per call, Cohere a batch.
type titanEmbedRequest struct {
	InputText  string `json:"inputText"`
	Dimensions *int64 `json:"dimensions,omitempty"`
}

type titanEmbedAnswer struct {
	Embedding           []float64 `json:"embedding"`
	InputTextTokenCount *int64    `json:"inputTextTokenCount"`
}

type cohereEmbedRequest struct {
	Texts          []string `json:"texts"`
	InputType      string   `json:"input_type"`
	EmbeddingTypes []string `json:"embedding_types"`
}

type cohereEmbedAnswer struct {
	Embeddings struct {
		Float [][]float64 `json:"float"`
	} `json:"embeddings"`
}

// inputTokenHeader is where InvokeModel reports the input tokens counted.
const inputTokenHeader = "X-Amzn-Bedrock-Input-Token-Count"

// titanConcurrency bounds the calls in flight for one Titan request.
const titanConcurrency = 8

var cohereInputTypes = map[string]bool{"search_document": true, "search_query": true, "classification": true, "clustering": true}

// Embeddings translates an OpenAI embeddings request for a Titan or Cohere
// embedding model; usage is the input tokens Bedrock counted.
func (p *Provider) Embeddings(ctx context.Context, body []byte) (proxy.Response, error) {
	in, err := chat.DecodeEmbeddings(body)
	if err != nil {
		return proxy.Response{}, proxy.InvalidRequest("input", "%v", err)
	}
	var vectors [][]float64
	var tokens int64
	switch family := embeddingFamily(in.Model); family {
	case "titan":
		vectors, tokens, err = p.titanEmbeddings(ctx, in)
	case "cohere":
		vectors, tokens, err = p.cohereEmbeddings(ctx, in)
	default:
		return proxy.Response{}, proxy.InvalidRequest("model",
			"%s is not an embedding model the gateway can call on Bedrock (amazon.titan-embed-* or cohere.embed-*).", in.Model)
	}
	if err != nil {
		return proxy.Response{}, err
	}
	out, err := chat.Embeddings(in.Model, in.EncodingFormat, vectors, tokens)
	if err != nil {
		return proxy.Response{}, err
	}
	return proxy.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: out}, nil
}

// embeddingFamily names the body format of a model id, which may carry a
// cross-region inference profile prefix (us., eu., …).
func embeddingFamily(model string) string {
	switch {
	case strings.Contains(model, "amazon.titan-embed"):
		return "titan"
	case strings.Contains(model, "cohere.embed"):
		return "cohere"
	}
	return ""
}

func (p *Provider) invoke(ctx context.Context, model string, req any) ([]byte, int64, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, 0, err
	}
	resp, err := p.call.Post(ctx, p.base+modelPath(model, "invoke"), nil, b, false)
	if err != nil {
		return nil, 0, err
	}
	tokens := int64(-1)
	if n, err := strconv.ParseInt(resp.Header.Get(inputTokenHeader), 10, 64); err == nil && n >= 0 {
		tokens = n
	}
	raw, err := httpcall.ReadAnswer(resp)
	return raw, tokens, err
}

// titanEmbeddings makes one call per input, a few at a time; the token
// count is the sum of the calls'. One unknown count makes the whole
// unknown. The first failure cancels the calls still running and is the
// answer.
func (p *Provider) titanEmbeddings(ctx context.Context, in *chat.EmbeddingsRequest) ([][]float64, int64, error) {
	vectors := make([][]float64, len(in.Input))
	counts := make([]int64, len(in.Input))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) { once.Do(func() { firstErr = err; cancel() }) }
	slots := make(chan struct{}, titanConcurrency)
	for i, text := range in.Input {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			raw, tokens, err := p.invoke(ctx, in.Model, titanEmbedRequest{InputText: text, Dimensions: in.Dimensions})
			if err != nil {
				fail(err)
				return
			}
			var a titanEmbedAnswer
			if json.Unmarshal(raw, &a) != nil || len(a.Embedding) == 0 {
				fail(&proxy.UpstreamError{Message: "the upstream answered with something other than a Titan embedding"})
				return
			}
			if a.InputTextTokenCount != nil {
				tokens = *a.InputTextTokenCount
			}
			vectors[i], counts[i] = a.Embedding, tokens
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	total := int64(0)
	for _, n := range counts {
		if n < 0 {
			return vectors, -1, nil
		}
		total += n
	}
	return vectors, total, nil
}

func (p *Provider) cohereEmbeddings(ctx context.Context, in *chat.EmbeddingsRequest) ([][]float64, int64, error) {
	typ := in.InputType
	if typ == "" {
		typ = "search_document"
	}
	if !cohereInputTypes[typ] {
		return nil, 0, proxy.InvalidRequest("input_type", "input_type must be search_document, search_query, classification or clustering")
	}
	if in.Dimensions != nil {
		return nil, 0, proxy.InvalidRequest("dimensions", "dimensions is not supported by Cohere's embedding models on Bedrock.")
	}
	raw, tokens, err := p.invoke(ctx, in.Model, cohereEmbedRequest{Texts: in.Input, InputType: typ, EmbeddingTypes: []string{"float"}})
	if err != nil {
		return nil, 0, err
	}
	var a cohereEmbedAnswer
	if json.Unmarshal(raw, &a) != nil || len(a.Embeddings.Float) != len(in.Input) {
		return nil, 0, &proxy.UpstreamError{Message: "the upstream answered with something other than one embedding per text"}
	}
	return a.Embeddings.Float, tokens, nil
}
