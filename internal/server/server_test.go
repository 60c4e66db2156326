package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// listen opens a loopback listener for a test.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serving is a Server running in a test.
type serving struct {
	base   string             // http://127.0.0.1:port
	cancel context.CancelFunc // starts the drain
	done   chan struct{}      // closed when Serve returned
	err    error              // Serve's result, once done
}

// start runs s.Serve on a loopback listener until the test ends.
func start(t *testing.T, s *Server) *serving {
	t.Helper()
	ln := listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	sv := &serving{base: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan struct{})}
	go func() {
		sv.err = s.Serve(ctx, ln)
		close(sv.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-sv.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return sv
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) } // quiet for tests

func TestProbes(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "proxied "+r.URL.Path)
	})
	s := New(Options{}, next, quiet())
	tests := []struct {
		name, method, host, path string
		draining                 bool
		wantCode                 int
		wantBody                 string
	}{
		{"health", "GET", "example.com", "/healthz", false, 200, `{"status":"ok"}` + "\n"},
		{"health any host", "GET", "ph.other.org", "/healthz", false, 200, `{"status":"ok"}` + "\n"},
		{"health head", "HEAD", "example.com", "/healthz", false, 200, ""},
		{"health while draining", "GET", "example.com", "/healthz", true, 200, `{"status":"ok"}` + "\n"},
		{"ready", "GET", "example.com", "/readyz", false, 200, `{"status":"ok"}` + "\n"},
		{"ready while draining", "GET", "example.com", "/readyz", true, 503, `{"status":"draining"}` + "\n"},
		{"post is refused", "POST", "example.com", "/healthz", false, 405, `{"status":"method not allowed"}` + "\n"},
		{"trailing slash is not exact", "GET", "example.com", "/healthz/", false, 200, "proxied /healthz/"},
		{"below is not exact", "GET", "example.com", "/readyz/x", false, 200, "proxied /readyz/x"},
		{"other path", "GET", "example.com", "/e/", false, 200, "proxied /e/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.draining.Store(tt.draining)
			r := httptest.NewRequest(tt.method, "http://"+tt.host+tt.path, nil)
			w := httptest.NewRecorder()
			s.srv.Handler.ServeHTTP(w, r)
			if w.Code != tt.wantCode || w.Body.String() != tt.wantBody {
				t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, w.Code, w.Body.String(), tt.wantCode, tt.wantBody)
			}
			if strings.HasPrefix(tt.wantBody, "{") {
				if got := w.Header().Get("Content-Type"); got != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", got)
				}
				if got := w.Header().Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", got)
				}
			}
		})
	}
}

func TestCustomProbePaths(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	s := New(Options{HealthPath: "/-/live", ReadyPath: "/-/ready"}, next, quiet())
	for path, want := range map[string]int{"/-/live": 200, "/-/ready": 200, "/healthz": 418, "/readyz": 418} {
		w := httptest.NewRecorder()
		s.srv.Handler.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("GET %s = %d, want %d", path, w.Code, want)
		}
	}
}

func TestTimeoutsSet(t *testing.T) {
	d := DefaultOptions()
	tests := []struct {
		name string
		in   Options
		want Options
	}{
		{"zero takes defaults", Options{}, d},
		{"explicit values kept", Options{
			Listen: "127.0.0.1:9", ReadHeaderTimeout: 1 * time.Second, ReadTimeout: 2 * time.Second,
			WriteTimeout: 3 * time.Second, IdleTimeout: 4 * time.Second, ShutdownTimeout: 5 * time.Second,
			MaxHeaderBytes: 6, HealthPath: "/h", ReadyPath: "/r", Engine: EngineGo,
		}, Options{
			Listen: "127.0.0.1:9", ReadHeaderTimeout: 1 * time.Second, ReadTimeout: 2 * time.Second,
			WriteTimeout: 3 * time.Second, IdleTimeout: 4 * time.Second, ShutdownTimeout: 5 * time.Second,
			MaxHeaderBytes: 6, HealthPath: "/h", ReadyPath: "/r", Engine: EngineGo,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.in, http.NotFoundHandler(), nil)
			if !reflect.DeepEqual(s.opts, tt.want) {
				t.Errorf("options = %+v, want %+v", s.opts, tt.want)
			}
			got := Options{
				ReadHeaderTimeout: s.srv.ReadHeaderTimeout, ReadTimeout: s.srv.ReadTimeout,
				WriteTimeout: s.srv.WriteTimeout, IdleTimeout: s.srv.IdleTimeout, MaxHeaderBytes: s.srv.MaxHeaderBytes,
			}
			want := Options{
				ReadHeaderTimeout: tt.want.ReadHeaderTimeout, ReadTimeout: tt.want.ReadTimeout,
				WriteTimeout: tt.want.WriteTimeout, IdleTimeout: tt.want.IdleTimeout, MaxHeaderBytes: tt.want.MaxHeaderBytes,
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("http.Server limits = %+v, want %+v", got, want)
			}
			if s.srv.ErrorLog == nil {
				t.Error("http.Server.ErrorLog is nil, want it routed to slog")
			}
		})
	}
	if d.WriteTimeout <= d.ReadTimeout {
		t.Errorf("default WriteTimeout %v must exceed ReadTimeout %v", d.WriteTimeout, d.ReadTimeout)
	}
}

