package edgehog_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"runtime"
	"testing"

	"github.com/edgehog/edgehog"
)

// patternReader yields n deterministic bytes without holding them.
type patternReader struct {
	n, off int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n-r.off {
		p = p[:r.n-r.off]
	}
	for i := range p {
		p[i] = byte((r.off + int64(i)) * 31 % 251)
	}
	r.off += int64(len(p))
	return len(p), nil
}

func TestStreaming64MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 64 MiB")
	}
	const size = 64 << 20
	e := newEnv(t, edgehog.Config{})
	h := sha256.New()
	io.Copy(h, &patternReader{n: size})
	want := hex.EncodeToString(h.Sum(nil))

	for _, chunked := range []bool{false, true} {
		e.fake.Reset()
		var r io.Reader = &patternReader{n: size}
		req := e.newRequest(t, "POST", "/s/", r)
		if !chunked {
			req.ContentLength = size
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res, _ := e.do(t, req)
		runtime.ReadMemStats(&after)
		if res.StatusCode != 200 {
			// The fake answers 400 to an undecodable replay body; only
			// the transfer matters here.
			t.Logf("status %d", res.StatusCode)
		}
		got := e.only(t)
		if got.BodyLen != size || got.BodySHA256 != want {
			t.Errorf("chunked=%v: upstream got %d bytes sha256 %s, want %d bytes %s", chunked, got.BodyLen, got.BodySHA256, size, want)
		}
		// Client, edgehog and the fake all run in this process: if any of
		// them held the body, the heap would grow by 64 MiB or more.
		if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 16<<20 {
			t.Errorf("chunked=%v: heap grew by %d MiB moving a 64 MiB body, want flat", chunked, grew>>20)
		}
		if peak := after.TotalAlloc - before.TotalAlloc; peak > 48<<20 {
			t.Errorf("chunked=%v: %d MiB allocated moving a 64 MiB body, want far less than the body", chunked, peak>>20)
		}
	}
}
