package forward

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/edgehog/edgehog/internal/h1serve"
)

// front is a server in front of a Forwarder, as edgehog serve runs one.
type front struct {
	name   string
	url    string
	client *http.Client
}

// fronts serves h with each HTTP/1.x server edgehog serve can use:
// net/http's and edgehog's own engine. Both close with the test.
func fronts(t *testing.T, h http.Handler) []front {
	t.Helper()
	std := httptest.NewServer(h)
	t.Cleanup(std.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	eng := h1serve.New(h1serve.Options{Handler: h})
	go eng.Serve(ln)
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		eng.Close()
	})
	return []front{
		{"net/http", std.URL, std.Client()},
		{"h1serve", "http://" + ln.Addr().String(), &http.Client{Transport: tr}},
	}
}