// TestReadHeaderTimeout checks that a client dribbling its headers is cut
// off: it cannot pin a connection.
func TestReadHeaderTimeout(t *testing.T) {
	s := New(Options{ReadHeaderTimeout: 100 * time.Millisecond}, http.NotFoundHandler(), quiet())
	sv := start(t, s)
	c, err := net.Dial("tcp", strings.TrimPrefix(sv.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n") // never finished
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = bufio.NewReader(c).ReadString('\n')
	if err == nil {
		// Go may answer 408 before closing; either way it must be fast.
		t.Logf("server answered before closing")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("connection held for %v, want it closed after ~100ms", d)
	}
}

func TestDrain(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		if err := r.Context().Err(); err != nil {
			t.Errorf("request context ended during drain: %v", err)
		}
		io.WriteString(w, "finished")
	})
	s := New(Options{ShutdownTimeout: 10 * time.Second}, slow, quiet())
	sv := start(t, s)

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(sv.base + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-entered
	if s.Addr() == nil {
		t.Error("Addr() = nil while serving")
	}
	sv.cancel()

	// New connections are refused once the listener is closed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(sv.base, "http://"), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepts connections during drain")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Readiness has flipped while the slow request is still in flight.
	w := httptest.NewRecorder()
	s.srv.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz during drain = %d, want 503", w.Code)
	}
	select {
	case <-sv.done:
		t.Fatalf("Serve returned %v before the in-flight request finished", sv.err)
	default:
	}

	close(release)
	r := <-got
	if r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request = %q, %v; want %q, nil", r.body, r.err, "finished")
	}
	<-sv.done
	if sv.err != nil {
		t.Errorf("Serve = %v, want nil after a clean drain", sv.err)
	}
}

func TestDrainTimeout(t *testing.T) {
	entered := make(chan struct{})
	stuck := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // ends only when the connection is closed
	})
	s := New(Options{ShutdownTimeout: 100 * time.Millisecond}, stuck, quiet())
	sv := start(t, s)
	go func() {
		if resp, err := http.Get(sv.base + "/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	sv.cancel()
	select {
	case <-sv.done:
		if !errors.Is(sv.err, context.DeadlineExceeded) {
			t.Errorf("Serve = %v, want a drain deadline error", sv.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not give up after ShutdownTimeout")
	}
}

func TestServeError(t *testing.T) {
	s := New(Options{}, http.NotFoundHandler(), quiet())
	ln := listen(t)
	ln.Close() // Serve fails at once on a closed listener
	if err := s.Serve(t.Context(), ln); err == nil {
		t.Error("Serve on a closed listener = nil, want an error")
	}
}

func TestListenAndServe(t *testing.T) {
	s := New(Options{Listen: "127.0.0.1:0"}, http.NotFoundHandler(), quiet())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx) }()
	var addr net.Addr
	for deadline := time.Now().Add(5 * time.Second); addr == nil; time.Sleep(5 * time.Millisecond) {
		if addr = s.Addr(); addr == nil && time.Now().After(deadline) {
			t.Fatal("Addr() stayed nil")
		}
	}
	resp, err := http.Get("http://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz = %d, want 200", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe = %v, want nil", err)
	}

	bad := New(Options{Listen: "127.0.0.1:-1"}, http.NotFoundHandler(), quiet())
	if err := bad.ListenAndServe(t.Context()); err == nil {
		t.Error("ListenAndServe on a bad address = nil, want an error")
	}
}

func TestReadyCheck(t *testing.T) {
	var notReady error
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	s := New(Options{Ready: func() error { return notReady }}, next, quiet())
	probe := func() (int, string) {
		w := httptest.NewRecorder()
		s.srv.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		return w.Code, w.Body.String()
	}
	if code, _ := probe(); code != 200 {
		t.Errorf("ready check passing: /readyz = %d, want 200", code)
	}
	notReady = errors.New(`spool "full"`)
	code, body := probe()
	if code != 503 || body != `{"status":"not ready: spool \"full\""}`+"\n" {
		t.Errorf("ready check failing: /readyz = %d %q, want 503 with the reason as JSON", code, body)
	}
	w := httptest.NewRecorder()
	s.srv.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != 200 {
		t.Errorf("/healthz = %d while not ready, want 200 (liveness is not readiness)", w.Code)
	}
}
