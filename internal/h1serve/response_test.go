package h1serve_test

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFraming(t *testing.T) {
	big := strings.Repeat("x", 5000) // more than the 4 KiB held back
	for _, tt := range []struct {
		name, req string
		h         http.HandlerFunc
		// want is the exact answer after the Date line.
		want string
	}{
		{
			name: "declared length",
			req:  "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "5")
				io.WriteString(w, "hello")
			},
			want: "Content-Length: 5\r\nConnection: close\r\n\r\nhello",
		},
		{
			name: "computed length",
			req:  "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			h:    func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello world") },
			want: "Content-Length: 11\r\nConnection: close\r\n\r\nhello world",
		},
		{
			name: "chunked",
			req:  "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			h:    func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big); io.WriteString(w, "tail") },
			want: "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n1388\r\n" + big + "\r\n4\r\ntail\r\n0\r\n\r\n",
		},
		{
			name: "http/1.0 close-delimited",
			req:  "GET / HTTP/1.0\r\n\r\n",
			h:    func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) },
			want: "Connection: close\r\n\r\n" + big,
		},
		{
			name: "head",
			req:  "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			h:    func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") },
			want: "Content-Length: 5\r\nConnection: close\r\n\r\n",
		},
		{
			name: "204",
			req:  "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
				if _, err := io.WriteString(w, "body"); err != http.ErrBodyNotAllowed {
					panic("Write after 204: got " + errString(err))
				}
			},
			want: "Connection: close\r\n\r\n",
		},
		{
			name: "304",
			req:  "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusNotModified)
			},
			want: "Connection: close\r\n\r\n",
		},
		{
			name: "status without a reason phrase",
			req:  "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			h:    func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(599) },
			want: "Content-Length: 0\r\nConnection: close\r\n\r\n",
		},
		{
			name: "short body",
			req:  "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "10")
				io.WriteString(w, "short")
			},
			// The head went out with the body; the close alone tells the
			// client the answer is cut short.
			want: "Content-Length: 10\r\n\r\nshort",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.h, nil)
			c := dial(t, ts.addr)
			c.send(tt.req)
			got := stripDate(t, c.readRaw())
			line, rest, ok := strings.Cut(got, "\r\n")
			if !ok || rest != tt.want {
				t.Errorf("got %q,\nwant the status line, then %q", got, tt.want)
			}
			// net/http's reason phrase for a status without a text.
			if code := line[len("HTTP/1.1 "):][:3]; http.StatusText(atoi(code)) == "" && line != "HTTP/1.1 "+code+" status code "+code {
				t.Errorf("status line: got %q, want %q", line, "HTTP/1.1 "+code+" status code "+code)
			}
		})
	}
}

// stripDate removes the Date line from a raw answer, checking it is there.
func stripDate(t *testing.T, raw string) string {
	t.Helper()
	i := strings.Index(raw, "\r\nDate: ")
	if i < 0 {
		t.Fatalf("no Date in %q", raw)
	}
	j := strings.Index(raw[i+2:], "\r\n")
	if _, err := http.ParseTime(raw[i+8 : i+2+j]); err != nil {
		t.Errorf("Date: %v", err)
	}
	return raw[:i] + raw[i+2+j:]
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func TestKeepAliveAfterNoBody(t *testing.T) {
	for _, tt := range []struct {
		name, method string
		status       int
	}{
		{"head", "HEAD", 200},
		{"204", "GET", 204},
		{"304", "GET", 304},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/still-open" {
					return
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, "never sent")
			}), nil)
			c := dial(t, ts.addr)
			c.send(tt.method + " / HTTP/1.1\r\nHost: x\r\n\r\n")
			res := c.read(tt.method)
			checkStatus(t, res, tt.status)
			if tt.status != 200 {
				checkHeader(t, res, "Content-Length", "")
			}
			// A body sent by mistake would be read as the next answer.
			c.expectOpen()
		})
	}
}

func TestContentLengthExceeded(t *testing.T) {
	errs := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		io.WriteString(w, "abc")
		_, err := io.WriteString(w, "d")
		errs <- err
	}), nil)
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if res := c.read("GET"); res.body != "abc" {
		t.Errorf("body: got %q, want %q", res.body, "abc")
	}
	if err := waitFor(t, errs, "the handler"); err != http.ErrContentLength {
		t.Errorf("the write past the length: got %v, want %v", err, http.ErrContentLength)
	}
	c.expectOpen()
}

func TestTrailers(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "data")
		w.Header().Set("X-Sum", "abc")
		w.Header().Set(http.TrailerPrefix+"X-Late", "v")
	}), nil)
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	res := c.read("GET")
	if res.body != "data" {
		t.Errorf("body: got %q, want %q", res.body, "data")
	}
	if got := res.TransferEncoding; len(got) != 1 || got[0] != "chunked" {
		t.Errorf("Transfer-Encoding: got %q, want chunked", got)
	}
	for k, want := range map[string]string{"X-Sum": "abc", "X-Late": "v"} {
		if got := res.Trailer.Get(k); got != want {
			t.Errorf("trailer %s: got %q, want %q", k, got, want)
		}
	}
	// The body was small enough to be held back, so the head went out after
	// the trailer values were set: they still belong in the trailer only.
	for _, k := range []string{"X-Sum", "X-Late"} {
		if got := res.Header.Get(k); got != "" {
			t.Errorf("%s in the head: got %q, want it only as a trailer", k, got)
		}
	}
	c.expectOpen()
}

