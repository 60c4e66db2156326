package clientip

import (
	"net/http"
	"net/netip"
	"testing"
)

func prefixes(t *testing.T, ss ...string) []netip.Prefix {
	t.Helper()
	var ps []netip.Prefix
	for _, s := range ss {
		p, err := ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

func TestResolve(t *testing.T) {
	lb := []string{"10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.1"}
	tests := []struct {
		name   string
		opts   Options
		trust  []string
		remote string
		header http.Header
		want   string
	}{
		{"no trust: peer", Options{}, nil, "203.0.113.7:5000", http.Header{"X-Forwarded-For": {"8.8.8.8"}}, "203.0.113.7"},
		{"no trust ignores every header", Options{Header: "CF-Connecting-IP"}, nil, "203.0.113.7:5000",
			http.Header{"Cf-Connecting-Ip": {"8.8.8.8"}, "X-Real-Ip": {"8.8.4.4"}}, "203.0.113.7"},
		{"untrusted peer spoofing XFF", Options{}, lb, "203.0.113.7:1", http.Header{"X-Forwarded-For": {"10.0.0.1, 8.8.8.8"}}, "203.0.113.7"},
		{"trusted LB, client appended", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"198.51.100.4"}}, "198.51.100.4"},
		{"trusted LB, spoofed left part ignored", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"8.8.8.8, 198.51.100.4"}}, "198.51.100.4"},
		{"two trusted hops", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"8.8.8.8, 198.51.100.4, 10.9.9.9"}}, "198.51.100.4"},
		{"hops across header lines", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"8.8.8.8, 198.51.100.4", "10.9.9.9"}}, "198.51.100.4"},
		{"single trusted address", Options{}, lb, "192.0.2.1:1", http.Header{"X-Forwarded-For": {"198.51.100.4"}}, "198.51.100.4"},
		{"trusted peer without XFF", Options{}, lb, "10.1.2.3:1", nil, "10.1.2.3"},
		{"all hops trusted: leftmost", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"10.5.5.5, 10.6.6.6"}}, "10.5.5.5"},
		{"garbage left of client", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"unknown, 198.51.100.4"}}, "198.51.100.4"},
		{"garbage right after trusted", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"198.51.100.4, garbage"}}, "10.1.2.3"},
		{"entry with port", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"198.51.100.4:5555"}}, "198.51.100.4"},
		{"bracketed v6 with port", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"[2001:db8::9]:443"}}, "2001:db8::9"},
		{"v6 with zone", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"fe80::1%eth0"}}, "fe80::1"},
		{"v4-mapped v6", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"::ffff:198.51.100.4"}}, "198.51.100.4"},
		{"empty entries", Options{}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {" , 198.51.100.4 ,"}}, "198.51.100.4"},
		{"v6 LB", Options{}, lb, "[2001:db8:ffff::5]:443", http.Header{"X-Forwarded-For": {"2001:db8:1::1"}}, "2001:db8:1::1"},
		{"v4-mapped peer is trusted as v4", Options{}, lb, "[::ffff:10.1.2.3]:1", http.Header{"X-Forwarded-For": {"198.51.100.4"}}, "198.51.100.4"},
		{"trust all: leftmost", Options{TrustAll: true}, nil, "203.0.113.7:1", http.Header{"X-Forwarded-For": {"8.8.8.8, 198.51.100.4"}}, "8.8.8.8"},
		{"cf header", Options{Header: "CF-Connecting-IP"}, lb, "10.1.2.3:1",
			http.Header{"Cf-Connecting-Ip": {"198.51.100.4"}, "X-Forwarded-For": {"8.8.8.8"}}, "198.51.100.4"},
		{"header missing: peer", Options{Header: "True-Client-IP"}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"8.8.8.8"}}, "10.1.2.3"},
		{"header repeated: peer", Options{Header: "Fly-Client-IP"}, lb, "10.1.2.3:1", http.Header{"Fly-Client-Ip": {"1.1.1.1", "2.2.2.2"}}, "10.1.2.3"},
		{"header garbage: peer", Options{Header: "X-Real-IP"}, lb, "10.1.2.3:1", http.Header{"X-Real-Ip": {"unknown"}}, "10.1.2.3"},
		{"viewer address v4", Options{Header: "CloudFront-Viewer-Address"}, lb, "10.1.2.3:1", http.Header{"Cloudfront-Viewer-Address": {"198.51.100.4:46532"}}, "198.51.100.4"},
		{"viewer address v6", Options{Header: "CloudFront-Viewer-Address"}, lb, "10.1.2.3:1", http.Header{"Cloudfront-Viewer-Address": {"2001:db8:1::1:46532"}}, "2001:db8:1::1"},
		{"truncate v4", Options{Truncate: true}, nil, "203.0.113.77:1", nil, "203.0.113.0"},
		{"truncate v6", Options{Truncate: true}, nil, "[2001:db8:aaaa:bbbb::1]:1", nil, "2001:db8:aaaa::"},
		{"truncate after walk", Options{Truncate: true}, lb, "10.1.2.3:1", http.Header{"X-Forwarded-For": {"198.51.100.4"}}, "198.51.100.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.TrustedProxies = prefixes(t, tt.trust...)
			r, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := r.Resolve(tt.remote, tt.header)
			if !ok || got.String() != tt.want {
				t.Errorf("Resolve(%q, %v) = %v, %v; want %s", tt.remote, tt.header, got, ok, tt.want)
			}
		})
	}
}

