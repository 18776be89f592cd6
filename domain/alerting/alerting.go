// Package alerting is a tenant's webhooks: which events of its log each one
// is sent, and how a delivery is signed so that its receiver can trust it.
package alerting

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// ErrInvalid is a webhook definition that breaks a rule.
var ErrInvalid = errors.New("invalid webhook")

// ErrNotFound is a webhook the tenant does not have.
var ErrNotFound = errors.New("webhook not found")

// Webhook is where a tenant's chosen events are sent.
type Webhook struct {
	ID        uuid.UUID
	TenantID  string
	URL       string
	Events    []string // event types, or families ("budget" is every budget.* event)
	CreatedAt time.Time
}

// WebhookCreated records a webhook; its full URL and its secret are stored
// beside the event, never in it: the event's URL shows the scheme and host
// only, as a path or query may hold a token.
type WebhookCreated struct {
	V         int       `json:"v"`
	WebhookID uuid.UUID `json:"webhook_id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
}

// Shown is a URL as events and the admin API show it: scheme and host, and
// "/…" when it has more.
func Shown(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		out += "/…"
	}
	return out
}

func (WebhookCreated) EventType() string { return "webhook.created" }
func (WebhookCreated) EventVersion() int { return 1 }

// StreamID is a webhook's stream.
func StreamID(id uuid.UUID) string { return "webhook:" + id.String() }

var eventPattern = regexp.MustCompile(`^[a-z]+(\.[a-z_]+)*$`)

// New validates a webhook: an http(s) URL, 1 to 50 event types or
// families among known, and a secret of 16 to 256 bytes.
func New(id uuid.UUID, tenantID, rawURL string, events []string, secret string, known func(string) bool) (WebhookCreated, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(rawURL) > 2048 {
		return WebhookCreated{}, fmt.Errorf("%w: url must be an http or https URL without credentials", ErrInvalid)
	}
	if len(events) == 0 || len(events) > 50 {
		return WebhookCreated{}, fmt.Errorf("%w: events must name 1 to 50 event types", ErrInvalid)
	}
	for i, e := range events {
		if !eventPattern.MatchString(e) || !known(e) {
			return WebhookCreated{}, fmt.Errorf("%w: events[%d]: %q is no event type or family gatehouse records", ErrInvalid, i, e)
		}
	}
	if len(secret) < 16 || len(secret) > 256 {
		return WebhookCreated{}, fmt.Errorf("%w: secret must be 16 to 256 bytes", ErrInvalid)
	}
	evs := slices.Clone(events)
	slices.Sort(evs)
	return WebhookCreated{V: 1, WebhookID: id, URL: Shown(rawURL), Events: slices.Compact(evs)}, nil
}

// Wants says whether the webhook is sent events of a type.
func (w Webhook) Wants(eventType string) bool {
	for _, e := range w.Events {
		if e == eventType || (len(eventType) > len(e) && eventType[:len(e)] == e && eventType[len(e)] == '.') {
			return true
		}
	}
	return false
}

// SignatureHeader carries a delivery's signature: "t=<unix seconds>,
// v1=<hex HMAC-SHA256 of the secret over "<t>.<body>">".
const SignatureHeader = "X-Gatehouse-Signature"

// Sign signs a delivery's body at a time.
func Sign(secret []byte, at time.Time, body []byte) string {
	t := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(t + "."))
	m.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Backoff is how long to wait before the next attempt after n failures:
// doubling from a second, at most ten minutes.
func Backoff(n int) time.Duration {
	d := time.Second << min(n, 10)
	return min(d, 10*time.Minute)
}
