// Package bedrock calls Amazon Bedrock's Converse and ConverseStream APIs
// for requests in OpenAI's chat dialect, signing each request with SigV4;
// streams arrive in the AWS event stream encoding and are translated
// event by event.
package bedrock

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/bedrock/eventstream"
	"github.com/gatehouse/gatehouse/adapters/providers/httpcall"
	"github.com/gatehouse/gatehouse/adapters/providers/imagefetch"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// Credentials are an AWS access key, with a session token for temporary
// credentials.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Provider is one connection's client.
type Provider struct {
	base   string
	call   httpcall.Caller
	images *imagefetch.Fetcher
	now    func() time.Time
}

// New builds a client for a region's runtime endpoint (baseURL,
// https://bedrock-runtime.<region>.amazonaws.com); images named by URL are
// fetched with images.
func New(baseURL, region string, creds Credentials, client *http.Client, images *imagefetch.Fetcher, now func() time.Time) *Provider {
	if client == nil || images == nil || now == nil {
		panic("bedrock.New: nil dependency")
	}
	s := signer{accessKeyID: creds.AccessKeyID, secretAccessKey: creds.SecretAccessKey, sessionToken: creds.SessionToken,
		region: region, service: "bedrock"}
	return &Provider{base: strings.TrimRight(baseURL, "/"), images: images, now: now, call: httpcall.Caller{
		Client:  client,
		Secrets: []string{creds.SecretAccessKey, creds.SessionToken, creds.AccessKeyID},
		Parse:   parseError,
		Sign:    func(req *http.Request, body []byte) { s.sign(req, body, now()) },
	}}
}

var _ proxy.Upstream = (*Provider)(nil)

// eventStreamHeader asks for ConverseStream's encoding.
var eventStreamHeader = http.Header{"Accept": {"application/vnd.amazon.eventstream"}}

// send translates and posts a Converse request; it gives the model asked
// and whether a stream must end with a usage chunk.
func (p *Provider) send(ctx context.Context, body []byte, stream bool) (*http.Response, string, bool, error) {
	req, model, wantsUsage, err := toRequest(body)
	if err != nil {
		return nil, "", false, err
	}
	if err := fetchImages(ctx, p.images, req); err != nil {
		return nil, "", false, err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, "", false, err
	}
	op, header := "converse", http.Header(nil)
	if stream {
		op, header = "converse-stream", eventStreamHeader
	}
	resp, err := p.call.Post(ctx, p.base+modelPath(model, op), header, b, stream)
	return resp, model, wantsUsage, err
}

// ChatCompletion sends a non-streamed request to Converse.
func (p *Provider) ChatCompletion(ctx context.Context, body []byte) (proxy.Response, error) {
	resp, model, _, err := p.send(ctx, body, false)
	if err != nil {
		return proxy.Response{}, err
	}
	b, err := httpcall.ReadAnswer(resp)
	if err != nil {
		return proxy.Response{}, err
	}
	c, err := toCompletion(b, model, p.now())
	if err != nil {
		return proxy.Response{}, err
	}
	out, err := json.Marshal(c)
	if err != nil {
		return proxy.Response{}, err
	}
	return proxy.Response{Status: http.StatusOK, Header: answerHeader(resp), Body: out}, nil
}

// ChatCompletionStream sends a streamed request to ConverseStream.
func (p *Provider) ChatCompletionStream(ctx context.Context, body []byte) (proxy.ChunkStream, error) {
	resp, model, wantsUsage, err := p.send(ctx, body, true)
	if err != nil {
		return nil, err
	}
	return p.call.RedactStream(newStream(eventstream.NewReader(resp.Body), model, wantsUsage, p.now())), nil
}

func answerHeader(resp *http.Response) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	if id := resp.Header.Get("x-amzn-RequestId"); id != "" {
		h.Set("X-Request-Id", id)
	}
	return h
}
