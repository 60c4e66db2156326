package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/tlsconf"
	"github.com/letsencrypt/challtestsrv"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

// acmeHost is the name certificates are issued for. It has two labels, as
// autocert requires; the test DNS server resolves it to 127.0.0.1.
const acmeHost = "ph.edgehog.test"

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// pebble is Let's Encrypt's test ACME server, run in this process on
// loopback. Its validation authority resolves names through a test DNS
// server answering 127.0.0.1, and connects to the given HTTP-01 and
// TLS-ALPN-01 ports: edgehog's listeners, so every challenge is really
// answered by edgehog.
type pebble struct {
	directory string         // ACME directory URL
	caRoot    string         // PEM file of the roots of the ACME server's HTTPS certificate
	issuer    *x509.CertPool // Pebble's issuing root, fetched from its management endpoint
}

func startPebble(t *testing.T, httpPort, tlsPort int) *pebble {
	t.Helper()
	// The VA sleeps up to 5s before validating unless told not to, and
	// the WFE rejects 5% of nonces to exercise clients' retries; neither
	// helps here.
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	quiet := log.New(io.Discard, "", 0) // quiet for tests

	dnsAddr := freeAddr(t)
	dns, err := challtestsrv.New(challtestsrv.Config{DNSAddrs: []string{dnsAddr}, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	dns.SetDefaultDNSIPv4("127.0.0.1")
	dns.SetDefaultDNSIPv6("") // A records only: edgehog listens on 127.0.0.1
	go dns.Run()
	t.Cleanup(dns.Shutdown)

	store := db.NewMemoryStore()
	authority := ca.New(quiet, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(quiet, httpPort, tlsPort, false, dnsAddr, store)
	front := wfe.New(quiet, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	api := httptest.NewTLSServer(front.Handler())
	t.Cleanup(api.Close)
	mgmt := httptest.NewTLSServer(front.ManagementHandler())
	t.Cleanup(mgmt.Close)

	caRoot := filepath.Join(t.TempDir(), "acme-server-ca.pem")
	if err := os.WriteFile(caRoot, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	resp, err := mgmt.Client().Get(mgmt.URL + wfe.RootCertPath + "0")
	if err != nil {
		t.Fatalf("fetching pebble's root: %v", err)
	}
	defer resp.Body.Close()
	rootPEM, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("fetching pebble's root = %d, %v", resp.StatusCode, err)
	}
	issuer := x509.NewCertPool()
	if !issuer.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble's root is not PEM: %q", rootPEM)
	}
	return &pebble{directory: api.URL + wfe.DirectoryPath, caRoot: caRoot, issuer: issuer}
}

// freeAddr returns a loopback address free for both TCP and UDP, for the
// DNS server, which cannot report the port it bound.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := tl.Addr().String()
		ul, err := net.ListenPacket("udp", addr)
		tl.Close()
		if err == nil {
			ul.Close()
			return addr
		}
	}
	t.Fatal("no free loopback port for TCP and UDP")
	return ""
}

func port(t *testing.T, ln net.Listener) int {
	t.Helper()
	_, p, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestACME obtains a certificate from Pebble with each challenge, then
// fetches a page over HTTP/2 trusting only Pebble's issuing root.
func TestACME(t *testing.T) {
	if testing.Short() {
		t.Skip("issues certificates from an in-process ACME server")
	}
	tests := []struct {
		name       string
		challenges []string
		wantHTTP01 bool // the redirect listener answered the challenge
	}{
		{"tls-alpn-01", []string{tlsconf.ChallengeTLSALPN01}, false},
		// autocert tries tls-alpn-01 first; with it off, that order fails
		// and a new one is validated over http-01 on the redirect listener.
		{"http-01", []string{tlsconf.ChallengeHTTP01}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := listen(t)
			rln := &countingListener{Listener: listen(t)}
			pb := startPebble(t, port(t, rln), port(t, ln))
			dir := filepath.Join(t.TempDir(), "acme")
			s := New(Options{TLS: tlsconf.Options{ACME: tlsconf.ACMEOptions{
				Enabled:    true,
				Hosts:      []string{acmeHost},
				Dir:        dir,
				CA:         pb.directory,
				CARootFile: pb.caRoot,
				Challenges: tt.challenges,
			}}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "hello over "+r.Proto)
			}), quiet())
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- s.ServeRedirect(ctx, ln, rln) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("ServeRedirect = %v, want nil", err)
				}
			})

			client := &http.Client{Transport: &http.Transport{
				TLSClientConfig:   &tls.Config{RootCAs: pb.issuer},
				ForceAttemptHTTP2: true,
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, network, ln.Addr().String())
				},
			}, Timeout: 2 * time.Minute}
			resp, err := client.Get("https://" + acmeHost + "/hello")
			if err != nil {
				t.Fatalf("GET over TLS: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || string(body) != "hello over HTTP/2.0" {
				t.Errorf("GET = %s %q, want HTTP/2 %q", resp.Proto, body, "hello over HTTP/2.0")
			}
			leaf := resp.TLS.PeerCertificates[0]
			if err := leaf.VerifyHostname(acmeHost); err != nil {
				t.Errorf("certificate: %v", err)
			}
			if got := rln.n.Load() > 0; got != tt.wantHTTP01 {
				t.Errorf("redirect listener answered a challenge = %v, want %v", got, tt.wantHTTP01)
			}
			// The certificate is kept on disk for the next start.
			if _, err := os.Stat(filepath.Join(dir, acmeHost)); err != nil {
				t.Errorf("certificate not stored in the ACME dir: %v", err)
			}

			// The redirect listener sends everything else to https.
			plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequest("POST", "http://"+rln.Addr().String()+"/e/?ip=1", nil)
			req.Host = acmeHost
			resp, err = plain.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := "https://" + acmeHost + ":" + strconv.Itoa(port(t, ln)) + "/e/?ip=1"
			if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
				t.Errorf("POST over http = %d %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
			}
		})
	}
}
