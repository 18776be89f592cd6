package guardrail

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// wordList is a words check's deny list: single words are looked up by
// their case fold, one lookup a word of the text; entries that hold more
// than one word ("e-mail", "top secret") are found by one expression,
// longest first.
type wordList struct {
	single   map[string]bool
	maxRunes int
	phrases  *regexp.Regexp // nil when every entry is a single word
	forming  *pattern       // the phrases, to hold back a stream's tail one could still be forming in
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

// foldCase maps every rune to the smallest of the runes it matches
// case-insensitively (the (?i) of RE2), so that two words that match have
// the same fold.
func foldCase(s string, buf []byte) []byte {
	buf = buf[:0]
	for _, r := range s {
		if r < utf8.RuneSelf { // an ASCII letter's upper case is the least of its folds (even K's and S's, with the Kelvin sign and the long s)
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			buf = append(buf, byte(r))
			continue
		}
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		buf = utf8.AppendRune(buf, least)
	}
	return buf
}

func newWordList(entries []string) *wordList {
	l := &wordList{single: map[string]bool{}}
	var phrases []string
	for _, e := range entries {
		if strings.IndexFunc(e, func(r rune) bool { return !isWordRune(r) }) < 0 {
			l.single[string(foldCase(e, nil))] = true
			l.maxRunes = max(l.maxRunes, utf8.RuneCountInString(e))
			continue
		}
		phrases = append(phrases, e)
	}
	if len(phrases) > 0 {
		slices.SortFunc(phrases, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
		alts := make([]string, len(phrases))
		for i, p := range phrases {
			alts[i] = regexp.QuoteMeta(p)
		}
		l.phrases = regexp.MustCompile(`(?i)(?:` + strings.Join(alts, "|") + `)`)
		l.forming = newPattern(l.phrases)
	}
	return l
}

// find gives the spans of the list's entries in a text, as whole words.
func (l *wordList) find(text string) []Finding {
	var out []Finding
	if len(l.single) > 0 {
		var buf []byte
		start, runes := -1, 0
		check := func(end int) {
			if start >= 0 && runes <= l.maxRunes {
				buf = foldCase(text[start:end], buf)
				if l.single[string(buf)] {
					out = append(out, Finding{Entity: "DENIED_WORD", Start: start, End: end})
				}
			}
			start = -1
		}
		for i, r := range text {
			if !isWordRune(r) {
				check(i)
				continue
			}
			if start < 0 {
				start, runes = i, 0
			}
			runes++
		}
		check(len(text))
	}
	if l.phrases != nil {
		for _, m := range l.phrases.FindAllStringIndex(text, -1) {
			if wordBound(text, m[0], m[1]) {
				out = append(out, Finding{Entity: "DENIED_WORD", Start: m[0], End: m[1]})
			}
		}
		slices.SortFunc(out, func(a, b Finding) int { return cmp.Compare(a.Start, b.Start) })
	}
	return out
}
