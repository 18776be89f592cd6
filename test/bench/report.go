package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
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
	audit    auditResult
	micro    []byte
	dialects []dialectRow
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
		"Six targets reach it: **direct**, a bare **`httputil.ReverseProxy`** in its own process, **gatehouse** (`serve`, own process, "+
		"virtual key checked, model rewritten, usage read, cost computed, one `request.completed` event per request written through the group-commit buffer into Postgres), "+
		"gatehouse with a key under a hard budget and a rate limit (`"+governedTarget+"`), "+
		"gatehouse under a routing config with two fallback targets of which the first answers (`"+fallbackTarget+"`), "+
		"and gatehouse under a routing config with an exact cache that every measured request hits, the warm-up having filled it (`"+cacheTarget+"`). "+
		"Latency: open-loop load at %d req/s for %s per round, %d rounds per target, targets interleaved; the median of the rounds' p50 and p99 is shown. "+
		"For streams, latency is the time to the first chunk. Throughput: %d clients in a closed loop for %s.\n\n",
		streamChunks, r.s.rate, r.s.duration, r.s.rounds, r.s.workers, r.s.duration)

	for _, mode := range []string{"plain", "stream"} {
		title := "Non-streamed"
		if mode == "stream" {
			title = "Streamed (time to first chunk)"
		}
		d, rp, gh, gov := r.results["direct/"+mode], r.results["reverse proxy/"+mode], r.results["gatehouse/"+mode], r.results[governedTarget+"/"+mode]
		fmt.Fprintf(&b, "## %s\n\n| target | p50 | p99 | peak req/s |\n| --- | --- | --- | --- |\n", title)
		for _, row := range []struct {
			name string
			r    *result
		}{{"direct", d}, {"reverse proxy", rp}, {"gatehouse", gh}, {governedTarget, gov},
			{fallbackTarget, r.results[fallbackTarget+"/"+mode]}, {cacheTarget, r.results[cacheTarget+"/"+mode]}} {
			fmt.Fprintf(&b, "| %s | %s | %s | %.0f |\n", row.name, ms(median(row.r.p50)), ms(median(row.r.p99)), row.r.rps)
		}
		addedP50 := median(gh.p50) - median(d.p50)
		addedP99 := median(gh.p99) - median(d.p99)
		ratio := gh.rps / rp.rps
		fmt.Fprintf(&b, "\n| target | measured | goal | |\n| --- | --- | --- | --- |\n")
		fmt.Fprintf(&b, "| added p50 (gatehouse − direct) | %s | ≤ 0.250 ms | %s |\n", ms(addedP50), verdict(addedP50 <= 250*time.Microsecond))
		fmt.Fprintf(&b, "| added p99 (gatehouse − direct) | %s | ≤ 0.500 ms | %s |\n", ms(addedP99), verdict(addedP99 <= 500*time.Microsecond))
		fmt.Fprintf(&b, "| peak throughput vs reverse proxy | %.0f%% | ≥ 70%% | %s |\n\n", 100*ratio, verdict(ratio >= 0.7))
		fmt.Fprintf(&b, "A bare ReverseProxy hop alone adds %s at p50 and %s at p99 over the direct call on this machine; "+
			"gatehouse adds %s at p50 and %s at p99 over that bare hop.\n\n",
			ms(median(rp.p50)-median(d.p50)), ms(median(rp.p99)-median(d.p99)),
			ms(median(gh.p50)-median(rp.p50)), ms(median(gh.p99)-median(rp.p99)))
		fmt.Fprintf(&b, "With a hard budget and a rate limit on the key (admitted from slices of the shared counters held in "+
			"memory, refilled through Postgres every 64 requests; settlements batched after the call), gatehouse adds %s at p50 "+
			"and %s at p99 over a direct call, and peaks at %.0f%% of the bare ReverseProxy's throughput.\n\n",
			ms(median(gov.p50)-median(d.p50)), ms(median(gov.p99)-median(d.p99)), 100*gov.rps/rp.rps)
		fb, hit := r.results[fallbackTarget+"/"+mode], r.results[cacheTarget+"/"+mode]
		fmt.Fprintf(&b, "Under a two-target fallback config whose first target answers, gatehouse adds %s at p50 and %s at p99 over "+
			"gatehouse without a config (the plan, a policy decision per target and the attempt's record), and peaks at %.0f%% of its throughput. "+
			"A cache hit answers in %s at p50 and %s at p99, %.2f× and %.2f× the direct call's, without calling the upstream.\n\n",
			ms(median(fb.p50)-median(gh.p50)), ms(median(fb.p99)-median(gh.p99)), 100*fb.rps/gh.rps,
			ms(median(hit.p50)), ms(median(hit.p99)), ratioOf(median(hit.p50), median(d.p50)), ratioOf(median(hit.p99), median(d.p99)))
	}

	if len(r.micro) > 0 {
		b.WriteString("## What gatehouse's own work costs\n\n" +
			"The request path without any network (`go test -bench ChatCompletions ./app/proxy`): authenticate the key from memory, " +
			"decide the route, rewrite the model (and stream options) in place, read usage, build and hand over the event. " +
			"`Prompt4K` and `Stream400` are a 4 KB prompt and a 400-chunk streamed answer (`FirstChunk`: the same answer up to its first chunk), without and with (`Guarded`) a guardrail " +
			"running every local check (pii, secrets, prompt_injection, regex, words, length) on input and output, redacting.\n\n```\n")
		b.Write(r.micro)
		b.WriteString("```\n\n")
		b.WriteString(guardrailCost(r.micro))
	}

	if len(r.dialects) > 0 {
		b.WriteString(dialectsSection(r.dialects))
	}

	b.WriteString(`## Reading the misses

The latency goals are absolute (0.25 ms p50, 0.5 ms p99 added over a direct call), and on this
2-core machine a single extra loopback HTTP hop through a bare ` + "`httputil.ReverseProxy`" + ` already costs about
as much or more (the line under each table). Five processes share the two cores: the load generator, the
fake upstream, the reverse proxy, gatehouse and Postgres, which commits gatehouse's events while the
requests run. gatehouse's own per-request work is a few microseconds (section above); the rest of what it
adds over the bare proxy is the same kind of cost the proxy pays (a second HTTP server and client stack),
plus scheduling behind its background work on the shared cores: the event writer's batches and Postgres's
commits of them, and the projections. The tail (p99) is where that contention shows. The profile below
shows where gatehouse's CPU goes under full load: system calls for the two sockets dominate; the event
writer and the projections take the next largest shares.

`)

	b.WriteString("## Every request recorded\n\n")
	fmt.Fprintf(&b, "Requests answered through gatehouse in this run (warm-up, latency and throughput runs): %d. "+
		"`request.completed` events in the log after a graceful stop: %d. %s\n\n", r.answered, r.recorded,
		map[bool]string{true: "Exactly one per request.", false: "**They differ.**"}[r.answered == r.recorded])

	b.WriteString("## Event writer alone\n\n")
	fmt.Fprintf(&b, "%d `request.completed` events from 8 producers over 4 tenants through the group-commit writer "+
		"(reserve, submit, batch of ≤ 1,000, one transaction per batch with the hash chain computed under the tenant head locks): "+
		"%.0f events/s (%s, %d batches). Goal ≥ 20,000 events/s: %s.\n\n",
		r.writer.events, r.writer.perSecond(), r.writer.elapsed.Round(time.Millisecond), r.writer.batches, verdict(r.writer.perSecond() >= 20000))

	b.WriteString(r.audit.section())

	if len(r.profile) > 0 {
		b.WriteString("## Where gatehouse's time goes\n\nCPU profile of the gatehouse process during the non-streamed throughput run (`go tool pprof -top`):\n\n```\n")
		b.Write(r.profile)
		b.WriteString("```\n")
	}
	return b.String()
}

