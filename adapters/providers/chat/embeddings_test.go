package chat_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
)

func TestEmbeddings_AreEncodedAsAsked(t *testing.T) {
	vectors := [][]float64{{0.5, -1.25}, {3}}
	b, err := chat.Embeddings("m", "base64", vectors, 7)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data []struct {
			Index     int    `json:"index"`
			Embedding string `json:"embedding"`
		} `json:"data"`
		Usage *struct {
			PromptTokens int64 `json:"prompt_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(out.Data[0].Embedding)
	if len(raw) != 8 || math.Float32frombits(binary.LittleEndian.Uint32(raw[4:])) != -1.25 || out.Data[1].Index != 1 || out.Usage.PromptTokens != 7 {
		t.Fatalf("answer %s", b)
	}
	b, _ = chat.Embeddings("m", "float", vectors, -1)
	if string(b) != `{"data":[{"object":"embedding","index":0,"embedding":[0.5,-1.25]},{"object":"embedding","index":1,"embedding":[3]}],"model":"m","object":"list"}` {
		t.Fatalf("floats without usage: %s", b)
	}
}

func TestDecodeEmbeddings_TakesTextOnly(t *testing.T) {
	if r, err := chat.DecodeEmbeddings([]byte(`{"model":"m","input":"one"}`)); err != nil || len(r.Input) != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	for _, body := range []string{`{"model":"m","input":[1,2,3]}`, `{"model":"m"}`, `{"model":"m","input":[]}`, `{"model":"m","input":"x","encoding_format":"hex"}`} {
		if _, err := chat.DecodeEmbeddings([]byte(body)); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
}
