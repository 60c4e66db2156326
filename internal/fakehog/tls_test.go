package fakehog

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tlsPair returns a server config holding a new self-signed certificate for
// 127.0.0.1 and a pool that trusts it.
func tlsPair(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	certPEM, keyPEM, err := SelfSignedCert([]net.IP{net.IPv4(127, 0, 0, 1)}, time.Hour)
	if err != nil {
		t.Fatalf("SelfSignedCert: %v", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("X509KeyPair: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		t.Fatal("AppendCertsFromPEM: no certificate")
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, roots
}

func TestTLS(t *testing.T) {
	srvConf, roots := tlsPair(t)
	tests := []struct {
		name      string
		nextProto []string // the server's; nil offers h2 and http/1.1
		h2        bool     // the client offers h2
		wantProto string
	}{
		{"h2 offered and taken", nil, true, "HTTP/2.0"},
		{"client speaks HTTP/1.1 only", nil, false, "HTTP/1.1"},
		{"server offers HTTP/1.1 only", []string{"http/1.1"}, true, "HTTP/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := srvConf.Clone()
			conf.NextProtos = tt.nextProto
			f := startFake(t, Options{TLS: conf, Bench: true})
			for _, u := range []string{f.APIURL(), f.AssetsURL()} {
				if !strings.HasPrefix(u, "https://127.0.0.1:") {
					t.Fatalf("URL = %q, want https://127.0.0.1:<port>", u)
				}
			}
			tr := &http.Transport{
				TLSClientConfig:   &tls.Config{RootCAs: roots},
				ForceAttemptHTTP2: tt.h2,
			}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			for _, u := range []string{f.APIURL() + "/e/", f.AssetsURL() + "/static/array.js"} {
				method, body := http.MethodGet, io.Reader(nil)
				if strings.HasSuffix(u, "/e/") {
					method, body = http.MethodPost, strings.NewReader(`{"event":"e","distinct_id":"u","api_key":"phc_x"}`)
				}
				req, err := http.NewRequest(method, u, body)
				if err != nil {
					t.Fatalf("NewRequest: %v", err)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, u, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s %s: status %d, want 200", method, u, resp.StatusCode)
				}
				if resp.Proto != tt.wantProto {
					t.Errorf("%s %s: protocol %s, want %s", method, u, resp.Proto, tt.wantProto)
				}
				if got := resp.Header.Get(HeaderProto); got != tt.wantProto {
					t.Errorf("%s %s: %s = %q, want %q", method, u, HeaderProto, got, tt.wantProto)
				}
			}
		})
	}
}

func TestTLSUntrusted(t *testing.T) {
	srvConf, _ := tlsPair(t)
	f := startFake(t, Options{TLS: srvConf})
	_, otherRoots := tlsPair(t)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: otherRoots}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(f.APIURL() + "/flags/?v=2")
	if err == nil {
		resp.Body.Close()
		t.Fatal("GET with other roots succeeded, want a certificate error")
	}
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Errorf("GET with other roots: %v, want a *tls.CertificateVerificationError", err)
	}
}

func TestTLSNoCertificate(t *testing.T) {
	_, err := Start(Options{Quiet: true, TLS: &tls.Config{}})
	if err == nil || !strings.Contains(err.Error(), "tls: no certificate") {
		t.Errorf("Start with an empty TLS config = %v, want an error containing \"tls: no certificate\"", err)
	}
}

func TestPlainHasNoProtoHeader(t *testing.T) {
	f := startFake(t, Options{Bench: true})
	if !strings.HasPrefix(f.APIURL(), "http://") {
		t.Fatalf("APIURL = %q, want http://…", f.APIURL())
	}
	resp, _ := send(t, rawClient(t), http.MethodGet, f.AssetsURL()+"/static/array.js", nil)
	if got := resp.Header.Get(HeaderProto); got != "" {
		t.Errorf("%s = %q on a plain fake, want none", HeaderProto, got)
	}
}

func TestSelfSignedCert(t *testing.T) {
	ip := net.IPv4(127, 0, 0, 1)
	certPEM, _, err := SelfSignedCert([]net.IP{ip}, 24*time.Hour)
	if err != nil {
		t.Fatalf("SelfSignedCert: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		t.Fatal("AppendCertsFromPEM: no certificate")
	}
	block, _ := pemDecode(certPEM)
	cert, err := x509.ParseCertificate(block)
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	if cert.IsCA {
		t.Error("IsCA = true, want false")
	}
	if got := cert.NotAfter.Sub(cert.NotBefore); got < 24*time.Hour || got > 24*time.Hour+2*time.Minute {
		t.Errorf("validity = %v, want 24h (+ the minute of clock slack)", got)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("Verify for 127.0.0.1: %v, want nil", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.2"}); err == nil {
		t.Error("Verify for 127.0.0.2: nil, want a host name error")
	}

	for _, bad := range []struct {
		name     string
		ips      []net.IP
		validFor time.Duration
	}{
		{"no ip", nil, time.Hour},
		{"zero validity", []net.IP{ip}, 0},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if _, _, err := SelfSignedCert(bad.ips, bad.validFor); err == nil {
				t.Errorf("SelfSignedCert(%v, %v) = nil error, want one", bad.ips, bad.validFor)
			}
		})
	}
}

// pemDecode returns the DER bytes of the first PEM block in b.
func pemDecode(b []byte) ([]byte, []byte) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, rest
	}
	return block.Bytes, rest
}
