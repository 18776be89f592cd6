package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// dialectRow is one line of BenchmarkDialects: a kind, answer or stream,
// and its cost per request.
type dialectRow struct {
	kind, mode    string
	ns, bytes, op float64
}

// parseDialects reads `go test -bench Dialects -benchmem` output:
// BenchmarkDialects/<kind>/<mode>-N  iters  X ns/op  Y MB/s  Z B/op  W allocs/op.
func parseDialects(out []byte) []dialectRow {
	var rows []dialectRow
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "BenchmarkDialects/") {
			continue
		}
		name := strings.TrimPrefix(fields[0], "BenchmarkDialects/")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		kind, mode, ok := strings.Cut(name, "/")
		if !ok {
			continue
		}
		row := dialectRow{kind: strings.ReplaceAll(kind, "_", " "), mode: mode}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch fields[i+1] {
			case "ns/op":
				row.ns = v
			case "B/op":
				row.bytes = v
			case "allocs/op":
				row.op = v
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// dialectsSection tables the rows, each against the pass-through row of
// the same mode measured in the same run.
func dialectsSection(rows []dialectRow) string {
	base := map[string]float64{}
	for _, r := range rows {
		if strings.Contains(r.kind, "pass-through") {
			base[r.mode] = r.ns
		}
	}
	var b strings.Builder
	b.WriteString("## Pass-through and translation\n\n" +
		"One OpenAI chat request (multi-turn, a system prompt, a tool and a tool result; about 2 KB) through each kind's client " +
		"to a canned upstream in memory, answered with the same text and usage in each provider's wire format " +
		"(`go test -bench Dialects ./adapters/providers`). The same-dialect kind sends the body on as it came (the gateway " +
		"has already renamed the model in place) and hands the answer back as it is; the other kinds decode the request, " +
		"translate and encode it, and translate the answer, or each event of the stream (one per word of the answer, plus the framing events) back. " +
		"A stream here is the whole stream, read to its end.\n\n" +
		"| kind | call | time per request | × pass-through | bytes allocated | allocations |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		ratio := "—"
		if v := base[r.mode]; v > 0 {
			ratio = fmt.Sprintf("%.1f×", r.ns/v)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f µs | %s | %.0f | %.0f |\n", r.kind, r.mode, r.ns/1000, ratio, r.bytes, r.op)
	}
	b.WriteString("\n")
	return b.String()
}
