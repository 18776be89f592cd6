package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
)

// textSlot is one piece of text a request or an answer carries (a
// message's content, a text part, a system prompt, a tool call's
// arguments, reasoning), and how to put a redacted version back. answer
// marks an answer's own text.
type textSlot struct {
	text   string
	answer bool
	set    func(string)
}

// inputSlots finds the text of a request body in the endpoint's dialect:
// every string of the messages (contents, text parts, tool calls'
// arguments and results, reasoning) but their structure (roles, ids,
// names, types, media), Anthropic's system, the Responses API's
// instructions and input, embeddings' and completions' input. root is
// the decoded body the setters write into.
func inputSlots(endpoint string, body []byte) (slots []textSlot, root map[string]any, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil || root == nil {
		return nil, nil, errors.New("the request body must be one JSON object")
	}
	switch endpoint {
	case "/v1/embeddings":
		slots = textsIn(root, "input", nil)
	case "/v1/completions":
		slots = textsIn(root, "prompt", nil)
	case "/v1/responses":
		slots = append(textsIn(root, "instructions", nil), textsIn(root, "input", nil)...)
	case "/v1/messages":
		slots = textsIn(root, "system", nil)
		fallthrough
	default:
		slots = append(slots, textsIn(root, "messages", nil)...)
	}
	return slots, root, nil
}

// structural are members that name, type or point rather than say:
// they are not text a guardrail reads.
var structural = map[string]bool{
	"type": true, "role": true, "id": true, "name": true, "call_id": true, "tool_call_id": true, "tool_use_id": true,
	"status": true, "index": true, "cache_control": true, "signature": true, "encrypted_content": true,
	"media_type": true, "mime_type": true, "detail": true, "format": true, "url": true, "image_url": true,
	"file_id": true, "file_data": true, "filename": true, "input_audio": true, "audio": true, "model": true,
}

// textsIn is every string under m[key], walked through objects and
// arrays, but structural members and encoded data (a base64 source's
// data, redacted thinking). answer marks the slots as an answer's text.
func textsIn(m map[string]any, key string, answer func(parent map[string]any, key string) bool) []textSlot {
	var out []textSlot
	var walk func(parent map[string]any, key string, v any, set func(string))
	walk = func(parent map[string]any, key string, v any, set func(string)) {
		switch t := v.(type) {
		case string:
			out = append(out, textSlot{text: t, set: set, answer: answer != nil && answer(parent, key)})
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(t)) {
				if structural[k] || (k == "data" && t["type"] != "text") {
					continue
				}
				walk(t, k, t[k], func(s string) { t[k] = s })
			}
		case []any:
			for i, e := range t {
				walk(parent, key, e, func(s string) { t[i] = s })
			}
		}
	}
	walk(m, key, m[key], func(s string) { m[key] = s })
	return out
}
