package jsontop_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/app/proxy/jsontop"
)

func TestGet_FindsTopLevelMembersOnly(t *testing.T) {
	b := []byte(`{"messages":[{"role":"user","content":"say \"model\": x"}],"nested":{"model":"inner"},"model":"mock/gpt-4o","stream":true}`)
	raw, ok, err := jsontop.Get(b, "model")
	if err != nil || !ok || string(raw) != `"mock/gpt-4o"` {
		t.Fatalf("got %s %v %v", raw, ok, err)
	}
	raw, ok, _ = jsontop.Get(b, "stream")
	if !ok || string(raw) != "true" {
		t.Fatalf("stream: %s", raw)
	}
	if _, ok, _ := jsontop.Get(b, "absent"); ok {
		t.Fatal("found an absent member")
	}
}

func TestSet_ReplacesOrAppendsAndKeepsEverythingElse(t *testing.T) {
	cases := []struct{ in, key, raw, want string }{
		{`{"model":"a/b","n":1}`, "model", `"b"`, `{"model":"b","n":1}`},
		{`{ "n" : 1 , "model" : "a/b" }`, "model", `"b"`, `{ "n" : 1 , "model" : "b" }`},
		{`{"n":1}`, "stream_options", `{"include_usage":true}`, `{"n":1,"stream_options":{"include_usage":true}}`},
		{`{}`, "x", `1`, `{"x":1}`},
		{` { } `, "x", `1`, ` { "x":1} `},
	}
	for _, c := range cases {
		got, err := jsontop.Set([]byte(c.in), c.key, []byte(c.raw))
		if err != nil || string(got) != c.want {
			t.Errorf("Set(%s, %s, %s) = %s, %v; want %s", c.in, c.key, c.raw, got, err, c.want)
		}
	}
}

func TestScan_RejectsWhatIsNotOneObject(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"a":}`, `{"a":1`, `{"a":1}x`, `{"a" 1}`, `{a:1}`, `{"a":tru}`, `{"a":"x}`, `{"a":[1,2}`} {
		if _, _, err := jsontop.Get([]byte(in), "a"); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func FuzzSet_AgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"model":"x","a":[1,{"b":"}"}]}`, `{}`, `{"s":"\\\"","model":null}`, `{"a":1e5,"b":-0.5,"c":false}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var orig map[string]any
		if json.Unmarshal([]byte(in), &orig) != nil {
			return
		}
		out, err := jsontop.Set([]byte(in), "model", []byte(`"rewritten"`))
		if err != nil {
			return // stricter than encoding/json in places (e.g. invalid UTF-8 is passed, not judged)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Set produced invalid JSON from %q: %s", in, out)
		}
		orig["model"] = "rewritten"
		if !reflect.DeepEqual(orig, got) {
			t.Fatalf("Set changed more than the model:\n in %s\nout %s", in, out)
		}
	})
}
