package guardrail_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/domain/guardrail"
)

func redactInPieces(t testing.TB, g *guardrail.Guardrail, text string, sizes []int) string {
	r, ok := g.NewStreamRedactor()
	if !ok {
		t.Fatal("no stream redactor")
	}
	var out strings.Builder
	for len(text) > 0 {
		n := len(text)
		if len(sizes) > 0 {
			n = min(max(sizes[0], 1), len(text))
			sizes = sizes[1:]
		}
		out.WriteString(r.Write(text[:n]))
		text = text[n:]
	}
	out.WriteString(r.Flush())
	return out.String()
}

var redactAll = `{"checks": [{"type": "pii"}, {"type": "secrets"}, {"type": "words", "words": ["darn", "red tape"]},
  {"type": "regex", "pattern": "(?i)top secret"}, {"type": "regex", "pattern": "\\bticket-[0-9]{3,6}\\b"}], "action": "redact"}`

func TestStreamRedactor_CatchesWhatIsSplitAcrossChunks(t *testing.T) {
	g := mustParse(t, redactAll)
	text := "Reach me at jane.doe@example.com or 4111 1111 1111 1111; the key is AKIAIOSFODNN7EXAMPLE. Darn! 日本語もOK."
	want := "Reach me at [REDACTED:EMAIL] or [REDACTED:CREDIT_CARD]; the key is [REDACTED:AWS_ACCESS_KEY]. [REDACTED:DENIED_WORD]! 日本語もOK."
	for _, sizes := range [][]int{nil, {1}, {3, 7, 2}, {20}, {16, 16, 16, 16, 16, 16, 16}} {
		pattern := sizes
		if len(pattern) == 1 { // that size throughout
			for len(pattern) < len(text) {
				pattern = append(pattern, sizes[0])
			}
		}
		if got := redactInPieces(t, g, text, pattern); got != want {
			t.Errorf("chunks %v:\n got %q\nwant %q", sizes, got, want)
		}
	}
}

func TestStreamRedactor_PassesTextOnOnceItCannotBeAMatch(t *testing.T) {
	g := mustParse(t, `{"checks": [{"type": "secrets"}], "action": "redact"}`)
	r, _ := g.NewStreamRedactor()
	long := strings.Repeat("plain words ", 1000)
	if out := r.Write(long); len(out) != len(long) {
		t.Fatalf("held back %d bytes of plain words", len(long)-len(out))
	}
	// Only what could still be a key is held: here, the "AKIA" it ends with.
	if out := r.Write("the key is AKIA"); out != "the key is " {
		t.Fatalf("passed on %q", out)
	}
	if out := r.Write("IOSFODNN7EXAMPLE and more"); out != "[REDACTED:AWS_ACCESS_KEY] and mor" { // an "e" could begin a JWT
		t.Fatalf("then passed on %q", out)
	}
	// A custom pattern holds only a tail that more text could make a match of.
	r, _ = mustParse(t, `{"checks": [{"type": "regex", "pattern": "(?i)top secret|ticket-[0-9]{3,6}"}], "action": "redact"}`).NewStreamRedactor()
	if out := r.Write("we talk about things"); out != "we talk about things" {
		t.Fatalf("a pattern held back %q", strings.TrimPrefix("we talk about things", out))
	}
	if out := r.Write(" that are To"); out != " that are " {
		t.Fatalf("a pattern passed on %q", out)
	}
	if out := r.Write("P SECRET, ticket-12"); out != "[REDACTED:REGEX], " {
		t.Fatalf("then %q", out)
	}
	if out := r.Write("34 is open"); out != "[REDACTED:REGEX] is open" {
		t.Fatalf("at last %q", out)
	}
	if _, ok := mustParse(t, `{"checks": [{"type": "length", "max_chars": 10}]}`).NewStreamRedactor(); ok {
		t.Fatal("a length check redacted piece by piece")
	}
}

// FuzzStreamRedactor: whatever the text and the chunking, no detector
// finds anything in what the redactor passed on.
func FuzzStreamRedactor(f *testing.F) {
	f.Add("mail jane@example.com card 4111 1111 1111 1111 key AKIAIOSFODNN7EXAMPLE", []byte{3, 1, 4, 1, 5, 9, 2, 6})
	f.Add("ghp_abcdefghijklmnopqrstuvwxyz0123456789 and +44 20 7946 0958", []byte{10})
	f.Add("日本語 taro@example.jp 192.168.0.1", []byte{1, 2})
	f.Add("this is Top Secret: ticket-12345 and ticket-1234567", []byte{2, 3, 1})
	g := mustParse(f, redactAll)
	f.Fuzz(func(t *testing.T, text string, chunking []byte) {
		sizes := make([]int, len(chunking))
		for i, b := range chunking {
			sizes[i] = int(b)%64 + 1
		}
		out := redactInPieces(t, g, text, sizes)
		for _, r := range g.Run(out, guardrail.StageOutput) {
			for _, fd := range r.Findings {
				t.Fatalf("%s passed on in %q (from %q, chunks %v)", fd.Entity, out[fd.Start:fd.End], text, sizes)
			}
		}
	})
}

// FuzzDetectors: no input makes a check panic.
func FuzzDetectors(f *testing.F) {
	f.Add("jane@example.com 4111-1111-1111-1111 GB82 WEST 1234 5698 7654 32 123-45-6789 ::1")
	g := mustParse(f, `{"checks": [{"type": "pii"}, {"type": "secrets"}, {"type": "prompt_injection"}, {"type": "words", "words": ["x"]}, {"type": "length", "max_tokens": 5}]}`)
	f.Fuzz(func(t *testing.T, text string) {
		for _, r := range g.Run(text, guardrail.StageInput) {
			for _, fd := range r.Findings {
				if fd.Start < 0 || fd.End > len(text) || fd.Start >= fd.End {
					t.Fatalf("finding %+v out of %d bytes", fd, len(text))
				}
			}
		}
	})
}

// TestStreamRedactor_PhrasesAndBoundariesAsInTheWholeText: a phrase split
// at its space is found whole, and a match at a chunk's end that more text
// undoes (a word boundary) is not redacted early.
func TestStreamRedactor_PhrasesAndBoundariesAsInTheWholeText(t *testing.T) {
	g := mustParse(t, redactAll)
	if got := redactInPieces(t, g, "no more red tape here", []int{10, 11}); got != "no more [REDACTED:DENIED_WORD] here" {
		t.Fatalf("a phrase split at its space: %q", got)
	}
	if got := redactInPieces(t, g, "ticket-1234567 is long", []int{13, 9}); got != "ticket-1234567 is long" {
		t.Fatalf("a boundary more text undid: %q", got)
	}
}
