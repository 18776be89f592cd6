package proxy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// streamPiece is one lane's text in a chunk, how to put other text in its
// place, and how to make a chunk that carries more of the lane's text.
type streamPiece struct {
	lane   string
	answer bool
	text   string
	set    func(string)
	tail   func(string) []byte
}

// piecesOf reads a chunk's text in the exchange's dialect: its pieces,
// whether the chunk carries nothing else (it can be left out while its
// text is held), and the lanes it ends (by prefix; "" ends them all).
func (g *guardedStream) piecesOf(root map[string]any) (pieces []streamPiece, plain bool, ends []string, changed bool) {
	again := func(t string, set func(string)) []byte { // the same chunk with other text
		set(t)
		b, _ := json.Marshal(root)
		return b
	}
	switch g.x.dialect {
	case dialectAnthropic:
		switch root["type"] {
		case "content_block_delta":
			d, _ := root["delta"].(map[string]any)
			field, answer := "", false
			switch d["type"] {
			case "text_delta":
				field, answer = "text", true
			case "thinking_delta":
				field = "thinking"
			case "input_json_delta":
				field = "partial_json"
			}
			if s, ok := d[field].(string); ok && field != "" {
				set := func(t string) { d[field] = t }
				pieces = append(pieces, streamPiece{lane: fmt.Sprintf("b%v/", root["index"]), answer: answer, text: s, set: set,
					tail: func(t string) []byte { return again(t, set) }})
			}
			return pieces, true, nil, false
		case "content_block_stop":
			return nil, false, []string{fmt.Sprintf("b%v/", root["index"])}, false
		case "message_delta", "message_stop":
			return nil, false, []string{""}, false
		}
	case dialectResponses:
		typ, _ := root["type"].(string)
		kind, isDelta := strings.CutSuffix(strings.TrimPrefix(typ, "response."), ".delta")
		if s, ok := root["delta"].(string); ok && isDelta && responsesTextDeltas[kind] {
			set := func(t string) { root["delta"] = t }
			lane := fmt.Sprintf("i%v/%s/%v/%v", root["item_id"], kind, root["content_index"], root["summary_index"])
			pieces = append(pieces, streamPiece{lane: lane, answer: kind == "output_text", text: s, set: set,
				tail: func(t string) []byte { return again(t, set) }})
			if root["logprobs"] != nil { // the tokens of the text: dropped while it is guarded
				root["logprobs"], changed = nil, true
			}
			return pieces, true, nil, changed
		}
		if id, ok := root["item_id"]; ok && strings.HasSuffix(typ, ".done") {
			return nil, false, []string{fmt.Sprintf("i%v/", id)}, false
		}
		if item, ok := root["item"].(map[string]any); ok && typ == "response.output_item.done" {
			return nil, false, []string{fmt.Sprintf("i%v/", item["id"])}, false
		}
		if typ == "response.completed" || typ == "response.incomplete" || typ == "response.failed" {
			return nil, false, []string{""}, false
		}
	default:
		return openAIPieces(root)
	}
	return nil, false, nil, false
}

// responsesTextDeltas are the Responses API's events whose delta is text.
var responsesTextDeltas = map[string]bool{
	"output_text": true, "refusal": true, "function_call_arguments": true, "reasoning_text": true,
	"reasoning_summary_text": true, "audio.transcript": true, "custom_tool_call_input": true, "mcp_call_arguments": true,
	"code_interpreter_call_code": true,
}

// openAIPieces reads a chat completion chunk: per choice, its content,
// refusal and reasoning, and each tool call's arguments; a finish reason
// ends the choice's lanes, a usage chunk (no choices) ends them all.
func openAIPieces(root map[string]any) (pieces []streamPiece, plain bool, ends []string, forceChanged bool) {
	choices, has := root["choices"].([]any)
	if has && len(choices) == 0 {
		return nil, false, []string{""}, false
	}
	chunk := func(choice any, delta map[string]any) []byte { // a chunk of the same completion
		m := map[string]any{"choices": []any{map[string]any{"index": choice, "delta": delta, "finish_reason": nil}}}
		for _, k := range []string{"id", "object", "created", "model", "system_fingerprint"} {
			if v, ok := root[k]; ok {
				m[k] = v
			}
		}
		b, _ := json.Marshal(m)
		return b
	}
	// A chunk may be left out while its text is held only when it carries
	// nothing else: no usage, nothing beside one choice's one delta.
	plain = len(choices) == 1
	for k, v := range root {
		switch k {
		case "id", "object", "created", "model", "system_fingerprint", "choices", "service_tier", "obfuscation":
		default:
			plain = plain && v == nil
		}
	}
	for n, c := range choices {
		cm, _ := c.(map[string]any)
		idx := cm["index"]
		if idx == nil {
			idx = n
		}
		prefix := fmt.Sprintf("c%v/", idx)
		if fr, _ := cm["finish_reason"].(string); fr != "" { // some servers send "" on every chunk
			ends, plain = append(ends, prefix), false
		}
		if cm["logprobs"] != nil { // the tokens of the text: dropped while it is guarded
			cm["logprobs"] = nil
			forceChanged = true
		}
		d, _ := cm["delta"].(map[string]any)
		plain = plain && len(d) == 1
		for _, field := range []string{"content", "refusal", "reasoning_content", "reasoning"} {
			if s, ok := d[field].(string); ok {
				pieces = append(pieces, streamPiece{lane: prefix + field, answer: field == "content", text: s,
					set:  func(t string) { d[field] = t },
					tail: func(t string) []byte { return chunk(idx, map[string]any{field: t}) }})
			}
		}
		if fc, ok := d["function_call"].(map[string]any); ok { // the legacy function call
			plain = plain && len(fc) == 1
			if s, ok := fc["arguments"].(string); ok {
				pieces = append(pieces, streamPiece{lane: prefix + "function_call", text: s,
					set: func(t string) { fc["arguments"] = t },
					tail: func(t string) []byte {
						return chunk(idx, map[string]any{"function_call": map[string]any{"arguments": t}})
					}})
			}
		}
		if au, ok := d["audio"].(map[string]any); ok {
			plain = false
			if s, ok := au["transcript"].(string); ok {
				pieces = append(pieces, streamPiece{lane: prefix + "audio", answer: true, text: s,
					set:  func(t string) { au["transcript"] = t },
					tail: func(t string) []byte { return chunk(idx, map[string]any{"audio": map[string]any{"transcript": t}}) }})
			}
		}
		calls, _ := d["tool_calls"].([]any)
		plain = plain && len(calls) <= 1
		for j, tc := range calls {
			call, _ := tc.(map[string]any)
			fn, _ := call["function"].(map[string]any)
			s, ok := fn["arguments"].(string)
			if !ok {
				plain = false
				continue
			}
			at := call["index"]
			if at == nil {
				at = j
			}
			for k := range call {
				plain = plain && (k == "index" || k == "function")
			}
			plain = plain && len(fn) == 1
			pieces = append(pieces, streamPiece{lane: fmt.Sprintf("%stool%v", prefix, at), text: s,
				set: func(t string) { fn["arguments"] = t },
				tail: func(t string) []byte {
					return chunk(idx, map[string]any{"tool_calls": []any{map[string]any{"index": at, "function": map[string]any{"arguments": t}}}})
				}})
		}
	}
	return pieces, plain && len(pieces) > 0, ends, forceChanged
}
