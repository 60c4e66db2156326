package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// benchCert is the self-signed certificate the TLS fakehogd serves, in the
// run's temporary directory.
type benchCert struct {
	certFile, keyFile string
	roots             *x509.CertPool // trusts the certificate
	note              string         // what it is, for the report
}

// newBenchCert writes a new self-signed ECDSA P-256 certificate for
// 127.0.0.1, valid for a day, and its key to dir.
func newBenchCert(dir string) (*benchCert, error) {
	certPEM, keyPEM, err := fakehog.SelfSignedCert([]net.IP{net.IPv4(127, 0, 0, 1)}, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	c := &benchCert{
		certFile: filepath.Join(dir, "upstream-cert.pem"),
		keyFile:  filepath.Join(dir, "upstream-key.pem"),
		roots:    x509.NewCertPool(),
		note:     "self-signed ECDSA P-256 certificate for 127.0.0.1; TLS 1.3, HTTP/2 and HTTP/1.1 offered by ALPN",
	}
	if !c.roots.AppendCertsFromPEM(certPEM) {
		return nil, errors.New("upstream certificate: no certificate in the generated PEM")
	}
	if err := os.WriteFile(c.certFile, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("upstream certificate: %w", err)
	}
	if err := os.WriteFile(c.keyFile, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("upstream certificate: %w", err)
	}
	return c, nil
}
