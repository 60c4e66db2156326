package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/tlsconf/certtest"
)

// TestServeTLS runs the binary with certificate files and a redirect
// listener: capture over HTTP/2, a 308 from the plain listener, and a
// renewed certificate picked up without a restart.
func TestServeTLS(t *testing.T) {
	up := newUpstream(t)
	dir := t.TempDir()
	first := certtest.SelfSigned(t, 1, "ph.example.com", "127.0.0.1")
	certFile, keyFile := first.Write(t, dir)
	path := writeFile(t, "listen: 127.0.0.1:0\nprefix: /ph\nupstream:\n  api: "+up.URL+
		"\ntls:\n  cert_file: "+certFile+"\n  key_file: "+keyFile+"\nhttp_redirect_listen: 127.0.0.1:0\n")
	p := startServe(t, nil, "serve", "--config", path)
	addr := p.waitLog(t, "edgehog serving")["addr"].(string)
	on := p.waitLog(t, "tls on")
	if on["tls"] != "files" {
		t.Errorf("tls on line = %v, want tls=files", on)
	}
	redirect := p.waitLog(t, "redirecting http to https")["addr"].(string)

	client := func(roots *tls.Config) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: roots, ForceAttemptHTTP2: true}}
	}
	c := client(&tls.Config{RootCAs: first.Roots, ServerName: "ph.example.com"})
	resp, err := c.Post("https://"+addr+"/ph/e/", "application/json", strings.NewReader(`{"event":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || string(body) != `{"status":"Ok"}` {
		t.Errorf("POST over TLS = %s %d %q, want HTTP/2 200 {\"status\":\"Ok\"}", resp.Proto, resp.StatusCode, body)
	}

	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://"+redirect+"/ph/static/array.js?v=1", nil)
	req.Host = "ph.example.com"
	resp, err = plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := strings.Cut(addr, ":")
	if want := "https://ph.example.com:" + port + "/ph/static/array.js?v=1"; resp.StatusCode != 308 || resp.Header.Get("Location") != want {
		t.Errorf("GET over http = %d %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	// Renewal: new files in place are served on a later handshake, with
	// no signal. Files are looked at once a second, so poll (bounded).
	second := certtest.SelfSigned(t, 2, "ph.example.com", "127.0.0.1")
	if err := os.WriteFile(keyFile+".new", second.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile+".new", second.CertPEM, 0o600)
	os.Rename(keyFile+".new", keyFile)
	os.Rename(certFile+".new", certFile)
	renewed := false
	for i := 0; i < 100 && !renewed; i++ {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: second.Roots, ServerName: "ph.example.com"})
		if err == nil {
			conn.Close()
			renewed = true
			break
		}
		// Not yet: the old certificate does not verify against the new
		// root; the files are looked at again within a second.
		select {
		case line := <-p.lines:
			t.Logf("edgehog: %v", line)
		case <-p.exit:
			t.Fatal("edgehog exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !renewed {
		t.Error("the renewed certificate was never served")
	}
}
