package openai

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/app/proxy"
)

// wireError is OpenAI's error body.
type wireError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	} `json:"error"`
}

// keyLike matches API keys an upstream may quote back, masked or not.
var keyLike = regexp.MustCompile(`\b(sk|pk|rk)-[A-Za-z0-9_*\-.]{6,}`)

func redact(s, apiKey string) string {
	if apiKey != "" {
		s = strings.ReplaceAll(s, apiKey, "[redacted]")
	}
	return keyLike.ReplaceAllString(s, "[redacted]")
}

// upstreamError turns a non-2xx answer into a *proxy.UpstreamError, keeping
// the upstream's message but never a credential.
func upstreamError(resp *http.Response, apiKey string) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	ue := &proxy.UpstreamError{Status: resp.StatusCode}
	var w wireError
	if json.Unmarshal(b, &w) == nil && w.Error.Message != "" {
		ue.Message, ue.Type = w.Error.Message, w.Error.Type
		if c, ok := w.Error.Code.(string); ok {
			ue.Code = c
		}
	} else {
		ue.Message = strings.TrimSpace(string(b))
		if len(ue.Message) > 500 {
			ue.Message = ue.Message[:500]
		}
		if ue.Message == "" {
			ue.Message = http.StatusText(resp.StatusCode)
		}
	}
	ue.Message = redact(ue.Message, apiKey)
	return ue
}

// scrub keeps a transport error's text free of the credential.
func scrub(err error, apiKey string) error {
	if apiKey == "" || !strings.Contains(err.Error(), apiKey) {
		return err
	}
	return errors.New(redact(err.Error(), apiKey))
}
