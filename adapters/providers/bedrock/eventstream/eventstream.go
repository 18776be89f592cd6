// Package eventstream reads and writes the AWS event stream encoding
// (application/vnd.amazon.eventstream) that Bedrock streams answers in:
// length-prefixed messages of headers and a payload, each checked by two
// CRC32s.
package eventstream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Message is one message: its string-valued headers (others are
// skipped) and its payload, valid until the next read.
type Message struct {
	Headers map[string]string
	Payload []byte
}

// maxFrame bounds one message; a longer one is an error, not a hang.
const maxFrame = 16 << 20

// ErrMalformed is a message that breaks the encoding's rules.
var ErrMalformed = errors.New("malformed event stream")

// Reader reads messages one at a time as they arrive.
type Reader struct {
	r    *bufio.Reader
	body io.Closer
	buf  []byte
}

// NewReader reads messages from body; Close closes it.
func NewReader(body io.ReadCloser) *Reader {
	return &Reader{r: bufio.NewReaderSize(body, 32<<10), body: body}
}

// Next reads the next message: io.EOF at a clean end between messages,
// io.ErrUnexpectedEOF in the middle of one.
func (f *Reader) Next() (Message, error) {
	var prelude [12]byte
	if _, err := io.ReadFull(f.r, prelude[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return Message{}, io.EOF
		}
		return Message{}, io.ErrUnexpectedEOF
	}
	total := binary.BigEndian.Uint32(prelude[0:4])
	headersLen := binary.BigEndian.Uint32(prelude[4:8])
	if crc32.ChecksumIEEE(prelude[:8]) != binary.BigEndian.Uint32(prelude[8:12]) {
		return Message{}, fmt.Errorf("%w: prelude checksum", ErrMalformed)
	}
	if total < 16 || total > maxFrame || uint64(headersLen) > uint64(total)-16 {
		return Message{}, fmt.Errorf("%w: lengths %d/%d", ErrMalformed, total, headersLen)
	}
	if cap(f.buf) < int(total) {
		f.buf = make([]byte, total)
	}
	msg := f.buf[:total]
	copy(msg, prelude[:])
	if _, err := io.ReadFull(f.r, msg[12:]); err != nil {
		return Message{}, io.ErrUnexpectedEOF
	}
	if crc32.ChecksumIEEE(msg[:total-4]) != binary.BigEndian.Uint32(msg[total-4:]) {
		return Message{}, fmt.Errorf("%w: message checksum", ErrMalformed)
	}
	headers, err := parseHeaders(msg[12 : 12+headersLen])
	if err != nil {
		return Message{}, err
	}
	return Message{Headers: headers, Payload: msg[12+headersLen : total-4]}, nil
}

// Close closes the body.
func (f *Reader) Close() error { return f.body.Close() }

// headerValueSizes are the fixed sizes of the non-string header types
// (bool true/false carry no bytes).
var headerValueSizes = map[byte]int{0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}

func parseHeaders(b []byte) (map[string]string, error) {
	out := map[string]string{}
	for len(b) > 0 {
		nameLen := int(b[0])
		if len(b) < 1+nameLen+1 {
			return nil, fmt.Errorf("%w: header name", ErrMalformed)
		}
		name := string(b[1 : 1+nameLen])
		typ := b[1+nameLen]
		b = b[2+nameLen:]
		switch typ {
		case 6, 7: // byte array, string
			if len(b) < 2 {
				return nil, fmt.Errorf("%w: header %s", ErrMalformed, name)
			}
			n := int(binary.BigEndian.Uint16(b))
			if len(b) < 2+n {
				return nil, fmt.Errorf("%w: header %s", ErrMalformed, name)
			}
			if typ == 7 {
				out[name] = string(b[2 : 2+n])
			}
			b = b[2+n:]
		default:
			size, ok := headerValueSizes[typ]
			if !ok || len(b) < size {
				return nil, fmt.Errorf("%w: header %s of type %d", ErrMalformed, name, typ)
			}
			b = b[size:]
		}
	}
	return out, nil
}

// Encode writes one message with string-valued headers.
func Encode(headers map[string]string, payload []byte) []byte {
	var hb []byte
	for name, value := range headers {
		hb = append(hb, byte(len(name)))
		hb = append(hb, name...)
		hb = append(hb, 7)
		hb = binary.BigEndian.AppendUint16(hb, uint16(len(value)))
		hb = append(hb, value...)
	}
	total := 12 + len(hb) + len(payload) + 4
	msg := make([]byte, 0, total)
	msg = binary.BigEndian.AppendUint32(msg, uint32(total))
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(hb)))
	msg = binary.BigEndian.AppendUint32(msg, crc32.ChecksumIEEE(msg[:8]))
	msg = append(msg, hb...)
	msg = append(msg, payload...)
	return binary.BigEndian.AppendUint32(msg, crc32.ChecksumIEEE(msg))
}
