// Command bench measures what gatehouse adds: latency at a fixed rate and
// peak throughput against a direct call to the same local upstream and a
// bare httputil.ReverseProxy, in the same run; that every answered request
// is recorded exactly once; and the event writer's own throughput. It writes
// docs/benchmarks.md. Run it with `make bench`.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

func main() {
	mode := flag.String("mode", "run", "run (the benchmark), upstream or reverse-proxy (helper processes)")
	listen := flag.String("listen", "127.0.0.1:0", "helper listen address")
	target := flag.String("target", "", "reverse-proxy target URL")
	s := registerSettings()
	flag.Parse()
	var err error
	switch *mode {
	case "upstream":
		err = serveHelper(*listen, upstreamHandler())
	case "reverse-proxy":
		u, perr := url.Parse(*target)
		if perr != nil {
			err = perr
			break
		}
		rp := httputil.NewSingleHostReverseProxy(u)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 1024
		rp.Transport = tr
		rp.FlushInterval = -1
		rp.ErrorLog = slog.NewLogLogger(slog.NewTextHandler(os.Stderr, nil).WithAttrs(nil), slog.LevelError)
		// Buffer the small request body first: streaming it lets the transport
		// read it after the server has closed it once the answer's headers are
		// written, which cuts streamed answers (golang/go#40747).
		err = serveHelper(*listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			rp.ServeHTTP(w, r)
		}))
	case "run":
		err = runBenchmark(*s)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// serveHelper serves h and prints the bound address on stdout's first line.
func serveHelper(addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return (&http.Server{Handler: h}).Serve(ln)
}

const (
	completionBody = `{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog."},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":24,"completion_tokens":20,"total_tokens":44}}`
	streamChunks   = 12
)

// upstreamHandler is the fake model provider: an OpenAI-shaped answer at
// once, or a stream of chunks followed by usage when asked for.
func upstreamHandler() http.Handler {
	chunk := []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":"fox "},"finish_reason":null}]}` + "\n\n")
	usage := []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":24,"completion_tokens":12,"total_tokens":36}}` + "\n\n")
	done := []byte("data: [DONE]\n\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !containsStream(b) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, completionBody)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for i := 0; i < streamChunks; i++ {
			w.Write(chunk)
			fl.Flush()
		}
		w.Write(usage)
		w.Write(done)
		fl.Flush()
	})
}

func containsStream(b []byte) bool {
	return bytes.Contains(b, []byte(`"stream":true`)) || bytes.Contains(b, []byte(`"stream": true`))
}
