package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/adapters/providers/bedrock/eventstream"
)

const (
	awsAccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	awsSecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// sigV4Header is the shape of a SigV4 Authorization header for the fake's
// access key, region and service (the signature itself is checked
// against AWS's test vectors in the bedrock package).
var sigV4Header = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=` + awsAccessKeyID +
	`/\d{8}/eu-west-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$`)

// fakeBedrock speaks the Bedrock Runtime API: Converse, ConverseStream (in
// the AWS event stream encoding) and InvokeModel for embedding models.
type fakeBedrock struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
	last  map[string]any
}

func (f *fakeBedrock) lastPath() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paths[len(f.paths)-1]
}

func (f *fakeBedrock) lastBody() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func newFakeBedrock(t *testing.T) *fakeBedrock {
	f := &fakeBedrock{}
	path := regexp.MustCompile(`^/model/([^/]+)/(converse|converse-stream|invoke)$`)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RequestId", "8a1b2c3d-0000-4000-8000-000000000000")
		m := path.FindStringSubmatch(r.URL.EscapedPath())
		if !sigV4Header.MatchString(r.Header.Get("Authorization")) || r.Header.Get("X-Amz-Date") == "" {
			w.Header().Set("x-amzn-ErrorType", "UnrecognizedClientException")
			w.WriteHeader(403)
			fmt.Fprint(w, `{"message":"The security token included in the request is invalid."}`)
			return
		}
		if m == nil {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"message":"Unknown operation"}`)
			return
		}
		model, op := strings.ReplaceAll(m[1], "%3A", ":"), m[2]
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		f.mu.Lock()
		f.paths, f.last = append(f.paths, r.URL.EscapedPath()), body
		f.mu.Unlock()
		if strings.Contains(model, "missing") {
			w.Header().Set("x-amzn-ErrorType", "ValidationException")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"message":"The provided model identifier is invalid."}`)
			return
		}
		switch op {
		case "invoke":
			f.invoke(w, model, body)
		case "converse":
			w.Header().Set("Content-Type", "application/json")
			if body["toolConfig"] != nil {
				fmt.Fprint(w, `{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"location":"Lisbon"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":50,"outputTokens":12,"totalTokens":62}}`)
				return
			}
			fmt.Fprint(w, `{"output":{"message":{"role":"assistant","content":[{"text":"Olá."}]}},"stopReason":"end_turn","usage":{"inputTokens":11,"outputTokens":3,"totalTokens":19,"cacheReadInputTokens":5},"metrics":{"latencyMs":300}}`)
		case "converse-stream":
			w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
			events := [][2]string{
				{"messageStart", `{"role":"assistant","p":"abcd"}`},
				{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Olá"},"p":"ab"}`},
				{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" mundo"},"p":"abcdef"}`},
				{"contentBlockStop", `{"contentBlockIndex":0}`},
				{"messageStop", `{"stopReason":"end_turn"}`},
				{"metadata", `{"usage":{"inputTokens":9,"outputTokens":4,"totalTokens":13},"metrics":{"latencyMs":200}}`},
			}
			if strings.Contains(model, "broken") {
				events = events[:3]
			}
			for _, ev := range events {
				w.Write(eventstream.Encode(map[string]string{":message-type": "event", ":event-type": ev[0], ":content-type": "application/json"}, []byte(ev[1])))
				w.(http.Flusher).Flush()
			}
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeBedrock) invoke(w http.ResponseWriter, model string, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasPrefix(model, "amazon.titan-embed"):
		text, _ := body["inputText"].(string)
		w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", fmt.Sprint(len(text)))
		fmt.Fprintf(w, `{"embedding":[%d,0.5,-0.25],"inputTextTokenCount":%d}`, len(text), len(text))
	case strings.HasPrefix(model, "cohere.embed"):
		texts, _ := body["texts"].([]any)
		vecs := make([]string, len(texts))
		for i := range vecs {
			vecs[i] = fmt.Sprintf("[%d,1]", i)
		}
		w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", fmt.Sprint(7*len(texts)))
		fmt.Fprintf(w, `{"id":"e-1","embeddings":{"float":[%s]},"response_type":"embeddings_by_type","texts":[]}`, strings.Join(vecs, ","))
	default:
		w.WriteHeader(400)
		fmt.Fprint(w, `{"message":"Malformed input request"}`)
	}
}
