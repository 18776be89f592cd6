package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/pricing"
)

type prices struct{ *Server }

type priceJSON struct {
	Model                 string    `json:"model"`
	InputUSDPerMTok       float64   `json:"input_usd_per_mtok"`
	OutputUSDPerMTok      float64   `json:"output_usd_per_mtok"`
	CachedInputUSDPerMTok float64   `json:"cached_input_usd_per_mtok"`
	CacheWriteUSDPerMTok  float64   `json:"cache_write_input_usd_per_mtok"`
	SetAt                 time.Time `json:"set_at"`
}

func priceOut(p pricing.ModelPrice) priceJSON {
	return priceJSON{Model: p.Model, InputUSDPerMTok: p.Price.Input.USD(), OutputUSDPerMTok: p.Price.Output.USD(),
		CachedInputUSDPerMTok: p.Price.CachedInput.USD(), CacheWriteUSDPerMTok: p.Price.CacheWriteInput.USD(), SetAt: p.SetAt}
}

func (r *prices) register(g *echo.Group) {
	g.POST("/tenants/:tenant/prices", r.set)
	g.GET("/tenants/:tenant/prices", r.list)
}

func (r *prices) set(c echo.Context) error {
	var in struct {
		Model                 string   `json:"model"`
		InputUSDPerMTok       *float64 `json:"input_usd_per_mtok"`
		OutputUSDPerMTok      *float64 `json:"output_usd_per_mtok"`
		CachedInputUSDPerMTok float64  `json:"cached_input_usd_per_mtok"`
		CacheWriteUSDPerMTok  float64  `json:"cache_write_input_usd_per_mtok"`
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	if in.InputUSDPerMTok == nil || in.OutputUSDPerMTok == nil {
		return r.fail(c, errBadInputf("input_usd_per_mtok and output_usd_per_mtok are required"))
	}
	p, err := pricing.FromUSD(*in.InputUSDPerMTok, *in.OutputUSDPerMTok, in.CachedInputUSDPerMTok)
	if err == nil {
		p, err = p.WithCacheWrite(in.CacheWriteUSDPerMTok)
	}
	if err != nil {
		return r.fail(c, err)
	}
	mp, err := r.uc.SetPrice.Handle(c.Request().Context(), command.SetPrice{Actor: actor(c), TenantID: c.Param("tenant"), Model: in.Model, Price: p})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusCreated, priceOut(mp))
}

func (r *prices) list(c echo.Context) error {
	sheet, err := r.uc.ListPrices.Handle(c.Request().Context(), query.ListPrices{Principal: principal(c), TenantID: c.Param("tenant")})
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]priceJSON, len(sheet.Tenant))
	for i, p := range sheet.Tenant {
		out[i] = priceOut(p)
	}
	return c.JSON(http.StatusOK, map[string]any{
		"prices":    out,
		"catalogue": map[string]any{"date": sheet.CatalogueDate, "source": sheet.CatalogueSource, "models": sheet.CatalogueModels},
	})
}
