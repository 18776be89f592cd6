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
// to the deployment the connection maps it to.
func New(baseURL string, set provider.Settings, apiKey string, client *http.Client) *openai.Provider {
	base := strings.TrimRight(baseURL, "/")
	version := url.QueryEscape(set.APIVersion)
	route := func(op string, body []byte) (string, error) {
		raw, ok, err := jsontop.Get(body, "model")
		var model string
		if err != nil || !ok || json.Unmarshal(raw, &model) != nil || model == "" {
			return "", proxy.InvalidRequest("model", "a model (the deployment's model) is required")
		}
		return base + "/openai/deployments/" + url.PathEscape(set.Deployment(model)) + op + "?api-version=" + version, nil
	}
	h := http.Header{}
	h.Set("api-key", apiKey)
	return openai.NewRouted(route, h, apiKey, client)
}
