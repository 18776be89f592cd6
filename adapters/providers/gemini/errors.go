package gemini

import "encoding/json"

// parseError reads Google's error shape.
func parseError(b []byte) (message, typ, code string, ok bool) {
	var w wireError
	if json.Unmarshal(b, &w) != nil || w.Error.Message == "" {
		return "", "", "", false
	}
	return w.Error.Message, w.Error.Status, "", true
}
