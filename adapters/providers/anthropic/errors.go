package anthropic

import "encoding/json"

// parseError reads the Messages API's error shape.
func parseError(b []byte) (message, typ, code string, ok bool) {
	var w wireError
	if json.Unmarshal(b, &w) != nil || w.Type != "error" || w.Error.Message == "" {
		return "", "", "", false
	}
	return w.Error.Message, w.Error.Type, "", true
}
