package anthropic

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/gatehouse/gatehouse/adapters/providers/sse"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// nativeStream passes Messages API events through. The stream ends after
// message_stop; a body that ends before it, or an error event, is an
// *proxy.UpstreamError, so a broken stream never looks finished.
type nativeStream struct {
	events *sse.Reader
	done   bool
}

func (s *nativeStream) Next() ([]byte, error) {
	if s.done {
		return nil, io.EOF
	}
	data, err := s.events.Next()
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, &proxy.UpstreamError{Message: "the upstream stream ended before the message was complete"}
	case err != nil:
		return nil, err
	}
	typ := s.events.Event
	if typ == "" { // the event line is optional; the data names its type too
		var ev struct {
			Type string `json:"type"`
		}
		json.Unmarshal(data, &ev)
		typ = ev.Type
	}
	switch typ {
	case "message_stop":
		s.done = true
	case "error":
		if msg, typ, _, ok := parseError(data); ok {
			return nil, &proxy.UpstreamError{Type: typ, Message: msg}
		}
		return nil, &proxy.UpstreamError{Message: "the upstream stream failed"}
	}
	return data, nil
}

func (s *nativeStream) Close() error { return s.events.Close() }
