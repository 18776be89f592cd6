package audit

import (
	"time"

	"github.com/google/uuid"
)

// AuditExported records an export of a tenant's log: who took it (the
// event's actor), in which format, the range asked for, and what it held.
type AuditExported struct {
	V        int        `json:"v"`
	ExportID uuid.UUID  `json:"export_id"`
	Format   string     `json:"format"`
	From     *time.Time `json:"from,omitempty"`
	To       *time.Time `json:"to,omitempty"`
	FirstSeq int64      `json:"first_seq"`
	LastSeq  int64      `json:"last_seq"`
	Events   int64      `json:"events"`
	Head     string     `json:"head,omitempty"` // the hash of the last event exported, hex
	Via      string     `json:"via"`            // api or cli
}

func (AuditExported) EventType() string { return "audit.exported" }
func (AuditExported) EventVersion() int { return 1 }

// ExportStreamID is the stream of one export.
func ExportStreamID(id uuid.UUID) string { return "audit-export:" + id.String() }
