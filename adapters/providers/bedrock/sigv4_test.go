package bedrock

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The AWS Signature Version 4 test suite's vectors.
func TestSign_MatchesTheAWSTestSuite(t *testing.T) {
	suite := signer{accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1", service: "service"}
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	for name, c := range map[string]struct{ method, url, want string }{
		"get-vanilla":                      {"GET", "https://example.amazonaws.com/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		"post-vanilla":                     {"POST", "https://example.amazonaws.com/", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
		"get-vanilla-query-order-key-case": {"GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, c.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			suite.sign(req, nil, at)
			want := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + c.want
			if got := req.Header.Get("Authorization"); got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestSign_TemporaryCredentialsAndModelPaths(t *testing.T) {
	s := signer{accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "token", region: "eu-west-1", service: "bedrock"}
	req, _ := http.NewRequest("POST", "https://bedrock-runtime.eu-west-1.amazonaws.com"+modelPath("anthropic.claude-3-5-haiku-20241022-v1:0", "converse"), nil)
	req.Header.Set("Content-Type", "application/json")
	s.sign(req, []byte(`{}`), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	auth := req.Header.Get("Authorization")
	if req.Header.Get("X-Amz-Security-Token") != "token" || !strings.Contains(auth, "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token") ||
		!strings.Contains(auth, "Credential=AKID/20260102/eu-west-1/bedrock/aws4_request") {
		t.Fatalf("headers %v", req.Header)
	}
	if req.URL.EscapedPath() != "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse" || canonicalURI(req.URL) != "/model/anthropic.claude-3-5-haiku-20241022-v1%253A0/converse" {
		t.Fatalf("path %s canonical %s", req.URL.EscapedPath(), canonicalURI(req.URL))
	}
}
