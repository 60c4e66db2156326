package spool

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// blockFiles returns the queue stream's message block files.
func blockFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".blk") && strings.Contains(p, defaultStream+string(filepath.Separator)) {
			out = append(out, p)
		}
		return nil
	})
	if len(out) == 0 {
		t.Fatalf("no message blocks under %s", dir)
	}
	return out
}

func TestDamagedStoreFiles(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"truncated", func(t *testing.T, p string) {
			st, _ := os.Stat(p)
			if err := os.Truncate(p, st.Size()-7); err != nil {
				t.Fatal(err)
			}
		}},
		{"flipped byte", func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0xff
			if err := os.WriteFile(p, b, 0o640); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q, err := Open(t.Context(), Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				r := sampleRecord()
				r.Body = fmt.Appendf(nil, `{"n":%d,"pad":%q}`, i, strings.Repeat("p", 300))
				if err := q.Put(t.Context(), &r); err != nil {
					t.Fatal(err)
				}
			}
			q.Close()
			for _, p := range blockFiles(t, dir) {
				tt.damage(t, p)
			}
			logs := &lockedBuffer{}
			q, err = Open(t.Context(), Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				t.Fatalf("Open after damage: %v", err)
			}
			defer q.Close()
			// Whatever is readable is delivered; the damage is counted and
			// logged, by the engine or by the frame checksum.
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			rd, err := q.Reader(4)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Stop()
			good := 0
			for {
				f, err := rd.Next(ctx)
				if err != nil {
					break
				}
				good += len(f.Records)
				f.Done(ctx)
			}
			s := q.State()
			if good >= 3 && s.Corrupt == 0 {
				t.Skip("the damage hit no stored bytes")
			}
			if s.Corrupt+s.EngineProblems == 0 {
				t.Errorf("State = %+v after damage, want Corrupt or EngineProblems counted", s)
			}
			if logs.String() == "" {
				t.Errorf("nothing logged about the damage")
			}
		})
	}
}
