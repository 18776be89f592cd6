package proxy

import "testing"

func TestTextBytes_CountsWhatTheModelWroteInEveryDialect(t *testing.T) {
	for chunk, want := range map[string]int{
		`{"choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}`:                 5,
		`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]}}]}`:  9,
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \"you\""}}`: 10,
		`{"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":"{\"x\""}}`: 6,
		`{"type":"response.output_text.delta","delta":"abc"}`:                                        3,
		`{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3}}`:                           0,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":6}}`:    0,
	} {
		if got := textBytes([]byte(chunk)); got != want {
			t.Errorf("%s: %d bytes, want %d", chunk, got, want)
		}
	}
	if streamedTokens(0) != 0 || streamedTokens(1) != 1 || streamedTokens(9) != 3 || streamedTokens(10) != 4 {
		t.Fatal("streamedTokens does not round up")
	}
}
