package chat

import "encoding/json"

// Completion is a whole non-streamed answer.
type Completion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   *Usage   `json:"usage,omitempty"`
}

// Choice is one answer.
type Choice struct {
	Index        int           `json:"index"`
	Message      AnswerMessage `json:"message"`
	FinishReason string        `json:"finish_reason"`
}

// AnswerMessage is the assistant's message: text, tool calls, or both.
type AnswerMessage struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	Refusal   *string    `json:"refusal"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// Usage is what a request used, in OpenAI's terms: prompt tokens include
// the cached ones, which are also counted apart.
type Usage struct {
	PromptTokens        int64         `json:"prompt_tokens"`
	CompletionTokens    int64         `json:"completion_tokens"`
	TotalTokens         int64         `json:"total_tokens"`
	PromptTokensDetails *PromptDetail `json:"prompt_tokens_details,omitempty"`
}

// PromptDetail splits the prompt tokens. CacheWriteTokens, the prompt
// tokens written to the provider's cache, is the gateway's own: OpenAI's
// usage has no place for them, and clients that do not know it skip it.
type PromptDetail struct {
	CachedTokens     int64 `json:"cached_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens,omitempty"`
}

// NewUsage builds usage from the parts a provider reports.
func NewUsage(prompt, completion, cached int64) *Usage {
	u := &Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
	if cached > 0 {
		u.PromptTokensDetails = &PromptDetail{CachedTokens: cached}
	}
	return u
}

// WithCacheWrites notes the prompt tokens written to the provider's cache.
func (u *Usage) WithCacheWrites(written int64) *Usage {
	if written > 0 {
		if u.PromptTokensDetails == nil {
			u.PromptTokensDetails = &PromptDetail{}
		}
		u.PromptTokensDetails.CacheWriteTokens = written
	}
	return u
}

// Chunk is one streamed event.
type Chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"`
	Usage   *Usage        `json:"usage,omitempty"`
}

// ChunkChoice is one answer's delta.
type ChunkChoice struct {
	Index        int     `json:"index"`
	Delta        Delta   `json:"delta"`
	FinishReason *string `json:"finish_reason"`
}

// Delta is what a chunk adds to the answer.
type Delta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	ToolCalls []ToolCallDelta `json:"tool_calls,omitempty"`
}

// ToolCallDelta starts a tool call (id, type, name) or adds to its
// arguments.
type ToolCallDelta struct {
	Index    int               `json:"index"`
	ID       string            `json:"id,omitempty"`
	Type     string            `json:"type,omitempty"`
	Function FunctionCallDelta `json:"function"`
}

// FunctionCallDelta is a tool call's name (once) and a piece of its arguments.
type FunctionCallDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// Finish reasons.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
)

// Chunks queues the chunks a translating stream has made but not yet
// handed out: one upstream event can make several.
type Chunks struct {
	ID, Model string
	Created   int64
	queue     [][]byte
}

// Add encodes c as a chunk of this answer and queues it.
func (q *Chunks) Add(c Chunk) {
	c.ID, c.Object, c.Created, c.Model = q.ID, "chat.completion.chunk", q.Created, q.Model
	if c.Choices == nil {
		c.Choices = []ChunkChoice{}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return // built by the stream from decoded values: always encodes
	}
	q.queue = append(q.queue, b)
}

// Next takes the oldest queued chunk.
func (q *Chunks) Next() ([]byte, bool) {
	if len(q.queue) == 0 {
		return nil, false
	}
	c := q.queue[0]
	q.queue = q.queue[1:]
	return c, true
}
