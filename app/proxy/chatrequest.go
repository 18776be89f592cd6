package proxy

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/app/proxy/jsontop"
	"github.com/gatehouse/gatehouse/domain/quota"
)

// span is a value's place in the body.
type span struct{ start, end int }

// chatRequest is what the gateway reads of a chat completion request, and
// where it found it: the rest of the body passes through untouched.
type chatRequest struct {
	body         []byte
	model        string
	stream       bool
	includeUsage bool
	modelAt      span
	optsAt       *span // stream_options, when present
	lastEnd      int   // just past the last member's value
	maxOutput    int64 // max_tokens or max_completion_tokens; 0 when absent
	choices      int64 // n: answers asked for, each up to maxOutput
	images       int   // image parts, for the prompt's worst case
}

// Bounds on what a request may ask for: past them no budget could be
// checked (and no provider would serve it).
const (
	maxOutputTokens = 1_000_000
	maxChoices      = 128
)

// scanMembers reads a request's top-level members in one scan. The gateway
// and the upstream must read the same request, so member names written
// with escapes, and repeats of the members named in once (which JSON
// parsers resolve differently), are refused. visit returns false to stop.
func scanMembers(body []byte, once []string, visit func(m jsontop.Member, v []byte) bool) *Refusal {
	var seen uint64
	var escaped bool
	var repeated string
	err := jsontop.Scan(body, func(m jsontop.Member) bool {
		if bytes.IndexByte(m.Key, '\\') >= 0 {
			escaped = true
			return false
		}
		for i, name := range once {
			if string(m.Key) == name {
				if seen&(1<<i) != 0 {
					repeated = name
					return false
				}
				seen |= 1 << i
			}
		}
		return visit(m, body[m.ValueStart:m.ValueEnd])
	})
	switch {
	case err != nil:
		return InvalidRequest("", "We could not parse the JSON body of your request: it must be one JSON object.")
	case escaped:
		return InvalidRequest("", "Member names of the request must be written without escape sequences.")
	case repeated != "":
		return InvalidRequest(repeated, "%s appears more than once in the request", repeated)
	}
	return nil
}

var chatOnce = []string{"model", "stream", "stream_options", "max_tokens", "max_completion_tokens", "n", "best_of"}

// readChatRequest reads the members the gateway acts on, in one scan.
func readChatRequest(body []byte) (chatRequest, *Refusal) {
	r := chatRequest{body: body}
	var modelRaw, streamRaw, optsRaw []byte
	var bad string
	refusal := scanMembers(body, chatOnce, func(m jsontop.Member, v []byte) bool {
		switch string(m.Key) {
		case "model":
			modelRaw, r.modelAt = v, span{m.ValueStart, m.ValueEnd}
		case "stream":
			streamRaw = v
		case "stream_options":
			optsRaw, r.optsAt = v, &span{m.ValueStart, m.ValueEnd}
		case "max_tokens", "max_completion_tokens":
			var n int64
			if json.Unmarshal(v, &n) != nil || n < 0 || n > maxOutputTokens {
				bad = string(m.Key)
				return false
			}
			r.maxOutput = max(r.maxOutput, n)
		case "n", "best_of": // best_of (legacy completions) generates that many, n or more
			if string(v) == "null" {
				break
			}
			var n int64
			if json.Unmarshal(v, &n) != nil || n < 1 || n > maxChoices {
				bad = string(m.Key)
				return false
			}
			r.choices = max(r.choices, n)
		case "messages":
			r.images = bytes.Count(v, imageURL)
		}
		r.lastEnd = m.End
		return true
	})
	switch {
	case refusal != nil:
		return r, refusal
	case bad == "n" || bad == "best_of":
		return r, InvalidRequest(bad, "%s must be an integer from 1 to %d", bad, maxChoices)
	case bad != "":
		return r, InvalidRequest(bad, "%s must be an integer from 0 to %d", bad, maxOutputTokens)
	}
	if len(modelRaw) == 0 || modelRaw[0] != '"' || json.Unmarshal(modelRaw, &r.model) != nil || r.model == "" {
		return r, InvalidRequest("model", "you must provide a model parameter as a string")
	}
	if !CleanText(r.model) || len(r.model) > 300 {
		return r, InvalidRequest("model", "the model name must be valid UTF-8 without NUL characters, at most 300 bytes")
	}
	switch string(streamRaw) {
	case "", "null", "false":
	case "true":
		r.stream = true
	default:
		return r, InvalidRequest("stream", "stream must be a boolean")
	}
	if optsRaw != nil && string(optsRaw) != "null" {
		v, ok, err := jsontop.Get(optsRaw, "include_usage")
		if err != nil {
			return r, InvalidRequest("stream_options", "stream_options must be an object")
		}
		r.includeUsage = ok && string(v) == "true"
	}
	return r, nil
}

var imageURL = []byte(`"image_url"`)

// estimate is the request's worst case for budgets and token limits: n
// answers of up to max_tokens each.
func (r chatRequest) estimate() quota.Estimate {
	out := r.maxOutput
	if out <= 0 {
		out = quota.DefaultMaxOutput
	}
	return quota.Estimate{PromptTokens: quota.EstimatePrompt(len(r.body), r.images), MaxOutput: out * max(r.choices, 1)}
}

// CleanText says whether s can be recorded: valid UTF-8 without NUL, which
// Postgres text cannot hold.
func CleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// edit replaces body[start:end] with repl.
type edit struct {
	start, end int
	repl       []byte
}

var includeUsage = []byte(`{"include_usage":true}`)

// rewrite changes only what must change, in one copy: the model becomes the
// upstream's name, and a stream always asks for usage so it can be counted.
func (r chatRequest) rewrite(upstreamModel string) ([]byte, error) {
	model, err := json.Marshal(upstreamModel)
	if err != nil {
		return nil, err
	}
	edits := []edit{{r.modelAt.start, r.modelAt.end, model}}
	if r.stream {
		switch {
		case r.optsAt == nil:
			edits = append(edits, edit{r.lastEnd, r.lastEnd, append([]byte(`,"stream_options":`), includeUsage...)})
		case string(r.body[r.optsAt.start:r.optsAt.end]) == "null":
			edits = append(edits, edit{r.optsAt.start, r.optsAt.end, includeUsage})
		default:
			opts, err := jsontop.Set(r.body[r.optsAt.start:r.optsAt.end], "include_usage", []byte("true"))
			if err != nil {
				return nil, err
			}
			edits = append(edits, edit{r.optsAt.start, r.optsAt.end, opts})
		}
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	size := len(r.body)
	for _, e := range edits {
		size += len(e.repl) - (e.end - e.start)
	}
	out := make([]byte, 0, size)
	at := 0
	for _, e := range edits {
		out = append(out, r.body[at:e.start]...)
		out = append(out, e.repl...)
		at = e.end
	}
	return append(out, r.body[at:]...), nil
}
