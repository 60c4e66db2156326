package config

// Upstreams returns the effective API and assets origins, following
// edgehog.Config's rules. An invalid setting yields empty strings
// (Validate reports it).
func (f File) Upstreams() (api, assets string) {
	api, assets, err := f.Proxy.Upstreams()
	if err != nil {
		return "", ""
	}
	return api, assets
}