func TestEarlyHints(t *testing.T) {
	got103 := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.js>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		// The final answer waits until the client has the hints.
		select {
		case <-got103:
		case <-time.After(ioWait):
		}
		w.Header().Del("Link")
		io.WriteString(w, "final")
	}), nil)
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	hints := c.read("GET")
	checkStatus(t, hints, http.StatusEarlyHints)
	checkHeader(t, hints, "Link", "</app.js>; rel=preload")
	close(got103)
	res := c.read("GET")
	checkStatus(t, res, 200)
	checkHeader(t, res, "Link", "")
	if res.body != "final" {
		t.Errorf("body: got %q, want %q", res.body, "final")
	}
}

func TestFlushStreams(t *testing.T) {
	release := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(ioWait):
		}
		io.WriteString(w, "second")
	}), nil)
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading the head: %v", err)
	}
	first := make([]byte, 5)
	if _, err := io.ReadFull(res.Body, first); err != nil || string(first) != "first" {
		t.Fatalf("before the handler ends: got %q (%v), want %q", first, err, "first")
	}
	close(release)
	rest, err := io.ReadAll(res.Body)
	if err != nil || string(rest) != "second" {
		t.Errorf("the rest: got %q (%v), want %q", rest, err, "second")
	}
}

func TestHijack(t *testing.T) {
	done := make(chan string, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			done <- "hijack: " + err.Error()
			return
		}
		go func() {
			// After the handler returned: the connection is ours alone.
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(ioWait))
			rw.WriteString("raw-hello\n")
			rw.Flush()
			got := make([]byte, len("buffered")+len("later"))
			_, err := io.ReadFull(rw, got)
			rw.WriteString("raw-bye\n")
			rw.Flush()
			done <- string(got) + " " + errString(err)
		}()
	}), nil)
	c := dial(t, ts.addr)
	// "buffered" arrives with the request, so the server's reader holds it.
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\nbuffered")
	line, err := c.br.ReadString('\n')
	if line != "raw-hello\n" {
		t.Fatalf("got %q (%v), want %q", line, err, "raw-hello\n")
	}
	c.send("later")
	if line, err := c.br.ReadString('\n'); line != "raw-bye\n" {
		t.Errorf("got %q (%v), want %q", line, err, "raw-bye\n")
	}
	if got := waitFor(t, done, "the hijacker"); got != "bufferedlater nil" {
		t.Errorf("the hijacker read %q, want %q", got, "bufferedlater nil")
	}
	c.expectClosed()
}

func TestHeaderHygiene(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Evil", "a\r\nSet-Cookie: stolen=1")
		h["Bad Name"] = []string{"v"}
		h["X-Ok"] = []string{"ok"}
		switch r.URL.Path {
		case "/own-date":
			h.Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT")
		case "/no-date":
			h["Date"] = nil
		}
	}), nil)
	for _, tt := range []struct{ path, date string }{
		{"/", "now"},
		{"/own-date", "Mon, 02 Jan 2006 15:04:05 GMT"},
		{"/no-date", ""},
	} {
		t.Run(tt.path, func(t *testing.T) {
			c := dial(t, ts.addr)
			c.send("GET " + tt.path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			raw := c.readRaw()
			res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
			if err != nil {
				t.Fatalf("parsing %q: %v", raw, err)
			}
			if got, want := res.Header.Get("X-Evil"), "a  Set-Cookie: stolen=1"; got != want {
				t.Errorf("X-Evil: got %q, want %q", got, want)
			}
			if got := res.Header.Get("Set-Cookie"); got != "" {
				t.Errorf("Set-Cookie: got %q, want none", got)
			}
			if strings.Contains(raw, "Bad Name") {
				t.Errorf("the invalid field name was sent: %q", raw)
			}
			if got := res.Header.Get("X-Ok"); got != "ok" {
				t.Errorf("X-Ok: got %q, want %q", got, "ok")
			}
			date := res.Header["Date"]
			switch tt.date {
			case "now":
				if len(date) != 1 {
					t.Fatalf("Date: got %q, want one", date)
				}
				if _, err := http.ParseTime(date[0]); err != nil {
					t.Errorf("Date %q: %v", date[0], err)
				}
			case "":
				if len(date) != 0 {
					t.Errorf("Date: got %q, want none", date)
				}
			default:
				if len(date) != 1 || date[0] != tt.date {
					t.Errorf("Date: got %q, want %q", date, tt.date)
				}
			}
		})
	}
}

func TestFullDuplex(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.EnableFullDuplex(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, "ready;")
		if err := rc.Flush(); err != nil {
			return
		}
		b, err := io.ReadAll(r.Body)
		io.WriteString(w, string(b)+" "+errString(err))
	}), nil)
	c := dial(t, ts.addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n")
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading the head: %v", err)
	}
	first := make([]byte, len("ready;"))
	if _, err := io.ReadFull(res.Body, first); err != nil || string(first) != "ready;" {
		t.Fatalf("before the body was sent: got %q (%v), want %q", first, err, "ready;")
	}
	c.send("ping")
	if rest, err := io.ReadAll(res.Body); err != nil || string(rest) != "ping nil" {
		t.Errorf("the rest: got %q (%v), want %q", rest, err, "ping nil")
	}
	c.expectOpen()
}
