package guardrail

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// pattern is a regex check's expression and the longest literal every
// match of it holds, if any: a text without that literal cannot match,
// and finding a literal costs far less than running the expression.
//
// A stream holds back only what a match could still be forming in: prog
// runs the expression as an automaton over the held text to find the
// earliest start of a match that more text could complete.
type pattern struct {
	re      *regexp.Regexp
	literal string // folded when fold
	fold    bool
	prog    *syntax.Prog
}

func newPattern(re *regexp.Regexp) *pattern {
	p := &pattern{re: re}
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return p
	}
	tree = tree.Simplify()
	p.prog, _ = syntax.Compile(tree)
	if lit := requiredLiteral(tree); lit != nil {
		p.fold = lit.Flags&syntax.FoldCase != 0
		p.literal = string(lit.Rune)
		if p.fold {
			p.literal = string(foldCase(p.literal, nil))
		}
	}
	return p
}

// requiredLiteral is the longest literal node every match goes through.
func requiredLiteral(re *syntax.Regexp) *syntax.Regexp {
	switch re.Op {
	case syntax.OpLiteral:
		return re
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		var best *syntax.Regexp
		for _, sub := range re.Sub {
			if l := requiredLiteral(sub); l != nil && (best == nil || len(l.Rune) > len(best.Rune)) {
				best = l
			}
		}
		return best
	}
	return nil
}

// find gives the spans the expression matches.
func (p *pattern) find(text string) [][]int {
	switch {
	case p.literal == "":
	case !p.fold && !strings.Contains(text, p.literal):
		return nil
	case p.fold && !strings.Contains(string(foldCase(text, make([]byte, 0, len(text)+utf8.UTFMax))), p.literal):
		return nil
	}
	return p.re.FindAllStringIndex(text, -1)
}

// holdback is how many bytes at the end of text a match could still be
// forming in (one that more text could complete), at most window: the
// expression runs as an automaton from every position of the last window
// bytes, and the earliest start of a thread still alive at the end is
// where the hold begins. Anchors and word boundaries are taken as met,
// which can only hold more.
func (p *pattern) holdback(text string, window int) int {
	if p.prog == nil {
		return min(window, len(text))
	}
	if len(text) > window {
		cut := len(text) - window
		for cut < len(text) && !utf8.RuneStart(text[cut]) {
			cut++
		}
		text = text[cut:]
	}
	type thread struct{ pc, start int }
	var now, next []thread
	hold := 0
	seen := make([]int, len(p.prog.Inst)) // the position+1 at which a pc was last added
	var add func(list []thread, pc, start, at int, assumed bool) []thread
	add = func(list []thread, pc, start, at int, assumed bool) []thread {
		if seen[pc] == at+1 {
			return list
		}
		seen[pc] = at + 1
		switch in := &p.prog.Inst[pc]; in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			list = add(list, int(in.Out), start, at, assumed)
			return add(list, int(in.Arg), start, at, assumed)
		case syntax.InstCapture, syntax.InstNop:
			return add(list, int(in.Out), start, at, assumed)
		case syntax.InstEmptyWidth:
			return add(list, int(in.Out), start, at, true)
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			return append(list, thread{pc, start})
		case syntax.InstMatch:
			// A match at the very end that took an anchor or a word boundary
			// as met: more text may undo it, so it is held too.
			if assumed && at == len(text) {
				hold = max(hold, len(text)-start)
			}
		}
		return list // a match (complete: the scan finds it) or a dead end
	}
	for i, r := range text {
		now = add(now, p.prog.Start, i, i, false)
		next = next[:0]
		_, size := utf8.DecodeRuneInString(text[i:])
		at := i + size
		for _, t := range now {
			if in := &p.prog.Inst[t.pc]; in.MatchRune(r) {
				next = add(next, int(in.Out), t.start, at, false)
			}
		}
		now, next = next, now
	}
	for _, t := range now {
		hold = max(hold, len(text)-t.start)
	}
	return hold
}
