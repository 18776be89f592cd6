package cohere

import "encoding/json"

// parseError reads Cohere's error shape, {"message": …}.
func parseError(b []byte) (message, typ, code string, ok bool) {
	var w wireError
	if json.Unmarshal(b, &w) != nil || w.Message == "" {
		return "", "", "", false
	}
	return w.Message, "", "", true
}
