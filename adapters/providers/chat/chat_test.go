package chat_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/adapters/providers/chat"
	"github.com/gatehouse/gatehouse/app/proxy"
)

func TestDecode_RefusesWhatTheTranslationWouldDrop(t *testing.T) {
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	for body, param := range map[string]string{
		`{"model":"m",` + msgs + `,"logit_bias":{"50256":-100}}`:                "logit_bias",
		`{"model":"m",` + msgs + `,"top_logprobs":3}`:                           "top_logprobs",
		`{"model":"m",` + msgs + `,"functions":[{"name":"f","parameters":{}}]}`: "functions",
		`{"model":"m",` + msgs + `,"function_call":"auto"}`:                     "function_call",
		`{"model":"m",` + msgs + `,"metadata":{"a":"b"},"store":true}`:          "metadata",
		`{"model":"m",` + msgs + `,"web_search_options":{}}`:                    "web_search_options",
		`{"model":"m","messages":[]}`:                                           "messages",
		`{"model":"m",` + msgs + `,"temperature":"hot"}`:                        "",
	} {
		_, err := chat.Decode([]byte(body), "Test's API")
		r, ok := proxy.IsRefusal(err)
		if !ok || r.Status != 400 || r.Param != param {
			t.Errorf("%s: got %v (%+v), want a 400 naming %q", body, err, r, param)
		}
		if param == "functions" && !strings.Contains(r.Message, "tools") {
			t.Errorf("functions: the refusal does not point to tools: %s", r.Message)
		}
	}
	in, err := chat.Decode([]byte(`{"model":"m",`+msgs+`,"logit_bias":null,"user":"u-1","seed":3,"stream_options":{"include_usage":true}}`), "Test's API")
	if err != nil || in.User != "u-1" || !in.WantsUsage() {
		t.Fatalf("known fields and a null unknown one: %+v %v", in, err)
	}
}
