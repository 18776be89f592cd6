package chat

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
)

// EmbeddingsRequest is an OpenAI embeddings request, as translating
// providers read it. InputType is Cohere's search_document/search_query
// distinction, which OpenAI's dialect has no field for; it is read when a
// client sends it.
type EmbeddingsRequest struct {
	Model          string          `json:"model"`
	Input          Strings         `json:"-"`
	RawInput       json.RawMessage `json:"input"`
	Dimensions     *int64          `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
	User           string          `json:"user"`
	InputType      string          `json:"input_type"`
}

// ErrTokenInput is input given as token ids, which only OpenAI's own
// models read.
var ErrTokenInput = errors.New("input must be a string or an array of strings for this provider (not token ids)")

// DecodeEmbeddings reads an embeddings request whose input is text.
func DecodeEmbeddings(body []byte) (*EmbeddingsRequest, error) {
	var r EmbeddingsRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(r.RawInput); len(t) == 0 || string(t) == "null" {
		return nil, errors.New("input is required")
	}
	if err := json.Unmarshal(r.RawInput, &r.Input); err != nil {
		return nil, ErrTokenInput
	}
	if len(r.Input) == 0 {
		return nil, errors.New("input must hold at least one string")
	}
	switch r.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, errors.New("encoding_format must be float or base64")
	}
	return &r, nil
}

// Embeddings builds an OpenAI embeddings answer from vectors, one per
// input, encoded as the request asked (floats, or base64 of little-endian
// float32 as OpenAI sends them). A provider that reports no token count
// passes a negative one: the answer then carries no usage.
func Embeddings(model, encoding string, vectors [][]float64, promptTokens int64) ([]byte, error) {
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	data := make([]item, len(vectors))
	for i, v := range vectors {
		data[i] = item{Object: "embedding", Index: i, Embedding: v}
		if encoding == "base64" {
			buf := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(float32(f)))
			}
			data[i].Embedding = base64.StdEncoding.EncodeToString(buf)
		}
	}
	out := map[string]any{"object": "list", "data": data, "model": model}
	if promptTokens >= 0 {
		out["usage"] = map[string]int64{"prompt_tokens": promptTokens, "total_tokens": promptTokens}
	}
	return json.Marshal(out)
}
