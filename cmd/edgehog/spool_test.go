package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/spool"
)

func TestSpoolCommand(t *testing.T) {
	dir := t.TempDir()
	q, err := spool.Open(context.Background(), spool.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rec := &spool.Record{Received: time.Now(), Method: "POST", Path: "/batch/", Body: []byte(`{"batch":[]}`)}
	if err := q.DeadLetter(t.Context(), rec, 400, "400 Bad Request invalid_payload"); err != nil {
		t.Fatal(err)
	}
	q.Close()

	noEnv := func(string) string { return "" }
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"status", []string{"status"}, exitOK, "dead letters 1"},
		{"inspect", []string{"inspect"}, exitOK, "400 Bad Request invalid_payload"},
		{"purge needs --yes", []string{"purge", "--dead"}, exitUsage, "--yes"},
		{"purge needs a target", []string{"purge", "--yes"}, exitUsage, "--dead and --queue"},
		{"unknown action", []string{"fix"}, exitUsage, "unknown action"},
		{"replay", []string{"replay"}, exitOK, "1 dead letters moved"},
		{"status after replay", []string{"status"}, exitOK, "queued frames 1"},
		{"purge queue", []string{"purge", "--queue", "--yes"}, exitOK, "1 undelivered frames deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"spool"}, tt.args...)
			args = append(args, "--dir", dir)
			code := run(t.Context(), args, noEnv, &stdout, &stderr)
			// Columns are aligned with spaces: compare with single ones.
			out := strings.Join(strings.Fields(stdout.String()+stderr.String()), " ")
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("edgehog %s = %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, tt.code, tt.want, stdout.String(), stderr.String())
			}
		})
	}
	// While another process holds the directory, the command says so.
	q, err = spool.Open(context.Background(), spool.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"spool", "status", "--dir", dir}, noEnv, &stdout, &stderr); code != exitRuntime || !strings.Contains(stderr.String(), "another edgehog") {
		t.Errorf("status on a locked directory = %d, %s", code, stderr.String())
	}
}
