package sse_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/adapters/providers/sse"
)

func TestReader_YieldsEachEventsDataUntilDone(t *testing.T) {
	in := ": keep-alive\n\ndata: {\"a\":1}\n\ndata: line1\r\ndata: line2\r\n\r\nevent: ping\ndata: {}\n\ndata: [DONE]\n\ndata: after\n\n"
	r := sse.NewReader(io.NopCloser(strings.NewReader(in)))
	var got []string
	for {
		d, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(d))
	}
	want := []string{`{"a":1}`, "line1\nline2", "{}"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestReader_HandlesLongLinesAndAMissingFinalBlankLine(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	r := sse.NewReader(io.NopCloser(strings.NewReader("data: " + long + "\n\ndata: [DONE]")))
	d, err := r.Next()
	if err != nil || string(d) != long {
		t.Fatalf("long event: %d bytes, %v", len(d), err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after last event: %v", err)
	}
}

func TestReader_ABodyCutOffBeforeDoneIsAnError(t *testing.T) {
	r := sse.NewReader(io.NopCloser(strings.NewReader("data: {\"a\":1}\n\n")))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a stream without [DONE] ended with %v, want io.ErrUnexpectedEOF", err)
	}
}

// FuzzReader feeds arbitrary bytes as an event stream: reading must end,
// without a panic, and end cleanly only after [DONE].
func FuzzReader(f *testing.F) {
	f.Add([]byte(": keep-alive\n\ndata: {\"a\":1}\n\nevent: ping\ndata: {}\r\n\r\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]"))
	f.Add([]byte("data: x\ndata: y\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := sse.NewReader(io.NopCloser(strings.NewReader(string(body))))
		for i := 0; ; i++ {
			if i > len(body)+1 {
				t.Fatalf("more events than bytes in %q", body)
			}
			_, err := r.Next()
			if errors.Is(err, io.EOF) && !strings.Contains(string(body), "[DONE]") {
				t.Fatalf("a stream without [DONE] ended cleanly: %q", body)
			}
			if err != nil {
				return
			}
		}
	})
}
