// Package jsontop reads and rewrites the top-level members of a JSON object
// in place, without decoding the rest: the proxy changes a request's model
// or stream options and reads an answer's usage while every other byte
// passes through as the client or upstream wrote it.
package jsontop

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrNotObject is input that is not one well-formed JSON object.
var ErrNotObject = errors.New("not a JSON object")

// Member is one top-level member: spans of the raw key (without quotes) and
// the raw value, as offsets into the object's bytes.
type Member struct {
	Key        []byte
	ValueStart int
	ValueEnd   int
	// Start and End cover the whole member, key through value.
	Start, End int
}

// Scan calls fn for each top-level member in order; fn returns false to stop.
func Scan(b []byte, fn func(m Member) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return ErrNotObject
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return fmt.Errorf("%w: expected a member name at offset %d", ErrNotObject, i)
		}
		start := i
		keyEnd, err := skipString(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : keyEnd-1]
		i = skipSpace(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return fmt.Errorf("%w: expected ':' at offset %d", ErrNotObject, i)
		}
		i = skipSpace(b, i+1)
		vs := i
		ve, err := skipValue(b, i)
		if err != nil {
			return err
		}
		if !fn(Member{Key: key, ValueStart: vs, ValueEnd: ve, Start: start, End: ve}) {
			return nil
		}
		i = skipSpace(b, ve)
		if i >= len(b) {
			return fmt.Errorf("%w: unterminated object", ErrNotObject)
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return trailing(b, i+1)
		default:
			return fmt.Errorf("%w: expected ',' or '}' at offset %d", ErrNotObject, i)
		}
	}
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return fmt.Errorf("%w: data after the object", ErrNotObject)
	}
	return nil
}

// Get returns the raw value of a top-level member.
func Get(b []byte, key string) (raw []byte, ok bool, err error) {
	err = Scan(b, func(m Member) bool {
		if string(m.Key) == key {
			raw, ok = b[m.ValueStart:m.ValueEnd], true
		}
		return true // keep going: the whole object is validated, and the last duplicate wins as in encoding/json
	})
	if err != nil {
		return nil, false, err
	}
	return raw, ok, nil
}

// Set returns b with the member's value replaced by raw, or the member
// appended when absent. raw must be valid JSON.
func Set(b []byte, key string, raw []byte) ([]byte, error) {
	var found *Member
	var last Member
	n := 0
	err := Scan(b, func(m Member) bool {
		if string(m.Key) == key {
			mm := m
			found = &mm
		}
		last = m
		n++
		return true
	})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(raw)+len(key)+4)
	if found != nil {
		out = append(out, b[:found.ValueStart]...)
		out = append(out, raw...)
		return append(out, b[found.ValueEnd:]...), nil
	}
	if n == 0 {
		end := bytes.LastIndexByte(b, '}')
		out = append(out, b[:end]...)
		out = appendMember(out, key, raw)
		return append(out, b[end:]...), nil
	}
	out = append(out, b[:last.End]...)
	out = append(out, ',')
	out = appendMember(out, key, raw)
	return append(out, b[last.End:]...), nil
}

func appendMember(out []byte, key string, raw []byte) []byte {
	out = append(out, '"')
	out = append(out, key...) // keys set here are fixed identifiers, never user text
	out = append(out, '"', ':')
	return append(out, raw...)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the offset just past the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '\\':
			j++
		case c == '"':
			return j + 1, nil
		case c < 0x20:
			return 0, fmt.Errorf("%w: control character in string at offset %d", ErrNotObject, j)
		}
	}
	return 0, fmt.Errorf("%w: unterminated string", ErrNotObject)
}

// skipValue returns the offset just past the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, fmt.Errorf("%w: missing value", ErrNotObject)
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("%w: unterminated %c", ErrNotObject, c)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		j := i + 1
		for j < len(b) && bytes.IndexByte([]byte("0123456789.eE+-"), b[j]) >= 0 {
			j++
		}
		return j, nil
	}
	return 0, fmt.Errorf("%w: unexpected %q at offset %d", ErrNotObject, b[i], i)
}

func literal(b []byte, i int, lit string) (int, error) {
	if !bytes.HasPrefix(b[i:], []byte(lit)) {
		return 0, fmt.Errorf("%w: bad literal at offset %d", ErrNotObject, i)
	}
	return i + len(lit), nil
}
