package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/guardrail"
	"github.com/gatehouse/gatehouse/domain/routing"
	"github.com/gatehouse/gatehouse/domain/tenancy"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// Guardrails finds a tenant's guardrails, compiled and ready to run, and
// the teams whose guardrails their keys' requests run.
type Guardrails interface {
	Guardrail(tenantID, name string) (guardrail.Published, error)
	Team(tenantID string, id uuid.UUID) (tenancy.Team, bool)
}

// guardrailNames are the guardrails a request runs at a stage: its team's,
// its key's, its key's default config's, then those of the config it
// chose, each once. A request cannot switch off the first three.
func (s *Service) guardrailNames(x *Exchange, stage string) []string {
	var names []string
	add := func(more []string) {
		for _, n := range more {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if x.key.TeamID != nil {
		if t, ok := s.Guardrails.Team(x.key.TenantID, *x.key.TeamID); ok {
			add(pick(t.Guardrails.Input, t.Guardrails.Output, stage))
		}
	}
	add(pick(x.key.Guardrails.Input, x.key.Guardrails.Output, stage))
	for _, c := range []*routing.Published{x.keyConfig, x.config} {
		if c != nil {
			add(pick(c.Config.InputGuardrails, c.Config.OutputGuardrails, stage))
		}
	}
	return names
}

func pick(input, output []string, stage string) []string {
	if stage == guardrail.StageInput {
		return input
	}
	return output
}

// WebhookCall is what a webhook check is sent.
type WebhookCall struct {
	Guardrail string            `json:"guardrail"`
	Stage     string            `json:"stage"`
	Text      string            `json:"text"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// Webhooks run webhook checks: a pass, a failure with the service's
// reason, or an error (unreachable, too slow, an answer not understood).
type Webhooks interface {
	Check(ctx context.Context, w *guardrail.Webhook, call WebhookCall) (pass bool, reason string, err error)
}

// guardInput runs the key's input guardrails on the request before any
// upstream sees it: each run is a guardrail.verdict event; a block
// refuses the request, a redaction rewrites its text, a flag is noted.
func (s *Service) guardInput(ctx context.Context, x *Exchange) (*Refusal, error) {
	names := s.guardrailNames(x, guardrail.StageInput)
	if len(names) == 0 {
		return nil, nil
	}
	slots, root, err := inputSlots(x.in.Endpoint, x.in.Body)
	if err != nil {
		return InvalidRequest("", "%v", err), nil
	}
	run, err := s.applyGuardrails(ctx, x, names, slots, guardrail.StageInput)
	switch {
	case err != nil:
		return nil, err
	case run.blockedBy != "":
		return blockedRefusal(run.blockedBy, run.verdict.String(), "request"), nil
	case run.redacted:
		b, err := json.Marshal(root)
		if err != nil {
			return nil, err
		}
		x.in.Body = b
	}
	return nil, nil
}

// guardrailRun is how a stage's guardrails ended: the one that blocked
// (and its verdict), or whether any redacted.
type guardrailRun struct {
	blockedBy string
	verdict   uuid.UUID
	redacted  bool
}

// applyGuardrails runs guardrails in turn on the pieces of a text, each
// run a guardrail.verdict event: a redaction rewrites the pieces it found
// spans in, a flag is noted, and the first block ends the run. A
// guardrail that cannot be loaded blocks.
func (s *Service) applyGuardrails(ctx context.Context, x *Exchange, names []string, slots []textSlot, stage string) (guardrailRun, error) {
	var run guardrailRun
	for _, name := range names {
		start := s.Now()
		_, sp := s.startSpan(ctx, "gatehouse.guardrail", attribute.String("gatehouse.guardrail", name), attribute.String("gatehouse.stage", stage))
		pub, err := s.Guardrails.Guardrail(x.key.TenantID, name)
		var results []guardrail.Result
		var perSlot [][]guardrail.Finding
		outcome, action := guardrail.Error, guardrail.Blocked
		if err == nil {
			results, perSlot = s.runGuardrail(ctx, x, pub, slots, stage)
			outcome, action = pub.Guardrail.Decide(results)
		} else {
			results = []guardrail.Result{{Check: "guardrail", Outcome: guardrail.Error, Reason: err.Error()}}
		}
		sp.SetAttributes(attribute.String("gatehouse.outcome", outcome), attribute.String("gatehouse.action", action))
		sp.End()
		id, err := s.recordVerdict(ctx, x, name, pub.Version, stage, outcome, action, results, start)
		if err != nil {
			return run, err
		}
		switch action {
		case guardrail.Blocked:
			run.blockedBy, run.verdict = name, id
			return run, nil
		case guardrail.Redacted:
			for i, fs := range perSlot {
				if len(fs) > 0 {
					slots[i].text = guardrail.Redact(slots[i].text, fs)
					slots[i].set(slots[i].text)
					run.redacted = true
				}
			}
		case guardrail.Flagged:
			x.flagged = true
		}
	}
	return run, nil
}

// runGuardrail runs a guardrail's local checks on the pieces of a text
// (the findings of each piece kept apart, to redact it), and its webhooks
// on the whole text.
func (s *Service) runGuardrail(ctx context.Context, x *Exchange, pub guardrail.Published, slots []textSlot, stage string) ([]guardrail.Result, [][]guardrail.Finding) {
	parts, texts := make([]guardrail.Part, len(slots)), make([]string, len(slots))
	for i, sl := range slots {
		parts[i], texts[i] = guardrail.Part{Text: sl.text, Answer: sl.answer}, sl.text
	}
	merged, perSlot := pub.Guardrail.RunParts(parts, stage)
	for _, c := range pub.Guardrail.Checks {
		if c.Webhook == nil {
			continue
		}
		r := guardrail.Result{Check: guardrail.CheckWebhook, Outcome: guardrail.Pass}
		wctx, cancel := context.WithTimeout(ctx, c.Webhook.Timeout)
		pass, reason, err := s.Webhooks.Check(wctx, c.Webhook, WebhookCall{Guardrail: pub.Name, Stage: stage, Text: strings.Join(texts, "\n\n"), Metadata: x.in.Metadata})
		cancel()
		switch {
		case err != nil:
			r.Outcome, r.Reason = guardrail.Error, err.Error()
		case !pass:
			r.Outcome, r.Reason = guardrail.Fail, reason
		}
		merged = append(merged, r)
	}
	return merged, perSlot
}

// recordVerdict writes one guardrail.verdict: never the matched text.
func (s *Service) recordVerdict(ctx context.Context, x *Exchange, name string, version int, stage, outcome, action string,
	results []guardrail.Result, start interface{ UnixNano() int64 }) (uuid.UUID, error) {
	slot, err := s.Recorder.Reserve(ctx)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return uuid.Nil, ErrUnavailable
		}
		return uuid.Nil, err
	}
	id := newRequestID()
	took := float64(s.Now().UnixNano()-start.UnixNano()) / 1e6
	e := guardrail.GuardrailVerdict{V: 1, VerdictID: id, RequestID: x.RequestID, KeyID: x.key.ID, Guardrail: name, GuardrailVersion: version,
		Stage: stage, Outcome: outcome, Action: action, Checks: guardrail.Verdicts(results), DurationMs: took}
	m := eventlog.Meta{Actor: "key:" + x.key.ID.String(), TraceID: x.TraceID, OccurredAt: s.Now()}
	slot.Submit(m.Envelope(uuid.New(), x.key.TenantID, guardrail.VerdictStreamID(id), 1, e))
	x.verdicts = append(x.verdicts, usage.VerdictRef{VerdictID: id, Guardrail: name, Stage: stage, Outcome: outcome, Action: action})
	return id, nil
}
