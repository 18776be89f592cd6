// Package guardwebhook runs guardrails' webhook checks: it POSTs the text
// and the request's metadata to the tenant's service and reads its
// verdict, {"verdict": true|false, "reason"}.
package guardwebhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/domain/guardrail"
)

// Client calls webhooks.
type Client struct{ http *http.Client }

// New builds a client; each call is bounded by its check's timeout.
func New() *Client {
	return &Client{http: &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: 30 * time.Second,
	}}}
}

var _ proxy.Webhooks = (*Client)(nil)

// Check posts the call and reads the verdict. Anything but a 2xx answer
// holding a boolean verdict is an error: the guardrail's on_error decides.
func (c *Client) Check(ctx context.Context, w *guardrail.Webhook, call proxy.WebhookCall) (bool, string, error) {
	body, err := json.Marshal(call)
	if err != nil {
		return false, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range w.Headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, "", fmt.Errorf("the webhook did not answer within %v", w.Timeout)
		}
		return false, "", fmt.Errorf("the webhook could not be reached")
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return false, "", fmt.Errorf("the webhook answered %d", resp.StatusCode)
	}
	var v struct {
		Verdict *bool  `json:"verdict"`
		Reason  string `json:"reason"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&v); err != nil || v.Verdict == nil {
		return false, "", fmt.Errorf("the webhook's answer holds no verdict")
	}
	return *v.Verdict, v.Reason, nil
}
