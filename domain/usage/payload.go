package usage

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
)

// MaxStoredPayload bounds each stored body; a longer one is cut there and
// marked truncated.
const MaxStoredPayload = 64 << 10

// StoredPayload is a request's and its answer's bodies as stored for a key
// or team that logs them: after guardrail redaction, capped, kept until
// ExpiresAt. It is written beside the request's event, never in it; the
// event carries its Digest.
type StoredPayload struct {
	TenantID          string
	RequestID         uuid.UUID
	Request           []byte
	Response          []byte
	RequestTruncated  bool
	ResponseTruncated bool
	StoredAt          time.Time
	ExpiresAt         time.Time
}

// NewStoredPayload caps the bodies.
func NewStoredPayload(tenantID string, requestID uuid.UUID, request, response []byte, now time.Time, keep time.Duration) *StoredPayload {
	p := &StoredPayload{TenantID: tenantID, RequestID: requestID, StoredAt: now.UTC(), ExpiresAt: now.Add(keep).UTC()}
	p.Request, p.RequestTruncated = capped(request)
	p.Response, p.ResponseTruncated = capped(response)
	return p
}

func capped(b []byte) ([]byte, bool) {
	if len(b) > MaxStoredPayload {
		return append([]byte(nil), b[:MaxStoredPayload]...), true
	}
	return append([]byte(nil), b...), false
}

// Size is how many bytes the bodies take.
func (p *StoredPayload) Size() int { return len(p.Request) + len(p.Response) }

// Digest is SHA-256("gatehouse.payload.v1\n" ‖ len(request) ‖ request ‖
// len(response) ‖ response), lengths as 8-byte big-endian integers, in
// hex: what the request's event records, so that the log proves what was
// stored.
func (p *StoredPayload) Digest() string {
	h := sha256.New()
	h.Write([]byte("gatehouse.payload.v1\n"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(p.Request)))
	h.Write(n[:])
	h.Write(p.Request)
	binary.BigEndian.PutUint64(n[:], uint64(len(p.Response)))
	h.Write(n[:])
	h.Write(p.Response)
	return hex.EncodeToString(h.Sum(nil))
}
