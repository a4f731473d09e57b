package ivr

import (
	"context"
	"log/slog"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/prompts"
)

// Names gives the service and site names the flow reads out
// (booking.Service).
type Names interface {
	Catalogue(ctx context.Context) ([]booking.CatalogueItem, error)
	Sites(ctx context.Context) ([]booking.Site, error)
}

var _ Names = (*booking.Service)(nil)

// RenderPrompts renders the shipped catalogue and every name names knows
// into out (studio recordings in studio replace their prompts): what the
// sandbox, a benchmark's region or a site's Asterisk plays.
func RenderPrompts(ctx context.Context, names Names, out, studio string, log *slog.Logger) (prompts.GenerateReport, error) {
	cat, err := CatalogueWithNames(ctx, names)
	if err != nil {
		return prompts.GenerateReport{}, err
	}
	return cat.Generate(ctx, out, studio, log)
}

// CatalogueWithNames is the shipped catalogue plus a prompt for every
// service and site names knows: the service's name, the site's short name
// and city.
func CatalogueWithNames(ctx context.Context, names Names) (prompts.Catalogue, error) {
	cat, err := prompts.LoadCatalogue()
	if err != nil {
		return nil, err
	}
	items, err := names.Catalogue(ctx)
	if err != nil {
		return nil, err
	}
	sites, err := names.Sites(ctx)
	if err != nil {
		return nil, err
	}
	services := make(map[string]string, len(items))
	for _, s := range items {
		services[s.Code] = s.Name
	}
	said := make(map[int64]string, len(sites))
	for _, s := range sites {
		said[s.ID] = s.ShortName + ", " + s.City
	}
	return cat.WithNames(services, said), nil
}
