package config

import "github.com/edgehog/edgehog"

// Upstreams returns the effective API and assets origins, following
// edgehog.Config's rules: API and Assets when set, else the region's
// origins (us by default); Assets defaults to API when API is set. An
// unknown region yields empty strings (Validate reports it).
func (f File) Upstreams() (api, assets string) {
	c := f.Proxy
	if c.API != "" {
		if c.Assets != "" {
			return c.API, c.Assets
		}
		return c.API, c.API
	}
	region := c.Region
	if region == "" {
		region = "us"
	}
	api, assets, _ = edgehog.RegionUpstreams(region)
	if c.Assets != "" {
		assets = c.Assets
	}
	return api, assets
}
