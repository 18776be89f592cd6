package proxy

import "bytes"

// textMembers are the members whose string values carry what a model
// wrote, in every dialect a stream is passed on in: chat deltas, tool
// call arguments, Anthropic's text and JSON deltas, Responses deltas.
var textMembers = [][]byte{
	[]byte(`"content":"`), []byte(`"text":"`), []byte(`"partial_json":"`), []byte(`"arguments":"`),
	[]byte(`"delta":"`), []byte(`"refusal":"`), []byte(`"thinking":"`),
}

// textBytes counts the bytes of text a chunk carries, as JSON strings
// (escapes counted as written): enough to bound the tokens a stream cut
// mid-answer delivered.
func textBytes(chunk []byte) int {
	n := 0
	for _, m := range textMembers {
		rest := chunk
		for {
			i := bytes.Index(rest, m)
			if i < 0 {
				break
			}
			rest = rest[i+len(m):]
			end := stringEnd(rest)
			n += end
			rest = rest[end:]
		}
	}
	return n
}

// stringEnd is the length of a JSON string's body up to its closing quote.
func stringEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(b)
}

// streamedTokens bounds the tokens in n bytes of streamed text from above:
// a token is rarely shorter than three bytes (a CJK character is three).
func streamedTokens(n int) int64 { return int64((n + 2) / 3) }
