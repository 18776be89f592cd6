package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse/domain/guardrail"
)

// outputSlots finds the text of a whole answer in the exchange's dialect:
// OpenAI's choices, Anthropic's text blocks, the Responses API's output.
func outputSlots(x *Exchange) ([]textSlot, map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(x.Body))
	dec.UseNumber()
	var root map[string]any
	if dec.Decode(&root) != nil || root == nil {
		return nil, nil, false
	}
	var slots []textSlot
	switch x.dialect {
	case dialectAnthropic:
		slots = contentSlots(root, "content")
	case dialectResponses:
		items, _ := root["output"].([]any)
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				slots = append(slots, contentSlots(m, "content")...)
			}
		}
	default:
		choices, _ := root["choices"].([]any)
		for _, c := range choices {
			if cm, ok := c.(map[string]any); ok {
				if msg, ok := cm["message"].(map[string]any); ok {
					slots = append(slots, contentSlots(msg, "content")...)
				}
				if _, ok := cm["text"].(string); ok { // legacy completions
					slots = append(slots, stringsIn(cm, "text")...)
				}
			}
		}
	}
	return slots, root, true
}

// guardOutput runs the key's output guardrails on a whole answer before
// the client sees it: a block replaces the answer with guardrail_blocked
// (the request is recorded as completed, its tokens counted: the provider
// billed them), a redaction rewrites it, a flag is noted.
func (s *Service) guardOutput(ctx context.Context, x *Exchange, final bool) error {
	names := s.guardrailNames(x, guardrail.StageOutput)
	if x.outputChecked || len(names) == 0 || x.Stream || x.Status != http.StatusOK || x.in.Endpoint == "/v1/embeddings" {
		return nil
	}
	slots, root, ok := outputSlots(x)
	if !ok { // an answer the guardrails cannot read is not let through
		id, err := s.recordVerdict(ctx, x, names[0], 0, guardrail.StageOutput, guardrail.Error, guardrail.Blocked,
			[]guardrail.Result{{Check: "answer", Outcome: guardrail.Error, Reason: "not one JSON object"}}, s.Now())
		if err != nil {
			return err
		}
		x.answered = true
		x.complete(http.StatusBadRequest, "guardrail_blocked")
		return blockedRefusal(names[0], id.String(), "answer")
	}
	run, err := s.applyGuardrails(ctx, x, names, slots, guardrail.StageOutput)
	switch {
	case err != nil:
		return err
	case run.blockedBy != "" && !final: // another target may answer instead
		return &outputBlocked{guardrail: run.blockedBy, verdict: run.verdict.String()}
	case run.blockedBy != "":
		x.answered = true
		x.complete(http.StatusBadRequest, "guardrail_blocked")
		return blockedRefusal(run.blockedBy, run.verdict.String(), "answer")
	case run.redacted:
		b, err := json.Marshal(root)
		if err != nil {
			return err
		}
		x.Body = b
	}
	return nil
}

// outputBlocked is a whole answer an output guardrail blocked, while
// another target may still be asked.
type outputBlocked struct{ guardrail, verdict string }

func (e *outputBlocked) Error() string {
	return "the answer was blocked by guardrail " + e.guardrail + " (verdict " + e.verdict + ")"
}
