package admin

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
)

// statusHTML is the status page: one file, no external assets, so that
// it works on an offline host and leaks no request to a third party.
//
//go:embed status.html
var statusHTML []byte

// pageCSP is the status page's Content-Security-Policy: its own inline
// script and style, by hash, and fetches to its own origin; nothing else,
// and no framing.
func pageCSP(page []byte) string {
	return "default-src 'none'; script-src " + inlineHash(page, "<script>", "</script>") +
		"; style-src " + inlineHash(page, "<style>", "</style>") +
		"; connect-src 'self'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}

// inlineHash returns the CSP source of the element between open and
// close in page ('sha256-…'), or 'none' if there is none.
func inlineHash(page []byte, open, close string) string {
	_, rest, ok := bytes.Cut(page, []byte(open))
	if !ok {
		return "'none'"
	}
	body, _, ok := bytes.Cut(rest, []byte(close))
	if !ok {
		return "'none'"
	}
	sum := sha256.Sum256(body)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func (h *Handler) statusPage(w http.ResponseWriter, _ *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(statusHTML)
}
