// Package api carries the admin API's OpenAPI document, the source of truth
// for every admin route; the server serves it at /admin/v1/openapi.yaml.
package api

import _ "embed"

// OpenAPI is openapi.yaml's bytes.
//
//go:embed openapi.yaml
var OpenAPI []byte
