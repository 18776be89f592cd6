package eventstream_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gatehouse/gatehouse/adapters/providers/bedrock/eventstream"
)

func read(b []byte) ([]eventstream.Message, error) {
	r := eventstream.NewReader(io.NopCloser(bytes.NewReader(b)))
	var out []eventstream.Message
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, eventstream.Message{Headers: m.Headers, Payload: append([]byte(nil), m.Payload...)})
	}
}

func TestMessages_RoundTripAndBreakCleanly(t *testing.T) {
	a := eventstream.Encode(map[string]string{":event-type": "messageStart", ":message-type": "event"}, []byte(`{"role":"assistant"}`))
	b := eventstream.Encode(map[string]string{":event-type": "messageStop"}, []byte(`{"stopReason":"end_turn"}`))
	msgs, err := read(append(append([]byte(nil), a...), b...))
	if err != nil || len(msgs) != 2 || msgs[0].Headers[":event-type"] != "messageStart" || string(msgs[1].Payload) != `{"stopReason":"end_turn"}` {
		t.Fatalf("%+v %v", msgs, err)
	}
	if _, err := read(append(append([]byte(nil), a...), b[:len(b)-3]...)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut message: %v", err)
	}
	bad := append([]byte(nil), a...)
	bad[len(bad)-6] ^= 0xff // a payload byte: the message checksum fails
	if _, err := read(bad); !errors.Is(err, eventstream.ErrMalformed) {
		t.Fatalf("corrupt message: %v", err)
	}
	huge := append([]byte(nil), a...)
	huge[0] = 0x7f // a length past the bound: the prelude checksum fails first
	if _, err := read(huge); !errors.Is(err, eventstream.ErrMalformed) {
		t.Fatalf("huge message: %v", err)
	}
}

// FuzzReader feeds arbitrary bytes: reading ends with messages or an
// error, never a panic or a hang.
func FuzzReader(f *testing.F) {
	f.Add(eventstream.Encode(map[string]string{":event-type": "contentBlockDelta"}, []byte(`{"delta":{"text":"hi"}}`)))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		read(b)
	})
}
