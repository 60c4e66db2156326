package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// A scenario is one kind of request, replayed by wrk against every target.
type scenario struct {
	Name     string // flag and file name: capture-json, …
	Title    string // table label
	Method   string
	Path     string // path and query
	Upstream string // "api" or "assets": which fakehogd listener serves it directly
	Script   string // wrk script in bench/wrk
	// ContentType is set on POSTs; the wrk script sets the same.
	ContentType string
	Body        []byte
	// MinResponse is the smallest plausible response body, checked once
	// per target before measuring.
	MinResponse int
	// Want, when set, must occur in the response body.
	Want string
}

const mib = 1 << 20

// scenarios returns the five scenarios with their bodies. The bodies are
// deterministic so that runs compare.
func scenarios() []*scenario {
	rnd := rand.New(rand.NewPCG(1, 2))
	return []*scenario{
		{
			Name: "capture-json", Title: "POST /e/ 2 KB JSON",
			Method: "POST", Path: "/e/", Upstream: "api", Script: "capture_json.lua",
			ContentType: "application/json", Body: captureJSON(rnd, 2048),
			MinResponse: 2, Want: "Ok",
		},
		{
			Name: "capture-gzip", Title: "POST /i/v0/e/ 1 KB gzip",
			Method: "POST", Path: "/i/v0/e/?compression=gzip-js&ip=0&_=1763776800000&ver=1.298.0",
			Upstream: "api", Script: "capture_gzip.lua",
			ContentType: "text/plain", Body: captureGzip(rnd, 1024),
			MinResponse: 2, Want: "Ok",
		},
		{
			Name: "static", Title: "GET /static/array.js",
			Method: "GET", Path: "/static/array.js", Upstream: "assets", Script: "static.lua",
			MinResponse: 100 << 10,
		},
		{
			Name: "replay-1mib", Title: "POST /s/ 1 MiB",
			Method: "POST", Path: "/s/?compression=gzip-js&ip=0&_=1763776800000&ver=1.298.0",
			Upstream: "api", Script: "replay.lua",
			ContentType: "text/plain", Body: replayGzip(rnd, mib),
			MinResponse: 2, Want: "Ok",
		},
		{
			Name: "flags", Title: "POST /flags/?v=2",
			Method: "POST", Path: "/flags/?v=2&config=true", Upstream: "api", Script: "flags.lua",
			ContentType: "application/json", Body: flagsBody(),
			MinResponse: 2, Want: "flags",
		},
	}
}

const benchToken = "phc_bench0000000000000000000000000000000000000"

func event(rnd *rand.Rand, name string) map[string]any {
	return map[string]any{
		"uuid":        fmt.Sprintf("0197%04x-%04x-7%03x-8%03x-%012x", rnd.Uint32()&0xffff, rnd.Uint32()&0xffff, rnd.Uint32()&0xfff, rnd.Uint32()&0xfff, rnd.Uint64()&0xffffffffffff),
		"event":       name,
		"timestamp":   "2025-11-22T02:00:00.000Z",
		"distinct_id": fmt.Sprintf("0197%016x", rnd.Uint64()),
		"properties": map[string]any{
			"$os": "Mac OS X", "$browser": "Chrome", "$browser_version": 142,
			"$current_url":   "https://example.com/pricing?utm_source=newsletter",
			"$host":          "example.com",
			"$pathname":      "/pricing",
			"$screen_height": 1117, "$screen_width": 1728,
			"$lib": "web", "$lib_version": "1.298.0",
			"$session_id": fmt.Sprintf("0197%016x", rnd.Uint64()),
			"$window_id":  fmt.Sprintf("0197%016x", rnd.Uint64()),
			"token":       benchToken,
		},
	}
}

// captureJSON returns one JSON event padded to exactly size bytes.
func captureJSON(rnd *rand.Rand, size int) []byte {
	ev := event(rnd, "$pageview")
	ev["api_key"] = benchToken
	props := ev["properties"].(map[string]any)
	const referrer = "https://www.google.com/search?q="
	props["$referrer"] = referrer
	b, _ := json.Marshal(ev)
	props["$referrer"] = referrer + strings.Repeat("x", max(0, size-len(b)))
	b, _ = json.Marshal(ev)
	return b
}

// captureGzip returns a gzip'd JSON batch of events whose compressed size is
// close to size bytes, as posthog-js's gzip-js compression sends it.
func captureGzip(rnd *rand.Rand, size int) []byte {
	var out []byte
	for n := 1; n < 64; n++ {
		var batch []map[string]any
		for i := range n {
			ev := event(rnd, "$autocapture")
			ev["properties"].(map[string]any)["$el_text"] = fmt.Sprintf("Button %d %x", i, rnd.Uint64())
			batch = append(batch, ev)
		}
		b, _ := json.Marshal(batch)
		gz := gzipBytes(b, gzip.DefaultCompression)
		if len(gz) > size+size/4 {
			break
		}
		out = gz
		if len(gz) >= size-size/8 {
			break
		}
	}
	return out
}

// replayGzip returns a gzip body of exactly size bytes wrapping a JSON
// snapshot batch with an incompressible payload, like a compressed
// session-recording upload.
func replayGzip(rnd *rand.Rand, size int) []byte {
	raw := make([]byte, size)
	for i := range raw {
		raw[i] = byte(rnd.Uint32())
	}
	data := base64.StdEncoding.EncodeToString(raw)
	build := func(n int) []byte {
		b, _ := json.Marshal([]map[string]any{{
			"event": "$snapshot",
			"properties": map[string]any{
				"$snapshot_data":  []any{map[string]any{"type": 2, "data": data[:n]}},
				"$session_id":     "0197aaaabbbbcccc",
				"$window_id":      "0197ddddeeeeffff",
				"distinct_id":     "0197user",
				"$snapshot_bytes": n,
			},
		}})
		// Stored blocks: the size is the JSON's plus a fixed overhead.
		return gzipBytes(b, gzip.NoCompression)
	}
	n := size / 2
	for range 8 {
		gz := build(n)
		if len(gz) == size {
			return gz
		}
		n += size - len(gz)
	}
	return build(n)
}

func flagsBody() []byte {
	b, _ := json.Marshal(map[string]any{
		"token":       benchToken,
		"distinct_id": "0197user",
		"groups":      map[string]any{},
		"person_properties": map[string]any{
			"$initial_referring_domain": "$direct",
			"email":                     "user@example.com",
		},
		"timezone": "Europe/Paris",
	})
	return b
}

func gzipBytes(b []byte, level int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, level)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}
