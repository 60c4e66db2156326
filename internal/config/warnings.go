package config

// Warnings lists settings that are valid but risky, for edgehog check and
// the startup log.
func (f File) Warnings() []string {
	var w []string
	if f.Proxy.ClientIP.TrustAllProxies {
		w = append(w, "client_ip.trust_all_proxies: every client can choose the address PostHog geolocates; list client_ip.trusted_proxies instead")
	}
	return w
}
