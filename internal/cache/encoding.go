package cache

import (
	"net/http"
	"strconv"
	"strings"
)

// codingQ returns the weight the client's Accept-Encoding gives coding
// (RFC 9110 §12.5.3), "" meaning identity. Without the header only
// identity is served: the RFC allows any coding then, but clients that
// send none often cannot decode any.
func codingQ(h http.Header, coding string) float64 {
	values := h.Values("Accept-Encoding")
	if len(values) == 0 {
		if coding == "" {
			return 1
		}
		return 0
	}
	name := coding
	if name == "" {
		name = "identity"
	}
	star := -1.0
	for _, v := range values {
		for v != "" {
			var part string
			part, v, _ = strings.Cut(v, ",")
			tok, params, _ := strings.Cut(part, ";")
			tok = strings.TrimSpace(tok)
			if tok == "" {
				continue
			}
			q := parseQ(params)
			switch {
			case strings.EqualFold(tok, name),
				name == "gzip" && strings.EqualFold(tok, "x-gzip"):
				return q
			case tok == "*":
				star = q
			}
		}
	}
	if star >= 0 {
		return star
	}
	if coding == "" {
		return 1 // identity is acceptable unless refused
	}
	return 0
}

// parseQ reads "q=0.5" out of a parameter list; 1 when absent or bad.
func parseQ(params string) float64 {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 1
		}
		return q
	}
	return 1
}

// fillCoding returns the Accept-Encoding edgehog sends upstream when it
// fetches an answer to store for a client: the client's own choice among
// br and gzip ("br, gzip", "gzip", "br"), or "" for identity. Asking with
// one of these few lists rather than each browser's own keeps the variants
// few and concurrent misses collapsed, while every browser still gets a
// compressed copy. It is false if the client accepts none of them.
func fillCoding(h http.Header) (string, bool) {
	br, gz := codingQ(h, "br") > 0, codingQ(h, "gzip") > 0
	switch {
	case br && gz:
		return "br, gzip", true
	case gz:
		return "gzip", true
	case br:
		return "br", true
	}
	return "", codingQ(h, "") > 0
}

// acceptEncodingFor is the Accept-Encoding sent upstream to fetch coding.
func acceptEncodingFor(coding string) string {
	if coding == "" {
		return "identity"
	}
	return coding
}
