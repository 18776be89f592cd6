package proxy

import "testing"

// FuzzUsageReaders feeds arbitrary bytes, as an answer or a chunk in each
// dialect, to the readers that find usage on the way past: they must
// never panic, and never find usage in what is not a JSON object.
func FuzzUsageReaders(f *testing.F) {
	for _, s := range []string{
		`{"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":3}}}`,
		`{"type":"message_start","message":{"usage":{"input_tokens":21,"output_tokens":1,"cache_read_input_tokens":9}}}`,
		`{"type":"message_delta","usage":{"output_tokens":6}}`,
		`{"type":"response.completed","response":{"usage":{"input_tokens":9,"output_tokens":2}}}`,
		`{"usage":null}`, `[1]`, `{"usage":{"prompt_tokens":"x"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, found, _ := usageOf(b)
		for _, d := range []dialect{dialectOpenAI, dialectAnthropic, dialectResponses} {
			_, f2, _ := d.usageOf(b)
			found = found || f2
		}
		var c anthropicCounts
		f3, _ := c.event(b)
		_, f4 := responsesUsageOf(b)
		if (found || f3 || f4) && (len(b) < 2 || b[0] != '{' && b[0] != ' ' && b[0] != '\t' && b[0] != '\n' && b[0] != '\r') {
			t.Fatalf("usage found in %q", b)
		}
	})
}
