package config

import (
	"fmt"
	"strings"

	"github.com/edgehog/edgehog"
	"github.com/edgehog/edgehog/internal/route"
)

// Validate checks the configuration as a whole: it builds (and closes) an
// edgehog.Proxy from f.Proxy, then checks the server and log settings. Its
// errors wrap ErrInvalid, and edgehog.ErrConfig for the proxy's.
func (f File) Validate() error {
	// The spool is checked without being opened: a running edgehog holds
	// its directory (edgehog check, reload).
	if err := f.Proxy.Spool.Validate(); err != nil {
		return invalidError{err}
	}
	pc := f.Proxy
	pc.Spool.Mode = edgehog.SpoolOff
	p, err := edgehog.New(pc)
	if err != nil {
		return invalidError{err}
	}
	p.Close()
	if err := f.validateServer(); err != nil {
		return err
	}
	if err := f.validateTLS(); err != nil {
		return err
	}
	if err := f.validateAdmin(); err != nil {
		return err
	}
	if err := checkLevel(f.Log.Level); err != nil {
		return &Error{Field: "log.level", Msg: err.Error()}
	}
	if err := checkFormat(f.Log.Format); err != nil {
		return &Error{Field: "log.format", Msg: err.Error()}
	}
	return nil
}

func (f File) validateServer() error {
	s := f.Server
	if err := checkListen(s.Listen); err != nil {
		return &Error{Field: "listen", Msg: err.Error()}
	}
	// Go starts the write deadline when the request headers are read, so
	// a body upload counts against both; WriteTimeout must leave room for
	// the answer after the slowest admitted upload.
	if s.WriteTimeout != 0 && s.WriteTimeout <= s.ReadTimeout {
		return &Error{Field: "server.write_timeout", Msg: fmt.Sprintf(
			"%s must exceed server.read_timeout (%s): the upload counts against both",
			formatDuration(s.WriteTimeout), formatDuration(s.ReadTimeout))}
	}
	probes := []struct{ field, path string }{
		{"server.health_path", s.HealthPath},
		{"server.ready_path", s.ReadyPath},
	}
	for _, pr := range probes {
		if err := f.checkProbe(pr.path); err != nil {
			return &Error{Field: pr.field, Msg: err.Error()}
		}
	}
	if s.HealthPath == s.ReadyPath {
		return &Error{Field: "server.ready_path", Msg: fmt.Sprintf("%q is also server.health_path; they must differ", s.ReadyPath)}
	}
	return nil
}

// checkProbe vets a health or readiness path: the server answers it before
// the proxy, whatever the host, so it must not hide a PostHog path, lie
// under a mount prefix, or shadow an alias.
func (f File) checkProbe(p string) error {
	if err := checkProbePath(p); err != nil {
		return err
	}
	if k, _ := route.Classify(p); k != route.KindOther {
		return fmt.Errorf("%q is a PostHog path (%s); pick another", p, k)
	}
	for _, prefix := range f.prefixes() {
		if prefix != "" && (p == prefix || strings.HasPrefix(p, prefix+"/")) {
			return fmt.Errorf("%q lies under the mount prefix %s, where every path is PostHog's", p, prefix)
		}
	}
	for i, a := range f.Proxy.Aliases {
		from, star := strings.CutSuffix(a.From, "*")
		if (star && strings.HasPrefix(p, from)) || (!star && trimSlash(p) == trimSlash(from)) {
			return fmt.Errorf("%q would hide aliases[%d] (%s)", p, i, a.From)
		}
	}
	return nil
}

// prefixes returns every mount prefix in use, cleaned: "" for the root.
func (f File) prefixes() []string {
	if len(f.Proxy.Hosts) == 0 {
		return []string{cleanPrefix(f.Proxy.Prefix)}
	}
	out := make([]string, 0, len(f.Proxy.Hosts))
	for _, h := range f.Proxy.Hosts {
		out = append(out, f.hostPrefix(h))
	}
	return out
}

// hostPrefix returns the cleaned mount prefix of a host.
func (f File) hostPrefix(h edgehog.Host) string {
	if h.Prefix != "" {
		return cleanPrefix(h.Prefix)
	}
	return cleanPrefix(f.Proxy.Prefix)
}

// cleanPrefix normalises a prefix the way route does: "/" and "" are the
// root (""), and a trailing slash is dropped.
func cleanPrefix(p string) string {
	return strings.TrimSuffix(strings.TrimSpace(p), "/")
}

func trimSlash(p string) string {
	if len(p) > 1 {
		return strings.TrimSuffix(p, "/")
	}
	return p
}
