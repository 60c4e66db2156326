package tlsconf

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// checkEvery bounds how often the certificate files are looked at: once
// per second at most, so a busy listener does not stat them on every
// handshake.
const checkEvery = time.Second

// fileStamp identifies one version of a file.
type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: fi.Size(), mod: fi.ModTime()}, nil
}

// filePair serves a certificate and key read from files, reading them
// again when either file changes. Renewal tools (certbot, cert-manager)
// replace the files in place; the next handshake after the change gets
// the new pair without a restart or a reload.
type filePair struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu                  sync.Mutex
	cert                *tls.Certificate
	certStamp, keyStamp fileStamp
	checked             time.Time
}

// newFilePair loads the pair once; a pair that cannot be loaded at start
// is an error.
func newFilePair(certFile, keyFile string, log *slog.Logger, now func() time.Time) (*filePair, error) {
	p := &filePair{certFile: certFile, keyFile: keyFile, log: log, now: now}
	if err := p.load(); err != nil {
		return nil, err
	}
	p.checked = now()
	return p, nil
}

// load reads both files. The stamps are taken before reading, so a write
// landing during the read is seen as a change next time.
func (p *filePair) load() error {
	cs, err := stampOf(p.certFile)
	if err != nil {
		return fmt.Errorf("reading tls.cert_file: %w", err)
	}
	ks, err := stampOf(p.keyFile)
	if err != nil {
		return fmt.Errorf("reading tls.key_file: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		return fmt.Errorf("loading tls.cert_file and tls.key_file: %w", err)
	}
	p.cert, p.certStamp, p.keyStamp = &cert, cs, ks
	return nil
}

// GetCertificate implements tls.Config.GetCertificate.
func (p *filePair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.checked) < checkEvery {
		return p.cert, nil
	}
	p.checked = now
	cs, cerr := stampOf(p.certFile)
	ks, kerr := stampOf(p.keyFile)
	if cerr != nil || kerr != nil || (cs == p.certStamp && ks == p.keyStamp) {
		// A file missing for a moment (being replaced) keeps the pair we
		// have; it is looked at again within checkEvery.
		return p.cert, nil
	}
	if err := p.load(); err != nil {
		// Most often a renewal tool has written the certificate but not
		// yet the key: keep serving the old pair, and try again when a
		// file changes next (remembering these stamps warns once, not
		// every second).
		p.certStamp, p.keyStamp = cs, ks
		p.log.Warn("tls certificate reload failed; keeping the previous one", logKeyError, err.Error())
		return p.cert, nil
	}
	p.log.Info("tls certificate reloaded", logKeyCertFile, p.certFile)
	return p.cert, nil
}
