package openai

import "encoding/json"

// wireError is OpenAI's error body.
type wireError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	} `json:"error"`
}

// parseError reads OpenAI's error shape.
func parseError(b []byte) (message, typ, code string, ok bool) {
	var w wireError
	if json.Unmarshal(b, &w) != nil || w.Error.Message == "" {
		return "", "", "", false
	}
	code, _ = w.Error.Code.(string)
	return w.Error.Message, w.Error.Type, code, true
}
