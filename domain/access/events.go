package access

import "github.com/google/uuid"

// SignInFailed records refused admin sign-ins at a tenant's routes: the
// reason of the first, the route, where it came from, and how many more
// were refused since the last one recorded (at most one is recorded a
// second per tenant). Never the token.
type SignInFailed struct {
	V          int    `json:"v"`
	Reason     string `json:"reason"`
	Route      string `json:"route"`
	RemoteAddr string `json:"remote_addr"`
	Suppressed int64  `json:"suppressed"` // refusals since the last one recorded that were not recorded
}

func (SignInFailed) EventType() string { return "admin.signin_failed" }
func (SignInFailed) EventVersion() int { return 1 }

// SignInStreamID is the stream of one recorded refusal.
func SignInStreamID(id uuid.UUID) string { return "signin:" + id.String() }
