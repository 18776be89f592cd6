package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// RequestRow is one request of the request log.
type RequestRow struct {
	TenantID      string
	RequestID     uuid.UUID
	OccurredAt    time.Time
	Outcome       string // completed | rejected
	KeyID         uuid.UUID
	TeamID        *uuid.UUID
	Endpoint      string
	Model         string
	Provider      string
	UpstreamModel string
	Stream        bool
	Status        int
	Code          string
	Reason        string
	Tokens        usage.Tokens
	Cost          usage.Micros
	Priced        bool
	DurationMs    float64 // the whole request, as the client saw it
	GatewayMs     float64 // the gateway's work before the first upstream call
	UpstreamMs    float64 // the upstream call that answered
	FirstTokenMs  float64 // a stream's first chunk
	TraceID       string
	Metadata      map[string]string
	Routing       usage.Routing
	Guardrails    []usage.VerdictRef
	// Payload is the request's stored bodies: in GetRequest's answer only,
	// for a key or team that logs them, to whoever may audit the tenant.
	Payload *usage.StoredPayload
}

// RequestFilter narrows the request log.
type RequestFilter struct {
	From, To time.Time
	KeyID    *uuid.UUID
	Model    *string
	Status   *int
	Metadata map[string]string // every pair must match
	Before   *RequestCursor    // continue after this row (newest first)
	Limit    int
}

// RequestCursor is where a page of the request log ended.
type RequestCursor struct {
	At        time.Time
	RequestID uuid.UUID
}

// RequestLogReader reads the request log projection.
type RequestLogReader interface {
	ListRequests(ctx context.Context, tenantID string, f RequestFilter) ([]RequestRow, error)
}

// ListRequests asks for a page of a tenant's request log.
type ListRequests struct {
	Principal access.Principal
	TenantID  string
	Filter    RequestFilter
}

// RequestPage is a page and where the next one starts (nil at the end).
type RequestPage struct {
	Requests []RequestRow
	Next     *RequestCursor
}

// MaxRequestPage bounds a page of the request log.
const MaxRequestPage = 500

// ListRequestsHandler answers ListRequests.
type ListRequestsHandler struct {
	tenants Tenants
	reader  RequestLogReader
}

// NewListRequestsHandler wires the handler.
func NewListRequestsHandler(tenants Tenants, reader RequestLogReader) ListRequestsHandler {
	if tenants == nil || reader == nil {
		panic("query.NewListRequestsHandler: nil dependency")
	}
	return ListRequestsHandler{tenants: tenants, reader: reader}
}

// Handle reads the page.
func (h ListRequestsHandler) Handle(ctx context.Context, q ListRequests) (RequestPage, error) {
	if err := readableTenant(h.tenants, q.Principal, q.TenantID); err != nil {
		return RequestPage{}, err
	}
	f := q.Filter
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 1 || f.Limit > MaxRequestPage {
		return RequestPage{}, fmt.Errorf("%w: limit must be 1-%d", ErrInvalidQuery, MaxRequestPage)
	}
	if !f.From.Before(f.To) {
		return RequestPage{}, fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	rows, err := h.reader.ListRequests(ctx, q.TenantID, f)
	if err != nil {
		return RequestPage{}, err
	}
	page := RequestPage{Requests: rows}
	if len(rows) == f.Limit {
		last := rows[len(rows)-1]
		page.Next = &RequestCursor{At: last.OccurredAt, RequestID: last.RequestID}
	}
	return page, nil
}

// MetadataJSON is the containment filter the log matches metadata with.
func MetadataJSON(m map[string]string) []byte {
	if m == nil {
		m = map[string]string{}
	}
	b, _ := json.Marshal(m)
	return b
}

// RequestFinder reads one request of the log.
type RequestFinder interface {
	GetRequest(ctx context.Context, tenantID string, id uuid.UUID) (RequestRow, bool, error)
}

// GetRequest asks for one request in full.
type GetRequest struct {
	Principal access.Principal
	TenantID  string
	RequestID uuid.UUID
}

// ErrRequestNotFound is a request the log does not hold (yet: the log is
// written moments after the answer).
var ErrRequestNotFound = errors.New("request not found")

// PayloadReader reads a request's stored bodies, while they are kept.
type PayloadReader interface {
	GetPayload(ctx context.Context, tenantID string, requestID uuid.UUID) (*usage.StoredPayload, bool, error)
}

// GetRequestHandler answers GetRequest.
type GetRequestHandler struct {
	tenants  Tenants
	finder   RequestFinder
	payloads PayloadReader
}

// NewGetRequestHandler wires the handler.
func NewGetRequestHandler(tenants Tenants, finder RequestFinder, payloads PayloadReader) GetRequestHandler {
	if tenants == nil || finder == nil || payloads == nil {
		panic("query.NewGetRequestHandler: nil dependency")
	}
	return GetRequestHandler{tenants: tenants, finder: finder, payloads: payloads}
}

// Handle reads the request.
func (h GetRequestHandler) Handle(ctx context.Context, q GetRequest) (RequestRow, error) {
	if err := readableTenant(h.tenants, q.Principal, q.TenantID); err != nil {
		return RequestRow{}, err
	}
	row, ok, err := h.finder.GetRequest(ctx, q.TenantID, q.RequestID)
	if err == nil && !ok {
		err = ErrRequestNotFound
	}
	if err != nil || q.Principal.CanAudit(q.TenantID) != nil { // a viewer never sees bodies
		return row, err
	}
	if p, ok, err := h.payloads.GetPayload(ctx, q.TenantID, q.RequestID); err != nil {
		return row, err
	} else if ok {
		row.Payload = p
	}
	return row, nil
}
