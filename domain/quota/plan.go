package quota

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// Kind is what a line of an admission counts.
type Kind string

const (
	KindBudget      Kind = "budget"      // micro-dollars, reserved then settled
	KindConcurrency Kind = "concurrency" // requests in flight
	KindRequests    Kind = "requests"    // requests in the minute
	KindTokens      Kind = "tokens"      // tokens in the minute, reserved then settled
)

// Line is one counter an admission checks and moves.
type Line struct {
	Kind    Kind
	Subject Subject
	Bucket  time.Time // the budget's window start, or the minute
	Limit   int64
	Amount  int64 // what this request reserves or counts
	Hard    bool  // refuse when Amount does not fit
}

// Key orders lines the same way everywhere, so that admissions and
// settlements take the counters' locks in one order and never deadlock.
func (l Line) Key() string {
	return strings.Join([]string{string(l.Kind), string(l.Subject.Scope), l.Subject.ID, l.Bucket.UTC().Format(time.RFC3339)}, "|")
}

// Estimate is the worst case of a request, known before it runs.
type Estimate struct {
	PromptTokens int64 // an upper bound
	MaxOutput    int64 // max_tokens, or DefaultMaxOutput when the request set none
}

// DefaultMaxOutput is reserved for a request that sets no max_tokens; what
// it uses beyond this is the documented overshoot bound.
const DefaultMaxOutput = 4096

// EstimatePrompt bounds a request's prompt tokens by its body's size: a
// token covers at least one byte of text, and an image part is allowed
// imageTokens, the most any current model bills for one image (high-detail
// images on the small vision models cost tens of thousands of tokens).
func EstimatePrompt(bodyBytes, images int) int64 {
	const imageTokens = 40_000
	return int64(bodyBytes) + int64(images)*imageTokens
}

// Plan is what an admission must check for one request.
type Plan struct {
	Lines []Line
	// Budgets are the budgets the lines of kind budget belong to, by subject.
	Budgets map[Subject]Budget
}

// NewPlan turns the budgets and limits that apply to a request into the
// lines to reserve. Without a price, a hard budget refuses the request
// (ErrPriceUnknown); a soft one counts nothing.
func NewPlan(now time.Time, budgets []Budget, limits []RateLimit, price pricing.Price, priced bool, est Estimate) (Plan, error) {
	p := Plan{Budgets: map[Subject]Budget{}}
	minute := now.UTC().Truncate(time.Minute)
	worst := price.Cost(usage.Tokens{Prompt: est.PromptTokens, Completion: est.MaxOutput})
	if worst < 0 || est.PromptTokens < 0 || est.MaxOutput < 0 {
		return Plan{}, fmt.Errorf("%w: a negative estimate", ErrInvalid)
	}
	for _, b := range budgets {
		if !priced {
			if b.Hard {
				return Plan{}, fmt.Errorf("%w: %s", ErrPriceUnknown, b.Subject)
			}
			continue
		}
		start, _ := Window(b.Period, now)
		p.Lines = append(p.Lines, Line{Kind: KindBudget, Subject: b.Subject, Bucket: start, Limit: int64(b.Limit), Amount: int64(worst), Hard: b.Hard})
		p.Budgets[b.Subject] = b
	}
	for _, l := range limits {
		if l.RPM > 0 {
			p.Lines = append(p.Lines, Line{Kind: KindRequests, Subject: l.Subject, Bucket: minute, Limit: l.RPM, Amount: 1, Hard: true})
		}
		if l.TPM > 0 {
			p.Lines = append(p.Lines, Line{Kind: KindTokens, Subject: l.Subject, Bucket: minute, Limit: l.TPM, Amount: est.PromptTokens + est.MaxOutput, Hard: true})
		}
		if l.Concurrency > 0 {
			p.Lines = append(p.Lines, Line{Kind: KindConcurrency, Subject: l.Subject, Bucket: time.Unix(0, 0).UTC(), Limit: l.Concurrency, Amount: 1, Hard: true})
		}
	}
	slices.SortFunc(p.Lines, func(a, b Line) int { return strings.Compare(a.Key(), b.Key()) })
	return p, nil
}

// Refused is an admission that a line did not fit.
type Refused struct {
	Line       Line
	RetryAfter time.Duration // when the line may fit again (rate limits)
}

func (r *Refused) Error() string {
	return fmt.Sprintf("%s %s: %d more does not fit under %d", r.Line.Kind, r.Line.Subject, r.Line.Amount, r.Line.Limit)
}

// RetryAfter is how long a refused line of kind k is likely to stay full,
// at now: the rest of the minute for per-minute limits, a second for
// concurrency, the rest of the window for a budget.
func RetryAfter(l Line, b Budget, now time.Time) time.Duration {
	switch l.Kind {
	case KindRequests, KindTokens:
		return max(time.Second, l.Bucket.Add(time.Minute).Sub(now))
	case KindConcurrency:
		return time.Second
	}
	if _, end := Window(b.Period, now); !end.IsZero() {
		return end.Sub(now)
	}
	return 0
}

// Settlement is what a finished request actually used.
type Settlement struct {
	TenantID string
	Cost     usage.Micros
	Tokens   int64
}

// Posting is what a settlement did to a budget's spend in one window.
type Posting struct {
	Subject Subject
	Window  time.Time
	Before  usage.Micros
	After   usage.Micros
}
