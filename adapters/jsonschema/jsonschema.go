// Package jsonschema compiles the JSON Schemas of guardrails' json_schema
// checks with santhosh-tekuri/jsonschema, refusing schemas that would
// load anything from the network or the disk.
package jsonschema

import (
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gatehouse/gatehouse/domain/guardrail"
)

// Compile is a guardrail.SchemaCompiler.
func Compile(schema map[string]any) (guardrail.Validate, error) {
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource("guardrail.json", schema); err != nil {
		return nil, err
	}
	s, err := c.Compile("guardrail.json")
	if err != nil {
		return nil, err
	}
	return func(text string) error {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
		if err != nil {
			return guardrail.ErrNotJSON
		}
		return s.Validate(v)
	}, nil
}

var _ guardrail.SchemaCompiler = Compile

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemas may not refer to %s", url)
}
