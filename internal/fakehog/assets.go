package fakehog

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
)

const (
	jsContentType = "application/javascript"

	// Generated bundle sizes: the SDK loader is the big one, lazy bundles
	// are smaller (posthog-js's own are 150–750 KB, protocol.md §4.3); these
	// are large enough for transfer and gzip costs to show in benchmarks.
	arrayJSSize  = 180_000
	bundleJSSize = 50_000

	// maxStaticEntries bounds the cache so a benchmark walking many paths
	// cannot grow it without end; beyond it files are built per request.
	maxStaticEntries = 256
)

// staticFile is one /static file with its precomputed gzip variant.
type staticFile struct {
	body, gz     []byte
	etag, gzETag string
	contentType  string
}

// staticStore serves /static/* from a directory (through os.Root, so no
// path escapes it) or from generated bundles, caching what it built.
type staticStore struct {
	root *os.Root // nil: generated bundles

	mu    sync.Mutex
	files map[string]*staticFile // by path relative to /static/
}

func newStaticStore(dir string) (*staticStore, error) {
	s := &staticStore{files: make(map[string]*staticFile)}
	if dir != "" {
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		s.root = root
	}
	return s, nil
}

func (s *staticStore) close() error {
	if s.root == nil {
		return nil
	}
	return s.root.Close()
}

// get returns the file at rel (relative to /static/). Two concurrent first
// requests may both build it; the results are byte-identical and the first
// one stored wins, so every answer serves the same slice once cached.
func (s *staticStore) get(rel string) (*staticFile, bool) {
	s.mu.Lock()
	sf, ok := s.files[rel]
	s.mu.Unlock()
	if ok {
		return sf, true
	}
	if sf = s.load(rel); sf == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.files[rel]; ok {
		return prev, true
	}
	if len(s.files) < maxStaticEntries {
		s.files[rel] = sf
	}
	return sf, true
}

// load builds the file at rel, or nil if there is none.
func (s *staticStore) load(rel string) *staticFile {
	if s.root == nil {
		if path.Ext(rel) != ".js" {
			return nil
		}
		size := bundleJSSize
		if path.Base(rel) == "array.js" {
			size = arrayJSSize
		}
		return newStaticFile(generateBundle("/static/"+rel, size), jsContentType)
	}
	fh, err := s.root.Open(rel)
	if err != nil {
		return nil
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil || st.IsDir() {
		return nil
	}
	body, err := io.ReadAll(fh)
	if err != nil {
		return nil
	}
	return newStaticFile(body, contentTypeFor(rel, body))
}

func newStaticFile(body []byte, contentType string) *staticFile {
	etag := etagOf(body)
	return &staticFile{
		body:        body,
		gz:          gzipBytes(body),
		etag:        etag,
		gzETag:      strings.TrimSuffix(etag, `"`) + `-gzip"`,
		contentType: contentType,
	}
}

// gzipBytes compresses b deterministically (no name, zero mtime).
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // valid level: no error
	_, _ = zw.Write(b)                                       // bytes.Buffer writes do not fail
	_ = zw.Close()
	return buf.Bytes()
}

// contentTypeFor picks a Content-Type from a fixed table, not the system
// mime database, so answers do not depend on the machine.
func contentTypeFor(rel string, body []byte) string {
	switch path.Ext(rel) {
	case ".js", ".mjs":
		return jsContentType
	case ".json", ".map":
		return "application/json"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return http.DetectContentType(body)
}

func isStaticPath(p string) bool { return strings.HasPrefix(p, "/static/") }

// staticRel turns "/static/a/b.js" into "a/b.js"; false if nothing is left.
func staticRel(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "/static/")
	if !ok {
		return "", false
	}
	rel := strings.TrimPrefix(path.Clean("/"+rest), "/")
	return rel, rel != ""
}

// staticFile finds the file for a /static path: the path itself, else,
// under Options.StaticVersion's directory, the unversioned file
// ("/static/1.449.2/a.js" is "a.js" when that is the version).
func (f *Fake) staticFile(p string) (*staticFile, bool) {
	rel, ok := staticRel(p)
	if !ok {
		return nil, false
	}
	if sf, ok := f.static.get(rel); ok {
		return sf, true
	}
	if f.opts.StaticVersion == "" {
		return nil, false
	}
	if rest, cut := strings.CutPrefix(rel, f.opts.StaticVersion+"/"); cut && rest != "" {
		return f.static.get(rest)
	}
	return nil, false
}

// serveStatic answers /static/*: exact bytes (SRI depends on them,
// protocol.md §4.3), Cache-Control: public, max-age=3600, an ETag per
// representation and the gzip variant when Accept-Encoding allows it.
func (f *Fake) serveStatic(r *http.Request) reply {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rep := newReply(http.StatusMethodNotAllowed, "text/plain; charset=utf-8", []byte("Method Not Allowed\n"))
		rep.header.Set("Allow", "GET, HEAD")
		return rep
	}
	sf, ok := f.staticFile(r.URL.Path)
	if !ok {
		return assetsNotFound()
	}
	rep := newReply(http.StatusOK, sf.contentType, sf.body)
	rep.header.Set("Cache-Control", "public, max-age=3600")
	rep.header.Set("Vary", "Accept-Encoding")
	etag := sf.etag
	if acceptsGzip(r.Header) {
		rep.body = sf.gz
		rep.header.Set("Content-Encoding", "gzip")
		etag = sf.gzETag
	}
	rep.header.Set("ETag", etag)
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		rep.status, rep.body = http.StatusNotModified, nil
		rep.header.Del("Content-Type")
		rep.header.Del("Content-Encoding")
	}
	return rep
}

// acceptsGzip reports whether Accept-Encoding lists gzip with q > 0
// (RFC 9110 §12.5.3).
func acceptsGzip(h http.Header) bool {
	for _, v := range h.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			key, val, ok := strings.Cut(strings.TrimSpace(params), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(key), "q") {
				return true
			}
			q, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			return err == nil && q > 0
		}
	}
	return false
}

// StaticBody returns the exact identity bytes the fake serves for a
// /static path (a query string is ignored), or nil if that path is a 404.
// The gzip variant decompresses to the same bytes.
func (f *Fake) StaticBody(p string) []byte {
	p, _, _ = strings.Cut(p, "?")
	sf, ok := f.staticFile(p)
	if !ok {
		return nil
	}
	return bytes.Clone(sf.body)
}
