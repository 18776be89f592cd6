package guardrail

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
)

// GuardrailPublished publishes a version of a named guardrail; its version
// is the event's version on the guardrail's stream. It holds the whole
// definition.
type GuardrailPublished struct {
	V           int             `json:"v"`
	GuardrailID uuid.UUID       `json:"guardrail_id"`
	Name        string          `json:"name"`
	Definition  json.RawMessage `json:"definition"`
}

func (GuardrailPublished) EventType() string { return "guardrail.published" }
func (GuardrailPublished) EventVersion() int { return 1 }

// StreamID is the stream of a tenant's guardrail of that name.
func StreamID(name string) string { return "guardrail:" + name }

var idNamespace = uuid.MustParse("0b6f6a3e-2f4c-5d1a-8e7b-9c0d1e2f3a4b")

// ID is the id of a tenant's guardrail of that name, the same for every
// version and on every replica.
func ID(tenantID, name string) uuid.UUID {
	return uuid.NewSHA1(idNamespace, []byte(tenantID+"\x00"+name))
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidName checks a guardrail's name.
func ValidName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w: name must be 1-63 letters, digits, '.', '_' or '-'", ErrInvalid)
	}
	return nil
}

// Published is one version of a guardrail as the log holds it.
type Published struct {
	ID          uuid.UUID
	Name        string
	Version     int
	Raw         json.RawMessage
	Guardrail   *Guardrail
	PublishedAt time.Time
}
