package forward

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	live := context.Background()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		err    error
		ctx    context.Context
		status int
		code   string
	}{
		{"too large", fmt.Errorf("wrapped: %w", &http.MaxBytesError{Limit: 10}), live, 413, CodeTooLarge},
		{"too large wins over gone client", &http.MaxBytesError{Limit: 10}, gone, 413, CodeTooLarge},
		{"client gone", context.Canceled, gone, StatusClientClosed, CodeClientGone},
		{"redirect", fmt.Errorf("%w (301)", errUpstreamRedirect), live, 502, CodeUpstreamRedirect},
		{"deadline", context.DeadlineExceeded, live, 504, CodeUpstreamTimeout},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, live, 504, CodeUpstreamTimeout},
		{"dial refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, live, 502, CodeUpstreamDown},
		{"dns", &net.DNSError{Err: "no such host", Name: "x"}, live, 502, CodeUpstreamDown},
		{"reset", errors.New("connection reset by peer"), live, 502, CodeUpstreamError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, msg := classify(tt.err, tt.ctx)
			if status != tt.status || code != tt.code || msg == "" {
				t.Errorf("classify(%v) = %d, %q, %q; want %d, %q and a message", tt.err, status, code, msg, tt.status, tt.code)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("Content-Length", "999")
	WriteError(w, 413, CodeTooLarge, `quote " and \ slash`)
	want := `{"status":413,"code":"payload_too_large","error":"quote \" and \\ slash"}` + "\n"
	if w.Code != 413 || w.Body.String() != want {
		t.Errorf("WriteError wrote %d %q, want 413 %q", w.Code, w.Body.String(), want)
	}
	if cl := w.Header().Get("Content-Length"); cl != fmt.Sprint(len(want)) {
		t.Errorf("Content-Length = %q, want %d", cl, len(want))
	}
}

func TestFilterCookies(t *testing.T) {
	tests := []struct {
		keep []string
		in   []string
		want string
	}{
		{nil, []string{"a=1; b=2"}, ""},
		{[]string{"b"}, []string{"a=1; b=2"}, "b=2"},
		{[]string{"b", "c"}, []string{"a=1; b=2", "c=3"}, "b=2; c=3"},
		{[]string{"x"}, []string{"a=1"}, ""},
		{[]string{"b"}, []string{"bb=1;b=2;  b=3"}, "b=2; b=3"},
	}
	for _, tt := range tests {
		f, err := New(Options{API: mustURL("http://a"), Assets: mustURL("http://a"), KeepCookies: tt.keep})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.keptCookies(tt.in); got != tt.want {
			t.Errorf("keep %v: Cookie %q → %q, want %q", tt.keep, tt.in, got, tt.want)
		}
	}
}
