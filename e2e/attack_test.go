package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
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

// The attack suite runs against the real binary with a trusted proxy
// network (127.0.0.10/32, standing for a load balancer), a flags rate
// limit and tight slow-client settings. Clients connect from chosen
// loopback source addresses: 127.0.0.2 is an ordinary (untrusted) browser.
const attackConfig = `
client_ip:
  trusted_proxies: [127.0.0.10/32, "::ffff:127.0.0.11"]
rate_limit:
  kinds:
    flags: {per_second: 0.2, burst: 3}
server:
  read_header_timeout: 1s
  max_header_bytes: 16KiB
`

const (
	browserIP = "127.0.0.2"
	lbIP      = "127.0.0.10"
)

func startAttackStack(t *testing.T) *stack {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "edgehog.yaml")
	if err := os.WriteFile(cfg, []byte(attackConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	fake, err := fakehog.Start(fakehog.Options{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	return &stack{fake: fake, edgehog: startEdgehog(t, edgehogBin, fake, "--config", cfg)}
}

// rawExchange sends raw bytes to addr from the source address src and
// reads one response. A nil response with a nil error means the server
// closed the connection without answering.
func rawExchange(t *testing.T, src, addr, raw string) (*http.Response, []byte, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		return nil, nil, err
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body, nil
}

const event = `{"api_key":"phc_x","event":"e","properties":{"distinct_id":"d"}}`

func post(path, headers string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: ph.example.com\r\n" + headers +
		fmt.Sprintf("Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(event), event)
}

func get(target, headers string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: ph.example.com\r\n" + headers + "Connection: close\r\n\r\n"
}

func TestAttackSuite(t *testing.T) {
	s := startAttackStack(t)
	addr := strings.TrimPrefix(s.URL(), "http://")
	fakeHost := s.fakeHost()

	// upstream checks what the fake saw; nil means it must have seen nothing.
	type upstream func(t *testing.T, reqs []fakehog.Request)
	xffIs := func(want string) upstream {
		return func(t *testing.T, reqs []fakehog.Request) {
			t.Helper()
			if len(reqs) != 1 {
				t.Fatalf("upstream saw %d requests, want 1", len(reqs))
			}
			h := reqs[0].Header
			if got := h.Values("X-Forwarded-For"); len(got) != 1 || got[0] != want {
				t.Errorf("upstream X-Forwarded-For = %q, want exactly [%s]", got, want)
			}
			if got := h.Get("X-Real-Ip"); got != want {
				t.Errorf("upstream X-Real-IP = %q, want %s", got, want)
			}
			for _, k := range []string{"Forwarded", "True-Client-Ip", "Cf-Connecting-Ip", "Fly-Client-Ip", "Cloudfront-Viewer-Address", "X-Posthog-Client-Ip"} {
				if v, ok := h[k]; ok {
					t.Errorf("upstream got %s = %q", k, v)
				}
			}
			if reqs[0].Host != fakeHost {
				t.Errorf("upstream Host = %q, want %q", reqs[0].Host, fakeHost)
			}
		}
	}
	tests := []struct {
		name   string
		src    string
		raw    string
		status int // 0: the connection is closed without an answer
		up     upstream
	}{
		// Client IP.
		{"spoofed XFF from a browser", browserIP, post("/e/", "X-Forwarded-For: 8.8.8.8\r\n"), 200, xffIs(browserIP)},
		{"spoofed Forwarded, X-Real-IP, CF, True-Client-IP", browserIP, post("/e/",
			"Forwarded: for=8.8.8.8\r\nX-Real-IP: 8.8.8.8\r\nCF-Connecting-IP: 8.8.8.8\r\nTrue-Client-IP: 8.8.8.8\r\nFly-Client-IP: 8.8.8.8\r\nCloudFront-Viewer-Address: 8.8.8.8:1\r\nX-PostHog-Client-IP: 8.8.8.8\r\n"), 200, xffIs(browserIP)},
		{"many spoofed XFF lines", browserIP, post("/e/", "X-Forwarded-For: 8.8.8.8\r\nX-Forwarded-For: 9.9.9.9, 1.1.1.1\r\n"), 200, xffIs(browserIP)},
		{"client behind the trusted LB", lbIP, post("/e/", "X-Forwarded-For: 198.51.100.7\r\n"), 200, xffIs("198.51.100.7")},
		{"spoof through the trusted LB", lbIP, post("/e/", "X-Forwarded-For: 8.8.8.8, 198.51.100.7\r\n"), 200, xffIs("198.51.100.7")},
		{"IPv6 client behind the LB", lbIP, post("/e/", "X-Forwarded-For: [2001:db8::7]:4711\r\n"), 200, xffIs("2001:db8::7")},
		{"garbage XFF behind the LB", lbIP, post("/e/", "X-Forwarded-For: unknown, _hidden, 1.2.3\r\n"), 200, xffIs(lbIP)},
		{"trusted LB without XFF", lbIP, post("/e/", ""), 200, xffIs(lbIP)},

		// Path tricks and exposure.
		{"project API", browserIP, get("/api/projects/1/feature_flags/", ""), 404, nil},
		{"admin", browserIP, get("/admin/", ""), 404, nil},
		{"the app", browserIP, get("/", ""), 404, nil},
		{"dot-dot", browserIP, get("/static/../api/projects/", ""), 400, nil},
		{"encoded dot-dot", browserIP, get("/static/%2e%2e/api/projects/", ""), 400, nil},
		{"encoded slash", browserIP, get("/static%2f..%2fapi%2fprojects%2f", ""), 400, nil},
		{"double slash", browserIP, get("//api/projects/", ""), 400, nil},
		{"backslashes", browserIP, get(`/static\..\api\projects\`, ""), 400, nil},
		{"mixed case", browserIP, get("/Api/Projects/", ""), 404, nil},
		{"overlong path", browserIP, get("/static/"+strings.Repeat("a", 4000), ""), 414, nil},
		{"absolute-form to elsewhere", browserIP, "GET http://169.254.169.254/api/projects/ HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n", 404, nil},
		{"absolute-form capture stays on the upstream", browserIP, "POST http://evil.example/e/ HTTP/1.1\r\nHost: evil.example\r\nContent-Length: " + fmt.Sprint(len(event)) + "\r\nConnection: close\r\n\r\n" + event, 200, xffIs(browserIP)},
		{"arbitrary Host stays on the upstream", browserIP, strings.Replace(post("/e/", ""), "Host: ph.example.com", "Host: 169.254.169.254", 1), 200, xffIs(browserIP)},
		{"CONNECT", browserIP, "CONNECT 169.254.169.254:443 HTTP/1.1\r\nHost: 169.254.169.254:443\r\n\r\n", 405, nil},

		// Smuggling shapes.
		{"two Content-Lengths", browserIP, "POST /e/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef", 400, nil},
		{"Transfer-Encoding gzip", browserIP, "POST /e/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, nil},
		{"Transfer-Encoding chunked twice", browserIP, "POST /e/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 501, nil},
		{"space before colon", browserIP, "POST /e/ HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nabcde", 400, nil},
		{"obsolete line folding", browserIP, "POST /e/ HTTP/1.1\r\nHost: x\r\n Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", 400, nil},
		{"negative Content-Length", browserIP, "POST /e/ HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, nil},
		{"two Hosts", browserIP, "POST /e/ HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n", 400, nil},

		// Oversized headers.
		{"oversized headers", browserIP, post("/e/", "Cookie: "+strings.Repeat("a", 64<<10)+"\r\n"), 431, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.fake.Reset()
			res, body, err := rawExchange(t, tt.src, addr, tt.raw)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			status := 0
			if res != nil {
				status = res.StatusCode
			}
			if status != tt.status {
				t.Fatalf("status %d %q, want %d", status, body, tt.status)
			}
			if tt.up != nil {
				tt.up(t, s.fake.Requests())
			} else if n := len(s.fake.Requests()); n != 0 {
				t.Errorf("upstream saw %d requests, want none", n)
			}
		})
	}

	t.Run("CL and TE together close the connection", func(t *testing.T) {
		// Go's server follows RFC 9112 §6.3 as an intermediary must: the
		// Content-Length is dropped and the chunked body read. edgehog then
		// closes the connection, so a front proxy that framed the request
		// by its Content-Length cannot smuggle a second request after it.
		s.fake.Reset()
		raw := "POST /e/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(event), event) +
			"GET /admin/ HTTP/1.1\r\nHost: x\r\n\r\n"
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, raw)
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !res.Close {
			t.Errorf("first answer %d close=%v, want 200 and the connection closed", res.StatusCode, res.Close)
		}
		if _, err := http.ReadResponse(br, nil); err == nil {
			t.Error("a second request was answered on the same connection")
		}
		if got := s.fake.Requests(); len(got) != 1 || got[0].BodyLen != int64(len(event)) {
			t.Errorf("upstream saw %d requests, want the one chunked event", len(got))
		}
	})

	t.Run("slowloris", func(t *testing.T) {
		// Headers dribbled one byte at a time: read_header_timeout (1s)
		// closes the connection; the loop is bounded at 10s.
		s.fake.Reset()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		closed := false
		for i := 0; i < 100 && !closed; i++ {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := io.WriteString(c, "X"); err != nil {
				closed = true
				break
			}
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			var b [512]byte
			if n, err := c.Read(b[:]); n > 0 || (err != nil && !isTimeout(err)) {
				closed = true
			}
		}
		if !closed {
			t.Fatalf("connection still open after %v of dribbled headers", time.Since(start))
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("slow client held the connection %v, want about read_header_timeout (1s)", took)
		}
		if n := len(s.fake.Requests()); n != 0 {
			t.Errorf("upstream saw %d requests", n)
		}
	})

	t.Run("rate limit exhaustion", func(t *testing.T) {
		s.fake.Reset()
		var statuses []int
		retryAfter := ""
		for range 5 {
			res, _, err := rawExchange(t, "127.0.0.3", addr, post("/flags/?v=2", ""))
			if err != nil || res == nil {
				t.Fatalf("exchange: %v", err)
			}
			statuses = append(statuses, res.StatusCode)
			if res.StatusCode == 429 {
				retryAfter = res.Header.Get("Retry-After")
			}
		}
		if fmt.Sprint(statuses) != "[200 200 200 429 429]" {
			t.Errorf("statuses %v, want [200 200 200 429 429]", statuses)
		}
		if retryAfter != "5" {
			t.Errorf("Retry-After %q, want 5 (one token per 5s)", retryAfter)
		}
		if n := len(s.fake.Requests()); n != 3 {
			t.Errorf("upstream saw %d flags requests, want 3", n)
		}
		// Another address has its own bucket.
		if res, _, _ := rawExchange(t, "127.0.0.4", addr, post("/flags/?v=2", "")); res == nil || res.StatusCode != 200 {
			t.Errorf("another client was limited too")
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}
