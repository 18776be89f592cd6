package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// target is one way to reach the upstream: directly, through a bare reverse
// proxy, or through gatehouse.
type target struct {
	name   string
	url    string // the chat completions URL
	auth   string // bearer token, if any
	model  string
	config string // x-gatehouse-config, if any
	client *http.Client
}

func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048, DisableCompression: true, IdleConnTimeout: time.Minute}}
}

func (t target) body(stream bool) []byte {
	return []byte(fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say something about foxes in one sentence."}]}`, t.model, stream))
}

// call sends one request and returns the latency the client saw: the whole
// answer for a plain call, the first chunk for a stream (the rest is read).
func (t target) call(ctx context.Context, body []byte, stream bool) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if t.auth != "" {
		req.Header.Set("Authorization", "Bearer "+t.auth)
	}
	if t.config != "" {
		req.Header.Set("x-gatehouse-config", t.config)
	}
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("%s: status %d: %s", t.name, resp.StatusCode, b)
	}
	if !stream {
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	r := bufio.NewReader(resp.Body)
	var first time.Duration
	sawDone := false
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 5 && bytes.HasPrefix(line, []byte("data:")) {
			if first == 0 {
				first = time.Since(start)
			}
			if bytes.Contains(line, []byte("[DONE]")) {
				sawDone = true
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return 0, err
		}
	}
	if !sawDone {
		return 0, fmt.Errorf("%s: stream ended without [DONE]", t.name)
	}
	return first, nil
}

// latencies is a sorted sample.
type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(float64(len(l)-1) * p)
	return l[i]
}

// fixedRate sends requests at rate per second for d, open loop (each on
// its own goroutine at its scheduled time), and returns the sorted latencies.
func fixedRate(t target, stream bool, rate int, d time.Duration) (latencies, int, error) {
	body := t.body(stream)
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	out := make([]time.Duration, n)
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			lat, err := t.call(ctx, body, stream)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				lat = -1
			}
			out[i] = lat
		}(i)
	}
	wg.Wait()
	var ok latencies
	for _, l := range out {
		if l >= 0 {
			ok = append(ok, l)
		}
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i] < ok[j] })
	var err error
	if e, _ := firstErr.Load().(error); e != nil {
		err = e
	}
	return ok, int(failed.Load()), err
}

// peak runs workers in a closed loop for d and returns answered requests per second.
func peak(t target, stream bool, workers int, d time.Duration) (float64, int64, error) {
	body := t.body(stream)
	var done, failed atomic.Int64
	var firstErr atomic.Value
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := t.call(rctx, body, stream)
				rcancel()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var err error
	if e, _ := firstErr.Load().(error); e != nil {
		err = fmt.Errorf("%d failed, first: %w", failed.Load(), e)
	}
	return float64(done.Load()) / elapsed.Seconds(), done.Load(), err
}
