package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/key"
)

type keys struct{ *Server }

type keyJSON struct {
	ID         string            `json:"id"`
	TenantID   string            `json:"tenant"`
	Name       string            `json:"name"`
	Prefix     string            `json:"prefix"`
	Status     string            `json:"status"`
	TeamID     *uuid.UUID        `json:"team_id"`
	Models     []string          `json:"models"`
	Metadata   map[string]string `json:"metadata"`
	CreatedAt  time.Time         `json:"created_at"`
	ExpiresAt  *time.Time        `json:"expires_at"`
	RevokedAt  *time.Time        `json:"revoked_at"`
	Config     *string           `json:"config"` // the default routing config, or null
	Guardrails key.Guardrails    `json:"guardrails"`
	// LogPayloads: the key's request and answer bodies are stored.
	LogPayloads bool `json:"log_payloads"`
	// PreviousValidUntil: after a rotation with a grace period, until when
	// the previous secret still works.
	PreviousValidUntil *time.Time `json:"previous_secret_valid_until,omitempty"`
	Secret             string     `json:"secret,omitempty"` // only in the answer to a grant or a rotation
}

func keyOut(k key.Key, now time.Time) keyJSON {
	status := "active"
	switch err := k.Usable(now); {
	case errors.Is(err, key.ErrRevoked):
		status = "revoked"
	case errors.Is(err, key.ErrExpired):
		status = "expired"
	}
	models, metadata := k.Models, k.Metadata
	if models == nil {
		models = []string{}
	}
	if metadata == nil {
		metadata = map[string]string{}
	}
	out := keyJSON{ID: k.ID.String(), TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, Status: status,
		TeamID: k.TeamID, Models: models, Metadata: metadata, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt,
		LogPayloads: k.LogPayloads}
	if k.Config != "" {
		out.Config = &k.Config
	}
	out.Guardrails = k.Guardrails
	if out.Guardrails.Input == nil {
		out.Guardrails.Input = []string{}
	}
	if out.Guardrails.Output == nil {
		out.Guardrails.Output = []string{}
	}
	if k.PreviousValidUntil != nil && now.Before(*k.PreviousValidUntil) {
		out.PreviousValidUntil = k.PreviousValidUntil
	}
	return out
}

func (r *keys) register(g *echo.Group) {
	g.POST("/tenants/:tenant/keys", r.grant)
	g.GET("/tenants/:tenant/keys", r.list)
	g.GET("/tenants/:tenant/keys/:key", r.get)
	g.PATCH("/tenants/:tenant/keys/:key", r.update)
	g.POST("/tenants/:tenant/keys/:key/rotate", r.rotate)
	g.POST("/tenants/:tenant/keys/:key/revoke", r.revoke)
}

func uuidParam(c echo.Context, name string, notFound error) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, notFound
	}
	return id, nil
}

func (r *keys) grant(c echo.Context) error {
	var in struct {
		Name      string            `json:"name"`
		TeamID    *uuid.UUID        `json:"team_id"`
		Models    []string          `json:"models"`
		Metadata  map[string]string `json:"metadata"`
		ExpiresAt *time.Time        `json:"expires_at"`
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	g, err := r.uc.GrantKey.Handle(c.Request().Context(), command.GrantKey{Actor: actor(c), TenantID: c.Param("tenant"),
		Settings: key.Settings{Name: in.Name, TeamID: in.TeamID, Models: in.Models, Metadata: in.Metadata, ExpiresAt: in.ExpiresAt}})
	if err != nil {
		return r.fail(c, err)
	}
	return r.withSecret(c, http.StatusCreated, g)
}

func (r *keys) withSecret(c echo.Context, status int, g command.GrantedKey) error {
	out := keyOut(g.Key, time.Now())
	out.Secret = g.Secret
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, out)
}