func TestResolveNoIPPeer(t *testing.T) {
	r, _ := New(Options{})
	if a, ok := r.Resolve("@", http.Header{"X-Forwarded-For": {"8.8.8.8"}}); ok {
		t.Errorf("Resolve over a Unix socket = %v, want none", a)
	}
}

func TestParseEntry(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means not an address
	}{
		{"1.2.3.4", "1.2.3.4"},
		{" 1.2.3.4 ", "1.2.3.4"},
		{`"1.2.3.4"`, "1.2.3.4"},
		{"1.2.3.4:80", "1.2.3.4"},
		{"::1", "::1"},
		{"[::1]", "::1"},
		{"[::1]:80", "::1"},
		{"[fe80::1%25eth0]:80", "fe80::1"},
		{"fe80::1%eth0", "fe80::1"},
		{"[fe80::1%eth0]:80", "fe80::1"},
		{"unknown", ""},
		{"_hidden", ""},
		{"", ""},
		{"0.0.0.0", ""},
		{"::", ""},
		{"1.2.3", ""},
		{"1.2.3.4.5", ""},
		{"[1.2.3.4]", ""},
		{"1.2.3.4:99999", ""},
	}
	for _, tt := range tests {
		a, ok := ParseEntry(tt.in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tt.want {
			t.Errorf("ParseEntry(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Options{Header: "X-Client"}); err == nil {
		t.Error("New accepted an unsupported header")
	}
	for _, s := range []string{"10.0.0.0/33", "nope", "fe80::1%eth0", ""} {
		if _, err := ParsePrefix(s); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", s)
		}
	}
	if p, err := ParsePrefix("10.1.2.3/8"); err != nil || p.String() != "10.0.0.0/8" {
		t.Errorf("ParsePrefix(10.1.2.3/8) = %v, %v; want 10.0.0.0/8", p, err)
	}
}

func FuzzResolve(f *testing.F) {
	// Seeds: a clean chain, spoofing, ports and brackets, zones, garbage.
	f.Add("10.0.0.1:5000", "8.8.8.8, 198.51.100.4, 10.0.0.2", "198.51.100.9")
	f.Add("203.0.113.1:1", "10.0.0.1", "")
	f.Add("[2001:db8::1]:443", "[2001:db8::2]:80,unknown,,", "2001:db8::3:443")
	f.Add("10.0.0.1:1", "fe80::1%eth0, ::ffff:1.2.3.4", "garbage")
	f.Add("garbage", "\x00\xff", "[[::1]]")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	resolvers := []*Resolver{}
	for _, o := range []Options{
		{TrustedProxies: trusted},
		{TrustedProxies: trusted, Truncate: true},
		{TrustedProxies: trusted, Header: "CloudFront-Viewer-Address"},
		{TrustAll: true},
	} {
		r, err := New(o)
		if err != nil {
			f.Fatal(err)
		}
		resolvers = append(resolvers, r)
	}
	f.Fuzz(func(t *testing.T, remote, xff, single string) {
		h := http.Header{"X-Forwarded-For": {xff}, "Cloudfront-Viewer-Address": {single}}
		for _, r := range resolvers {
			a, ok := r.Resolve(remote, h)
			if !ok {
				continue
			}
			if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
				t.Fatalf("Resolve(%q, %q, %q) = %v: not a clean address", remote, xff, single, a)
			}
			peer, _ := Peer(remote)
			if !r.Trusted(peer) && a != peer && !(r.truncate && a == Truncate(peer)) {
				t.Fatalf("untrusted peer %v was believed: got %v", peer, a)
			}
		}
	})
}
