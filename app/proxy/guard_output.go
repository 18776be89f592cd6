package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse/domain/guardrail"
)

// outputSlots finds the text of a whole answer in the exchange's dialect:
// OpenAI's choices (content, refusal, tool calls' arguments, reasoning),
// Anthropic's content blocks (text, thinking, tool use input), the
// Responses API's output items (text, refusal, function calls,
// reasoning). The answer's own text is marked as such.
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
		slots = textsIn(root, "content", typedText("text"))
	case dialectResponses:
		slots = textsIn(root, "output", typedText("output_text"))
	default:
		choices, _ := root["choices"].([]any)
		for _, c := range choices {
			if cm, ok := c.(map[string]any); ok {
				slots = append(slots, textsIn(cm, "message", func(_ map[string]any, key string) bool { return key == "content" })...)
				slots = append(slots, textsIn(cm, "text", func(map[string]any, string) bool { return true })...) // legacy completions
			}
		}
	}
	return slots, root, true
}

// typedText marks the text of the blocks or parts of a type as an
// answer's text.
func typedText(typ string) func(map[string]any, string) bool {
	return func(parent map[string]any, key string) bool { return key == "text" && parent["type"] == typ }
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
