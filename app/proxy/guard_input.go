package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
)

// textSlot is one piece of text a request carries (a message's content,
// a text part, a system prompt, an embedding's input), and how to put a
// redacted version back.
type textSlot struct {
	text string
	set  func(string)
}

// inputSlots finds the text of a request body in the endpoint's dialect:
// chat messages (string contents and text parts), Anthropic's system and
// text blocks, embeddings' input. root is the decoded body the setters
// write into.
func inputSlots(endpoint string, body []byte) (slots []textSlot, root map[string]any, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil || root == nil {
		return nil, nil, errors.New("the request body must be one JSON object")
	}
	switch endpoint {
	case "/v1/embeddings":
		slots = stringsIn(root, "input")
	case "/v1/completions":
		slots = stringsIn(root, "prompt")
	case "/v1/responses":
		slots = append(stringsIn(root, "instructions"), stringsIn(root, "input")...)
		items, _ := root["input"].([]any)
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				slots = append(slots, contentSlots(m, "content")...)
			}
		}
	case "/v1/messages":
		slots = append(slots, contentSlots(root, "system")...)
		fallthrough
	default:
		msgs, _ := root["messages"].([]any)
		for _, m := range msgs {
			if mm, ok := m.(map[string]any); ok {
				slots = append(slots, contentSlots(mm, "content")...)
			}
		}
	}
	return slots, root, nil
}

// stringsIn is a member that is a string or an array of strings.
func stringsIn(m map[string]any, key string) []textSlot {
	switch v := m[key].(type) {
	case string:
		return []textSlot{{text: v, set: func(s string) { m[key] = s }}}
	case []any:
		var out []textSlot
		for i, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, textSlot{text: s, set: func(r string) { v[i] = r }})
			}
		}
		return out
	}
	return nil
}

// contentSlots is a content member: a string, or parts/blocks of which
// those with a text member are text.
func contentSlots(m map[string]any, key string) []textSlot {
	switch v := m[key].(type) {
	case string:
		return []textSlot{{text: v, set: func(s string) { m[key] = s }}}
	case []any:
		var out []textSlot
		for _, p := range v {
			part, ok := p.(map[string]any)
			if !ok {
				continue
			}
			if s, ok := part["text"].(string); ok {
				out = append(out, textSlot{text: s, set: func(r string) { part["text"] = r }})
			}
			if inner, ok := part["content"]; ok { // a tool result's own content
				if _, isList := inner.([]any); isList {
					out = append(out, contentSlots(part, "content")...)
				} else if _, isString := inner.(string); isString {
					out = append(out, contentSlots(part, "content")...)
				}
			}
		}
		return out
	}
	return nil
}