func (r *keys) list(c echo.Context) error {
	ks, err := r.uc.ListKeys.Handle(c.Request().Context(), query.ListKeys{Principal: principal(c), TenantID: c.Param("tenant")})
	if err != nil {
		return r.fail(c, err)
	}
	now := time.Now()
	out := make([]keyJSON, len(ks))
	for i, k := range ks {
		out[i] = keyOut(k, now)
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": out})
}

func (r *keys) get(c echo.Context) error {
	id, err := uuidParam(c, "key", key.ErrNotFound)
	if err != nil {
		return r.fail(c, err)
	}
	k, err := r.uc.GetKey.Handle(c.Request().Context(), query.GetKey{Principal: principal(c), TenantID: c.Param("tenant"), KeyID: id})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, keyOut(k, time.Now()))
}

// patchField reads one member of a JSON merge patch: absent leaves the
// setting alone, null clears it, a value sets it.
func patchField[T any](raw map[string]json.RawMessage, name string, f *key.Field[T]) error {
	v, ok := raw[name]
	if !ok {
		return nil
	}
	f.Set = true
	if string(v) == "null" {
		return nil
	}
	if err := json.Unmarshal(v, &f.Value); err != nil {
		return errors.Join(errBadInput, fmt.Errorf("body: %s: %v", name, err))
	}
	return nil
}

func (r *keys) update(c echo.Context) error {
	id, err := uuidParam(c, "key", key.ErrNotFound)
	if err != nil {
		return r.fail(c, err)
	}
	var raw map[string]json.RawMessage
	if err := decode(c, &raw); err != nil {
		return r.fail(c, err)
	}
	var p key.Patch
	for name := range raw {
		switch name {
		case "name", "team_id", "models", "metadata", "expires_at", "config", "guardrails", "log_payloads":
		default:
			return r.fail(c, errors.Join(errBadInput, fmt.Errorf("body: unknown field %q", name)))
		}
	}
	err = errors.Join(
		patchField(raw, "name", &p.Name), patchField(raw, "team_id", &p.TeamID), patchField(raw, "models", &p.Models),
		patchField(raw, "metadata", &p.Metadata), patchField(raw, "expires_at", &p.ExpiresAt), patchField(raw, "config", &p.Config), patchField(raw, "guardrails", &p.Guardrails),
		patchField(raw, "log_payloads", &p.LogPayloads))
	if err != nil {
		return r.fail(c, err)
	}
	k, err := r.uc.UpdateKey.Handle(c.Request().Context(), command.UpdateKey{Actor: actor(c), TenantID: c.Param("tenant"), KeyID: id, Patch: p})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, keyOut(k, time.Now()))
}

func (r *keys) rotate(c echo.Context) error {
	id, err := uuidParam(c, "key", key.ErrNotFound)
	if err != nil {
		return r.fail(c, err)
	}
	var in struct {
		GraceSeconds int64 `json:"grace_seconds"`
	}
	if err := decodeOptional(c, &in); err != nil {
		return r.fail(c, err)
	}
	if in.GraceSeconds < 0 || in.GraceSeconds > int64(key.MaxGrace.Seconds()) {
		// bounded before it becomes a duration, which could overflow
		return r.fail(c, fmt.Errorf("%w: grace_seconds must be between 0 and %d", key.ErrInvalid, int64(key.MaxGrace.Seconds())))
	}
	g, err := r.uc.RotateKey.Handle(c.Request().Context(), command.RotateKey{Actor: actor(c), TenantID: c.Param("tenant"), KeyID: id,
		Grace: time.Duration(in.GraceSeconds) * time.Second})
	if err != nil {
		return r.fail(c, err)
	}
	return r.withSecret(c, http.StatusOK, g)
}

func (r *keys) revoke(c echo.Context) error {
	id, err := uuidParam(c, "key", key.ErrNotFound)
	if err != nil {
		return r.fail(c, err)
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeOptional(c, &in); err != nil {
		return r.fail(c, err)
	}
	k, err := r.uc.RevokeKey.Handle(c.Request().Context(), command.RevokeKey{Actor: actor(c), TenantID: c.Param("tenant"), KeyID: id, Reason: in.Reason})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, keyOut(k, time.Now()))
}
