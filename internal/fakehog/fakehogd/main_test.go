package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// certFiles writes a self-signed certificate for 127.0.0.1 and its key to
// dir and returns their paths and a client that trusts the certificate.
func certFiles(t *testing.T, dir string) (cert, key string, c *http.Client) {
	t.Helper()
	certPEM, keyPEM, err := fakehog.SelfSignedCert([]net.IP{net.IPv4(127, 0, 0, 1)}, time.Hour)
	if err != nil {
		t.Fatalf("SelfSignedCert: %v", err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return cert, key, &http.Client{Transport: tr}
}

func TestRun(t *testing.T) {
	cert, key, tlsClient := certFiles(t, t.TempDir())
	tests := []struct {
		name       string
		args       []string
		path       string // on the api origin
		wantStatus int
		scheme     string       // of the printed URLs
		client     *http.Client // nil: http.DefaultClient
		wantProto  string       // "": not checked
	}{
		{"recording", []string{"-quiet"}, "/flags/?v=2", 200, "http", nil, ""},
		{"bench", []string{"-quiet", "-bench", "-api", "127.0.0.1:0"}, "/e/", 200, "http", nil, ""},
		{"tls", []string{"-quiet", "-bench", "-tls-cert", cert, "-tls-key", key}, "/e/", 200, "https", tlsClient, "HTTP/2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			pr, pw := io.Pipe()
			errc := make(chan error, 1)
			go func() {
				err := run(ctx, tt.args, pw, io.Discard)
				pw.Close()
				errc <- err
			}()

			urls := map[string]string{}
			sc := bufio.NewScanner(pr)
			for len(urls) < 2 && sc.Scan() {
				name, u, ok := strings.Cut(sc.Text(), " ")
				if !ok || !strings.HasPrefix(u, tt.scheme+"://127.0.0.1:") {
					t.Fatalf("stdout line %q, want \"<name> %s://127.0.0.1:<port>\"", sc.Text(), tt.scheme)
				}
				urls[name] = u
			}
			go io.Copy(io.Discard, pr) // nothing more is expected
			if urls["api"] == "" || urls["assets"] == "" {
				t.Fatalf("urls = %v, want api and assets", urls)
			}

			c := tt.client
			if c == nil {
				c = http.DefaultClient
			}
			resp, err := c.Post(urls["api"]+tt.path, "application/json", strings.NewReader(`{"event":"e","distinct_id":"u"}`))
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantProto != "" && resp.Proto != tt.wantProto {
				t.Errorf("protocol = %s, want %s", resp.Proto, tt.wantProto)
			}

			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("run = %v, want nil after cancel", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("run did not return after its context ended")
			}
		})
	}
}

func TestRunBadArgs(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := certFiles(t, dir)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"positional", []string{"extra"}, "unexpected arguments"},
		{"bad static dir", []string{"-static", "/nonexistent/fakehogd"}, "static dir"},
		{"help", []string{"-h"}, flag.ErrHelp.Error()},
		{"cert without key", []string{"-tls-cert", cert}, "give both or neither"},
		{"key without cert", []string{"-tls-key", key}, "give both or neither"},
		{"missing cert file", []string{"-tls-cert", filepath.Join(dir, "nope.pem"), "-tls-key", key}, "loading -tls-cert"},
		{"key swapped for cert", []string{"-tls-cert", key, "-tls-key", cert}, "loading -tls-cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), tt.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
			if tt.name == "help" && !errors.Is(err, flag.ErrHelp) {
				t.Errorf("run(-h) = %v, want flag.ErrHelp", err)
			}
		})
	}
}
