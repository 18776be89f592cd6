package main

import (
	"fmt"
	"strings"
	"time"
)

type report struct {
	s        settings
	results  map[string]*result
	answered int64
	recorded int64
	writer   writerResult
	profile  []byte
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func (r report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `make bench` on %s. Every number below comes from one run on one machine;\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	b.WriteString("compare the rows with each other, not with another machine's.\n\n## Machine\n\n")
	b.WriteString(machine())
	fmt.Fprintf(&b, "- Postgres: %s, on the same machine\n\n", r.writer.postgresVersion)
	b.WriteString("## Method\n\n")
	fmt.Fprintf(&b, "A fake OpenAI-compatible upstream on loopback answers a chat completion at once (or streams %d chunks and a usage chunk). "+
		"Three targets reach it: **direct**, a bare **`httputil.ReverseProxy`** in its own process, and **gatehouse** (`serve`, own process, "+
		"virtual key checked, model rewritten, usage read, one `request.completed` event per request written through the group-commit buffer into Postgres). "+
		"Latency: open-loop load at %d req/s for %s per round, %d rounds per target, targets interleaved; the median of the rounds' p50 and p99 is shown. "+
		"For streams, latency is the time to the first chunk. Throughput: %d clients in a closed loop for %s.\n\n",
		streamChunks, r.s.rate, r.s.duration, r.s.rounds, r.s.workers, r.s.duration)

	for _, mode := range []string{"plain", "stream"} {
		title := "Non-streamed"
		if mode == "stream" {
			title = "Streamed (time to first chunk)"
		}
		d, rp, gh := r.results["direct/"+mode], r.results["reverse proxy/"+mode], r.results["gatehouse/"+mode]
		fmt.Fprintf(&b, "## %s\n\n| target | p50 | p99 | peak req/s |\n| --- | --- | --- | --- |\n", title)
		for _, row := range []struct {
			name string
			r    *result
		}{{"direct", d}, {"reverse proxy", rp}, {"gatehouse", gh}} {
			fmt.Fprintf(&b, "| %s | %s | %s | %.0f |\n", row.name, ms(median(row.r.p50)), ms(median(row.r.p99)), row.r.rps)
		}
		addedP50 := median(gh.p50) - median(d.p50)
		addedP99 := median(gh.p99) - median(d.p99)
		ratio := gh.rps / rp.rps
		fmt.Fprintf(&b, "\n| target | measured | goal | |\n| --- | --- | --- | --- |\n")
		fmt.Fprintf(&b, "| added p50 (gatehouse − direct) | %s | ≤ 0.250 ms | %s |\n", ms(addedP50), verdict(addedP50 <= 250*time.Microsecond))
		fmt.Fprintf(&b, "| added p99 (gatehouse − direct) | %s | ≤ 0.500 ms | %s |\n", ms(addedP99), verdict(addedP99 <= 500*time.Microsecond))
		fmt.Fprintf(&b, "| peak throughput vs reverse proxy | %.0f%% | ≥ 70%% | %s |\n\n", 100*ratio, verdict(ratio >= 0.7))
	}

	b.WriteString("## Every request recorded\n\n")
	fmt.Fprintf(&b, "Requests answered through gatehouse in this run (warm-up, latency and throughput runs): %d. "+
		"`request.completed` events in the log after a graceful stop: %d. %s\n\n", r.answered, r.recorded,
		map[bool]string{true: "Exactly one per request.", false: "**They differ.**"}[r.answered == r.recorded])

	b.WriteString("## Event writer alone\n\n")
	fmt.Fprintf(&b, "%d `request.completed` events from 8 producers over 4 tenants through the group-commit writer "+
		"(reserve, submit, batch of ≤ 1,000, one transaction per batch with the hash chain computed under the tenant head locks): "+
		"%.0f events/s (%s, %d batches). Goal ≥ 20,000 events/s: %s.\n\n",
		r.writer.events, r.writer.perSecond(), r.writer.elapsed.Round(time.Millisecond), r.writer.batches, verdict(r.writer.perSecond() >= 20000))

	if len(r.profile) > 0 {
		b.WriteString("## Where gatehouse's time goes\n\nCPU profile of the gatehouse process during the non-streamed throughput run (`go tool pprof -top`):\n\n```\n")
		b.Write(r.profile)
		b.WriteString("```\n")
	}
	return b.String()
}
