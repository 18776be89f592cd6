// Package sse reads server-sent events as they arrive, one event's data at
// a time, without buffering the stream.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxEvent bounds one event's data; a longer one is an error, not a hang.
const maxEvent = 8 << 20

// Reader yields the data of each event. "[DONE]" ends the stream (io.EOF);
// a body that ends without it was cut off (io.ErrUnexpectedEOF), so a broken
// upstream is never mistaken for a finished answer.
type Reader struct {
	body io.ReadCloser
	r    *bufio.Reader
	data []byte
	line []byte
	// Event is the type of the event last returned (its "event:" field).
	Event string
}

// ErrEventTooLarge is an event over the size bound.
var ErrEventTooLarge = errors.New("sse: event too large")

// NewReader reads events from body; Close closes it.
func NewReader(body io.ReadCloser) *Reader {
	return &Reader{body: body, r: bufio.NewReaderSize(body, 4<<10)}
}

var done = []byte("[DONE]")

// Next returns the next event's data, valid until the following call.
func (s *Reader) Next() ([]byte, error) {
	s.data = s.data[:0]
	s.Event = ""
	has, hasData := false, false
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && has {
				return s.dispatch()
			}
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(line) == 0 {
			if has {
				return s.dispatch()
			}
			continue
		}
		if line[0] == ':' {
			continue // comment / keep-alive
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if hasData {
				s.data = append(s.data, '\n')
			}
			if len(s.data)+len(value) > maxEvent {
				return nil, ErrEventTooLarge
			}
			s.data = append(s.data, value...)
			has, hasData = true, true
		case "event":
			s.Event = string(value)
			has = true
		}
	}
}

func (s *Reader) dispatch() ([]byte, error) {
	if bytes.Equal(s.data, done) {
		return nil, io.EOF
	}
	return s.data, nil
}

// readLine returns one line without its CR/LF ending.
func (s *Reader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		s.line = append(s.line, chunk...)
		if len(s.line) > maxEvent {
			return nil, ErrEventTooLarge
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(s.line) > 0 {
			break
		}
		return nil, err
	}
	return bytes.TrimRight(s.line, "\r\n"), nil
}

// Close closes the underlying body.
func (s *Reader) Close() error { return s.body.Close() }
