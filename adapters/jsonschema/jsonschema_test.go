package jsonschema_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/adapters/jsonschema"
	"github.com/gatehouse/gatehouse/domain/guardrail"
)

func TestJSONSchemaChecks_ValidateAnswersAndRefuseBadSchemas(t *testing.T) {
	for _, c := range []struct{ def, text, want string }{
		{`{"checks": [{"type": "json_schema", "schema": {"type": "object", "required": ["answer"]}}]}`, `{"answer": 42}`, "pass"},
		{`{"checks": [{"type": "json_schema", "schema": {"type": "object", "required": ["answer"]}}]}`, `{"other": 1}`, "fail"},
		{`{"checks": [{"type": "json_schema", "schema": {"type": "object"}}]}`, `not json`, "fail"},
	} {
		g, err := guardrail.Parse([]byte(c.def), jsonschema.Compile)
		if err != nil {
			t.Fatal(err)
		}
		if rs := g.Run(c.text, guardrail.StageOutput); len(rs) != 1 || rs[0].Outcome != c.want {
			t.Errorf("%s on %q: %+v, want %s", c.def, c.text, rs, c.want)
		}
	}
	for _, def := range []string{
		`{"checks": [{"type": "json_schema", "schema": {"type": 7}}]}`,
		`{"checks": [{"type": "json_schema", "schema": {"$ref": "https://evil.example/s.json"}}]}`,
	} {
		_, err := guardrail.Parse([]byte(def), jsonschema.Compile)
		if !errors.Is(err, guardrail.ErrInvalid) || !strings.Contains(err.Error(), "checks[0].schema:") {
			t.Errorf("%s: %v, want an error naming checks[0].schema", def, err)
		}
	}
}
