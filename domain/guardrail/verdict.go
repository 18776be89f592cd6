package guardrail

import "github.com/google/uuid"

// Actions a verdict records: what the gateway did.
const (
	Allowed  = "none"  // every check passed, or a check erred under on_error allow
	Blocked  = "block" // the request (or the answer) was refused
	Redacted = "redact"
	Flagged  = "flag"
)

// CheckVerdict is one check's outcome in a verdict: never the matched
// text, only the entities found and how many.
type CheckVerdict struct {
	Check    string         `json:"check"`
	Outcome  string         `json:"outcome"`
	Entities map[string]int `json:"entities,omitempty"`
}

// GuardrailVerdict records one run of a guardrail on a request's input
// or output.
type GuardrailVerdict struct {
	V                int            `json:"v"`
	VerdictID        uuid.UUID      `json:"verdict_id"`
	RequestID        uuid.UUID      `json:"request_id"`
	KeyID            uuid.UUID      `json:"key_id"`
	Guardrail        string         `json:"guardrail"`
	GuardrailVersion int            `json:"guardrail_version"`
	Stage            string         `json:"stage"`
	Outcome          string         `json:"outcome"` // pass, fail or error
	Action           string         `json:"action"`
	Checks           []CheckVerdict `json:"checks"`
	DurationMs       float64        `json:"duration_ms"`
}

func (GuardrailVerdict) EventType() string { return "guardrail.verdict" }
func (GuardrailVerdict) EventVersion() int { return 1 }

// VerdictStreamID is a verdict's own single-event stream.
func VerdictStreamID(id uuid.UUID) string { return "verdict:" + id.String() }

// Decide turns a guardrail's check results into an outcome and the
// action taken: a failure takes the guardrail's action (a failure with no
// span to redact, such as a length or a webhook, blocks under redact); a
// check that erred blocks or lets the call go on, as on_error says.
func (g *Guardrail) Decide(results []Result) (outcome, action string) {
	failed, erred, spanless := false, false, false
	for _, r := range results {
		switch r.Outcome {
		case Fail:
			failed = true
			spanless = spanless || len(r.Findings) == 0
		case Error:
			erred = true
		}
	}
	switch {
	case failed:
		if g.Action == ActionRedact && spanless {
			return Fail, Blocked
		}
		return Fail, map[string]string{ActionBlock: Blocked, ActionRedact: Redacted, ActionFlag: Flagged}[g.Action]
	case erred && g.OnError == OnErrorBlock:
		return Error, Blocked
	case erred:
		return Error, Allowed
	}
	return Pass, Allowed
}

// Verdicts summarises results for the record.
func Verdicts(results []Result) []CheckVerdict {
	out := make([]CheckVerdict, len(results))
	for i, r := range results {
		out[i] = CheckVerdict{Check: r.Check, Outcome: r.Outcome, Entities: r.Entities()}
	}
	return out
}
