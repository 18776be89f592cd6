package bedrock

import "encoding/json"

// parseError reads Bedrock's error shape, {"message": …}; its type is in
// the x-amzn-ErrorType header, which the status already conveys.
func parseError(b []byte) (message, typ, code string, ok bool) {
	var w wireError
	if json.Unmarshal(b, &w) != nil || w.Message == "" {
		return "", "", "", false
	}
	return w.Message, "", "", true
}
