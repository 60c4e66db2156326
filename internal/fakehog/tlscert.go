package fakehog

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// SelfSignedCert returns a new self-signed ECDSA P-256 certificate and its
// private key, both PEM-encoded, for the given IP addresses, valid from a
// minute ago for validFor. It is its own issuer and no CA: a client trusts
// it by putting the certificate itself among its roots (Go's
// x509.CertPool, edgehog's upstream.ca_file). Use it with Options.TLS
// through tls.X509KeyPair, or write it to files for fakehogd's -tls-cert
// and -tls-key.
func SelfSignedCert(ips []net.IP, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	if len(ips) == 0 {
		return nil, nil, errors.New("self-signed certificate: no IP address")
	}
	if validFor <= 0 {
		return nil, nil, fmt.Errorf("self-signed certificate: validity must be positive, got %v", validFor)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: generating key: %w", err)
	}
	// RFC 5280 §4.1.2.2: a positive serial of at most 20 octets.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: generating serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: "fakehog " + ips[0].String()},
		IPAddresses:  ips,
		// A minute back, so that a client whose clock is a little behind
		// does not see a certificate from the future.
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: signing: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: encoding key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}