func ratioOf(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// guardrailCost reads the in-process benchmarks' guarded and unguarded
// pairs: what a guardrail running every local check adds.
func guardrailCost(micro []byte) string {
	ns := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(micro))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[3] != "ns/op" {
			continue
		}
		name := strings.TrimPrefix(f[0], "BenchmarkChatCompletions_")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		ns[name], _ = strconv.ParseFloat(f[2], 64)
	}
	us := func(v float64) string { return fmt.Sprintf("%.1f µs", v/1000) }
	var b strings.Builder
	b.WriteString("| guardrail running every local check | unguarded | guarded | added |\n| --- | --- | --- | --- |\n")
	for _, row := range []struct{ name, what string }{
		{"Prompt4K", "4 KB prompt (input checks)"},
		{"FirstChunk", "streamed answer, to its first chunk (time to first token)"},
		{"Stream400", "streamed answer of 400 chunks (output checks)"},
	} {
		plain, guarded := ns[row.name], ns[row.name+"Guarded"]
		if plain == 0 || guarded == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.what, us(plain), us(guarded), us(guarded-plain))
	}
	if plain, guarded := ns["Stream400"], ns["Stream400Guarded"]; plain > 0 && guarded > 0 {
		fmt.Fprintf(&b, "\nPer streamed chunk, the guardrail adds %s.\n", us((guarded-plain)/400))
	}
	if off, on := ns["ObservedOff"], ns["ObservedOn"]; off > 0 && on > 0 {
		fmt.Fprintf(&b, "\nMetrics, the request's log line and tracing (a span per request and its children, batched to an exporter) "+
			"switched on add %s per request (%s against %s switched off). Goal under 20 µs: %s.\n", us(on-off), us(on), us(off), verdict(on-off < 20000))
	}
	return b.String() + "\n"
}
