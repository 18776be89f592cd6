package admin

import (
	"errors"
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
	ID        string     `json:"id"`
	TenantID  string     `json:"tenant"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Secret    string     `json:"secret,omitempty"` // only in the answer to the grant
}

func keyOut(k key.Key, now time.Time) keyJSON {
	status := "active"
	switch err := k.Usable(now); {
	case errors.Is(err, key.ErrRevoked):
		status = "revoked"
	case errors.Is(err, key.ErrExpired):
		status = "expired"
	}
	return keyJSON{ID: k.ID.String(), TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, Status: status,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt}
}

func (r *keys) register(g *echo.Group) {
	g.POST("/tenants/:tenant/keys", r.grant)
	g.GET("/tenants/:tenant/keys", r.list)
	g.GET("/tenants/:tenant/keys/:key", r.get)
	g.POST("/tenants/:tenant/keys/:key/revoke", r.revoke)
}

func keyParam(c echo.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("key"))
	if err != nil {
		return uuid.Nil, key.ErrNotFound
	}
	return id, nil
}

func (r *keys) grant(c echo.Context) error {
	var in struct {
		Name      string     `json:"name"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	g, err := r.uc.GrantKey.Handle(c.Request().Context(), command.GrantKey{Actor: actor(c), TenantID: c.Param("tenant"), Name: in.Name, ExpiresAt: in.ExpiresAt})
	if err != nil {
		return r.fail(c, err)
	}
	out := keyOut(g.Key, g.Key.CreatedAt)
	out.Secret = g.Secret
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, out)
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
	id, err := keyParam(c)
	if err != nil {
		return r.fail(c, err)
	}
	k, err := r.uc.GetKey.Handle(c.Request().Context(), query.GetKey{Principal: principal(c), TenantID: c.Param("tenant"), KeyID: id})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusOK, keyOut(k, time.Now()))
}

func (r *keys) revoke(c echo.Context) error {
	id, err := keyParam(c)
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
