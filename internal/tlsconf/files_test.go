package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/tlsconf/certtest"
)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// serial returns the serial number of the leaf GetCertificate serves.
func serial(t *testing.T, tl *TLS) int64 {
	t.Helper()
	c, err := tl.Config().GetCertificate(&tls.ClientHelloInfo{ServerName: "ph.example.com"})
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.Int64()
}

// touch moves a file's modification time forward, as a rewrite by a
// renewal tool would, even on file systems with coarse timestamps.
func touch(t *testing.T, path string, by time.Duration) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, time.Time{}, fi.ModTime().Add(by)); err != nil {
		t.Fatal(err)
	}
}

func TestCertFilesReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := certtest.SelfSigned(t, 1, "ph.example.com").Write(t, dir)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	tl, err := newTLS(Options{CertFile: certFile, KeyFile: keyFile}, log, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if got := tl.Config().NextProtos; len(got) < 1 || got[0] != "h2" {
		t.Errorf("NextProtos = %v, want h2 first", got)
	}
	if got := serial(t, tl); got != 1 {
		t.Fatalf("serial = %d, want 1", got)
	}

	certtest.SelfSigned(t, 2, "ph.example.com").Write(t, dir)
	touch(t, certFile, time.Second)
	if got := serial(t, tl); got != 1 {
		t.Errorf("serial right after the change = %d, want 1 (files are looked at once per second)", got)
	}
	clk.Advance(checkEvery)
	if got := serial(t, tl); got != 2 {
		t.Errorf("serial after the change = %d, want 2", got)
	}

	// A half-written renewal (a key that does not match) keeps the old
	// pair and says so once.
	three := certtest.SelfSigned(t, 3, "ph.example.com")
	if err := os.WriteFile(certFile, three.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	touch(t, certFile, 2*time.Second)
	clk.Advance(checkEvery)
	if got := serial(t, tl); got != 2 {
		t.Errorf("serial with a mismatched key = %d, want 2 (the previous pair)", got)
	}
	if !bytes.Contains(logs.Bytes(), []byte("tls certificate reload failed")) {
		t.Errorf("logs = %q, want a reload failure", logs.String())
	}
	clk.Advance(checkEvery)
	serial(t, tl)
	if n := bytes.Count(logs.Bytes(), []byte("reload failed")); n != 1 {
		t.Errorf("%d reload failures logged for one bad change, want 1", n)
	}
	// The key arrives: the new pair is served.
	if err := os.WriteFile(keyFile, three.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	touch(t, keyFile, 3*time.Second)
	clk.Advance(checkEvery)
	if got := serial(t, tl); got != 3 {
		t.Errorf("serial once the key matches = %d, want 3", got)
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	if tl, err := New(Options{}, nil); tl != nil || err != nil {
		t.Errorf("New(zero) = %v, %v; want nil, nil", tl, err)
	}
	if _, err := New(Options{CertFile: dir + "/missing.pem", KeyFile: dir + "/missing.pem"}, nil); err == nil {
		t.Error("New with missing files = nil error, want one")
	}
	bad := dir + "/bad.pem"
	if err := os.WriteFile(bad, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{ACME: ACMEOptions{Enabled: true, Hosts: []string{"a.example"}, Dir: dir, CARootFile: bad}}, nil); err == nil {
		t.Error("New with a CA root file holding no PEM = nil error, want one")
	}
	tl, err := New(Options{ACME: ACMEOptions{Enabled: true, Hosts: []string{"a.example"}, Dir: dir + "/acme", Challenges: []string{"http-01"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tl.Config().NextProtos {
		if p == "acme-tls/1" {
			t.Error("NextProtos offers acme-tls/1 with only http-01 enabled")
		}
	}
	if fi, err := os.Stat(dir + "/acme"); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("acme dir = %v, %v; want a 0700 directory", fi, err)
	}
}
