package guardrail

import "unicode/utf8"

// StreamRedactor redacts a text that arrives in pieces: it holds back
// only the tail that a match could still be forming in (a trailing word,
// a run of digits, the start of a key's prefix; never more than the
// check's window), so an e-mail or a key split across chunks is caught
// whole, and passes the rest on at once.
type StreamRedactor struct {
	// Keep: pass the text on as it came (a guardrail that blocks or flags
	// only needs the findings), still held back until it cannot be a match.
	Keep   bool
	checks []Check
	window int
	buf    string
	left   string // the last rune passed on: a match's left boundary
	found  []Finding
}

// NewStreamRedactor builds a redactor for the guardrail's span checks
// (pii, secrets, words, regex on match); it says false when one of its
// checks needs the whole text (length, json_schema, webhook,
// prompt_injection), which a stream cannot be redacted by piece by piece.
func (g *Guardrail) NewStreamRedactor() (*StreamRedactor, bool) {
	r := &StreamRedactor{}
	for _, c := range g.Checks {
		w := c.Window()
		if w < 0 {
			return nil, false
		}
		r.checks = append(r.checks, c)
		r.window = max(r.window, w)
	}
	return r, true
}

// Window is how many bytes the redactor may hold back.
func (r *StreamRedactor) Window() int { return r.window }

// Findings are the entities redacted so far.
func (r *StreamRedactor) Findings() []Finding { return r.found }

func (r *StreamRedactor) scan(text string) []Finding {
	var fs []Finding
	for _, c := range r.checks {
		fs = append(fs, c.run(text).Findings...)
	}
	return merge(fs)
}

// Write takes the next piece and returns the text that can be passed on.
func (r *StreamRedactor) Write(piece string) string {
	r.buf += piece
	hold := 0
	for _, c := range r.checks {
		hold = max(hold, c.holdback(r.buf))
	}
	cut := len(r.buf) - hold
	if cut <= 0 {
		return ""
	}
	// Scan with the rune before the buffer, so that boundaries (a digit or
	// a letter just before a match) are seen as they are in the whole text.
	ctx := r.left + r.buf
	off := len(r.left)
	var before []Finding
	for _, f := range r.scan(ctx) {
		f.Start, f.End = f.Start-off, f.End-off
		if f.End <= 0 {
			continue
		}
		f.Start = max(f.Start, 0)
		if f.Start < cut && f.End > cut {
			cut = f.Start // hold a match that reaches past the cut whole
		}
		before = append(before, f)
	}
	for cut > 0 && cut < len(r.buf) && !utf8.RuneStart(r.buf[cut]) {
		cut--
	}
	if cut <= 0 {
		return ""
	}
	var keep []Finding
	for _, f := range before {
		if f.End <= cut {
			keep = append(keep, f)
		}
	}
	return r.emit(cut, keep)
}

// Flush passes on what was held back, redacted.
func (r *StreamRedactor) Flush() string {
	if r.buf == "" {
		return ""
	}
	ctx := r.left + r.buf
	off := len(r.left)
	var fs []Finding
	for _, f := range r.scan(ctx) {
		f.Start, f.End = max(f.Start-off, 0), f.End-off
		if f.End > 0 {
			fs = append(fs, f)
		}
	}
	return r.emit(len(r.buf), fs)
}

func (r *StreamRedactor) emit(cut int, fs []Finding) string {
	out := r.buf[:cut]
	if !r.Keep {
		out = Redact(out, fs)
	}
	r.found = append(r.found, fs...)
	if _, size := utf8.DecodeLastRuneInString(r.buf[:cut]); size > 0 {
		r.left = r.buf[cut-size : cut]
	}
	r.buf = r.buf[cut:]
	return out
}

// Discard drops what is held back: text that will never be passed on (the
// stream goes on elsewhere from what was passed on).
func (r *StreamRedactor) Discard() { r.buf, r.left = "", "" }
