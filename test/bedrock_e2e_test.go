package test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
)

func TestE2E_BedrockBehindBothDialects(t *testing.T) {
	sc := newTenantScenario(t)
	up := newFakeBedrock(t)
	sc.s.mustAdmin(400, "POST", "/admin/v1/tenants/acme/providers", sc.admin, map[string]string{"name": "aws", "kind": "bedrock",
		"region": "eu-west-1", "aws_access_key_id": awsAccessKeyID}, nil)
	var conn map[string]any
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/providers", sc.admin, map[string]string{"name": "aws", "kind": "bedrock",
		"base_url": up.URL, "region": "eu-west-1", "aws_access_key_id": awsAccessKeyID, "aws_secret_access_key": awsSecretAccessKey}, &conn)
	if s := fmt.Sprint(conn); strings.Contains(s, awsSecretAccessKey) || strings.Contains(s, awsAccessKeyID) || conn["region"] != "eu-west-1" {
		t.Fatalf("connection answered as %v", conn)
	}
	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()
	const model = "aws/anthropic.claude-3-5-haiku-20241022-v1:0"

	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Answer in Portuguese."), openai.UserMessage("Hello")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Olá." || resp.Usage.PromptTokens != 16 || resp.Usage.PromptTokensDetails.CachedTokens != 5 {
		t.Fatalf("answer %+v", resp)
	}
	if p := up.lastPath(); p != "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse" {
		t.Fatalf("called %s", p)
	}
	if sys := fmt.Sprint(up.lastBody()["system"]); sys != "[map[text:Answer in Portuguese.]]" {
		t.Fatalf("system sent as %s", sys)
	}

	resp, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Lisbon?")}, Tools: []openai.ChatCompletionToolUnionParam{weatherTool}})
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.Choices[0]; c.FinishReason != "tool_calls" || c.Message.ToolCalls[0].Function.Arguments != `{"location":"Lisbon"}` {
		t.Fatalf("tool call %+v", c)
	}

	p := chat(model, "hi")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	st := client.Chat.Completions.NewStreaming(ctx, p)
	var text strings.Builder
	var completion int64
	for st.Next() {
		if c := st.Current(); len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		} else {
			completion = c.Usage.CompletionTokens
		}
	}
	if err := st.Err(); err != nil || text.String() != "Olá mundo" || completion != 4 {
		t.Fatalf("streamed %q, completion tokens %d, err %v", text.String(), completion, err)
	}
	if p := up.lastPath(); !strings.HasSuffix(p, "/converse-stream") {
		t.Fatalf("streamed from %s", p)
	}

	st = client.Chat.Completions.NewStreaming(ctx, chat("aws/broken-model", "hi"))
	for st.Next() {
	}
	if st.Err() == nil {
		t.Fatal("a stream cut off upstream ended cleanly")
	}
	_, err = client.Chat.Completions.New(ctx, chat("aws/missing-model", "hi"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "model identifier is invalid") {
		t.Fatalf("upstream 400: %v", err)
	}

	claude := anthropicSDK(sc.s, sc.key.Secret)
	msg, err := claude.Messages.New(ctx, ask(model, "hello"))
	if err != nil || len(msg.Content) != 1 || msg.Content[0].Text != "Olá." || msg.Usage.InputTokens != 11 || msg.Usage.CacheReadInputTokens != 5 {
		t.Fatalf("through /v1/messages: %+v %v", msg, err)
	}
	ms := claude.Messages.NewStreaming(ctx, ask(model, "hello"))
	var acc anthropic.Message
	for ms.Next() {
		if err := acc.Accumulate(ms.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := ms.Err(); err != nil || len(acc.Content) != 1 || acc.Content[0].Text != "Olá mundo" || acc.Usage.OutputTokens != 4 {
		t.Fatalf("streamed through /v1/messages: %+v %v", acc, err)
	}

	embed := func(model string, inputs ...string) (*openai.CreateEmbeddingResponse, error) {
		return client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: model,
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs}, EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat})
	}
	inputs := make([]string, 20) // more than the calls a Titan request makes at once
	for i := range inputs {
		inputs[i] = strings.Repeat("x", i+1)
	}
	r, err := embed("aws/amazon.titan-embed-text-v2:0", inputs...)
	if err != nil || len(r.Data) != 20 || r.Data[19].Embedding[0] != 20 || r.Data[3].Index != 3 || r.Usage.PromptTokens != 210 {
		t.Fatalf("titan: %+v %v", r, err)
	}
	r, err = embed("aws/cohere.embed-english-v3", "a", "b")
	if err != nil || len(r.Data) != 2 || r.Data[1].Embedding[0] != 1 || r.Usage.PromptTokens != 14 {
		t.Fatalf("cohere on bedrock: %+v %v", r, err)
	}
	_, err = embed("aws/meta.llama3-3-70b-instruct-v1:0", "a")
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "model" {
		t.Fatalf("a chat model for embeddings: %v", err)
	}

	eventually(t, 10*time.Second, func() error {
		var rows struct {
			Requests []struct {
				Model   string  `json:"model"`
				Status  int     `json:"status"`
				CostUSD float64 `json:"cost_usd"`
			} `json:"requests"`
		}
		sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests", sc.admin, nil, &rows)
		if len(rows.Requests) != 10 {
			return fmt.Errorf("%d rows", len(rows.Requests))
		}
		byStatus := map[int]int{}
		for _, row := range rows.Requests {
			byStatus[row.Status]++
		}
		if byStatus[200] != 7 || byStatus[502] != 1 || byStatus[400] != 2 {
			return fmt.Errorf("statuses %v", byStatus)
		}
		if first := rows.Requests[len(rows.Requests)-1]; first.CostUSD <= 0 {
			return fmt.Errorf("the first request was recorded as %+v", first)
		}
		return nil
	})
}
