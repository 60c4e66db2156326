package cache

import (
	"net/http"
	"testing"
)

func TestCodingQ(t *testing.T) {
	tests := []struct {
		accept []string // nil: no Accept-Encoding at all
		coding string
		want   float64
	}{
		{nil, "", 1},
		{nil, "gzip", 0},
		{[]string{"gzip, deflate, br, zstd"}, "br", 1},
		{[]string{"gzip, deflate, br, zstd"}, "", 1},
		{[]string{"gzip;q=0.5, br;q=0"}, "br", 0},
		{[]string{"gzip;q=0.5, br;q=0"}, "gzip", 0.5},
		{[]string{"x-gzip"}, "gzip", 1},
		{[]string{"identity;q=0, gzip"}, "", 0},
		{[]string{"*;q=0"}, "", 0},
		{[]string{"*"}, "br", 1},
		{[]string{"GZIP"}, "gzip", 1},
		{[]string{"gzip", "br"}, "br", 1},
		{[]string{"identity"}, "gzip", 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.accept != nil {
			h["Accept-Encoding"] = tt.accept
		}
		if got := codingQ(h, tt.coding); got != tt.want {
			t.Errorf("codingQ(%q, %q) = %v, want %v", tt.accept, tt.coding, got, tt.want)
		}
	}
}

func TestFillCoding(t *testing.T) {
	tests := []struct {
		accept string
		want   string
		ok     bool
	}{
		{"gzip, deflate, br, zstd", "br, gzip", true},
		{"br", "br", true},
		{"gzip, deflate", "gzip", true},
		{"identity", "", true},
		{"zstd, identity;q=0", "", false},
	}
	for _, tt := range tests {
		got, ok := fillCoding(http.Header{"Accept-Encoding": {tt.accept}})
		if got != tt.want || ok != tt.ok {
			t.Errorf("fillCoding(%q) = %q, %v, want %q, %v", tt.accept, got, ok, tt.want, tt.ok)
		}
	}
}

func TestIsVersioned(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/static/1.449.2/lazy-recorder.js", true},
		{"/static/1.449.2-beta.1/surveys.js", true},
		{"/static/1/array.js", false}, // a major moves with every release
		{"/static/array.js", false},
		{"/static/1.2/array.js", false},
		{"/static/1.2.x/array.js", false},
		{"/static/1.2.3/", false},
		{"/array/phc_x/config.js", false},
	}
	for _, tt := range tests {
		if got := isVersioned(tt.path); got != tt.want {
			t.Errorf("isVersioned(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestParseVary(t *testing.T) {
	tests := []struct {
		vary []string
		want []string
		ok   bool
	}{
		{nil, nil, true},
		{[]string{"Accept-Encoding"}, nil, true},
		{[]string{"Origin, Referer"}, []string{"Origin", "Referer"}, true},
		{[]string{"accept-encoding, origin", "Origin"}, []string{"Origin"}, true},
		{[]string{"*"}, nil, false},
		{[]string{"Origin, X-Forwarded-For"}, nil, false},
	}
	for _, tt := range tests {
		got, ok := parseVary(http.Header{"Vary": tt.vary})
		if ok != tt.ok || len(got) != len(tt.want) {
			t.Errorf("parseVary(%q) = %q, %v, want %q, %v", tt.vary, got, ok, tt.want, tt.ok)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parseVary(%q) = %q, want %q", tt.vary, got, tt.want)
			}
		}
	}
}

func TestRefererOrigin(t *testing.T) {
	tests := map[string]string{
		"https://www.Example.com/a/b?c=d": "https://www.example.com/",
		"http://localhost:3000/":          "http://localhost:3000/",
		"android-app://x":                 "",
		"/relative":                       "",
		"":                                "",
	}
	for in, want := range tests {
		if got := refererOrigin(in); got != want {
			t.Errorf("refererOrigin(%q) = %q, want %q", in, got, want)
		}
	}
}
