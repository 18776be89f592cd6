// Package azure calls Azure OpenAI: OpenAI's dialect, passed through, at
// a deployment's address with an api-version, authorised by api-key.
package azure

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/adapters/providers/openai"
	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/app/proxy/jsontop"
	"github.com/gatehouse/gatehouse/domain/provider"
)

// New builds a client for an Azure OpenAI resource (baseURL is its
// endpoint, https://<resource>.openai.azure.com): a request for model goes
// to the deployment the connection maps it to. The Responses API has no
// per-deployment address: it is called at the resource's v1 API with the
// deployment as the model.
func New(baseURL string, set provider.Settings, apiKey string, client *http.Client) *openai.Provider {
	base := strings.TrimRight(baseURL, "/")
	version := url.QueryEscape(set.APIVersion)
	route := func(op string, body []byte) (string, []byte, error) {
		raw, ok, err := jsontop.Get(body, "model")
		var model string
		if err != nil || !ok || json.Unmarshal(raw, &model) != nil || model == "" {
			return "", nil, proxy.InvalidRequest("model", "a model (the deployment's model) is required")
		}
		deployment := set.Deployment(model)
		if op == "/responses" {
			name, _ := json.Marshal(deployment)
			if body, err = jsontop.Set(body, "model", name); err != nil {
				return "", nil, proxy.InvalidRequest("", "The request could not be read: %v", err)
			}
			return base + "/openai/v1/responses", body, nil
		}
		return base + "/openai/deployments/" + url.PathEscape(deployment) + op + "?api-version=" + version, body, nil
	}
	h := http.Header{}
	h.Set("api-key", apiKey)
	return openai.NewRouted(route, h, apiKey, client)
}
