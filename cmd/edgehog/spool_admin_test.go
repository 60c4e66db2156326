package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeSpoolObservable runs the binary with the spool in always mode
// and PostHog unreachable: stored requests show in the admin metrics, and
// once the spool is full /readyz takes the replica out of rotation.
func TestServeSpoolObservable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	path := writeFile(t, "listen: 127.0.0.1:0\nupstream:\n  api: "+dead+
		"\nspool:\n  mode: always\n  dir: "+t.TempDir()+"\n  max_bytes: 4MiB\nadmin:\n  listen: 127.0.0.1:0\n")
	p := startServe(t, nil, "serve", "--config", path)
	base := "http://" + p.waitLog(t, "edgehog serving")["addr"].(string)
	adminBase := "http://" + p.waitLog(t, "admin listening")["addr"].(string)

	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(base + "/readyz"); code != 200 {
		t.Fatalf("/readyz = %d before anything is stored, want 200", code)
	}
	event := `{"api_key":"phc_x","event":"e","properties":{"distinct_id":"d","pad":"` + strings.Repeat("x", 64<<10) + `"}}`
	stored, refused := 0, 0
	for i := 0; i < 400 && refused == 0; i++ {
		resp, err := http.Post(base+"/e/", "application/json", strings.NewReader(event))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
			stored++
		case 503:
			refused++
		default:
			t.Fatalf("POST /e/ = %d, want 200 (stored) or 503 (spool full)", resp.StatusCode)
		}
	}
	if stored == 0 || refused == 0 {
		t.Fatalf("stored %d, refused %d: want the spool to store and then fill up", stored, refused)
	}
	_, metrics := get(adminBase + "/metrics")
	for _, want := range []string{"edgehog_spool_full 1", "edgehog_spool_stored_total ", "edgehog_spool_frames ", "edgehog_spool_passed_through_total "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("admin /metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, "edgehog_spool_stored_total 0\n") {
		t.Error("edgehog_spool_stored_total is 0 after stored requests")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get(base + "/readyz")
		if code == 503 && strings.Contains(body, "not ready") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %s with a full spool in always mode, want 503", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
