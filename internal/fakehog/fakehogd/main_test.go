package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		path       string // on the api origin
		wantStatus int
	}{
		{"recording", []string{"-quiet"}, "/flags/?v=2", 200},
		{"bench", []string{"-quiet", "-bench", "-api", "127.0.0.1:0"}, "/e/", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			pr, pw := io.Pipe()
			errc := make(chan error, 1)
			go func() {
				err := run(ctx, tt.args, pw, io.Discard)
				pw.Close()
				errc <- err
			}()

			urls := map[string]string{}
			sc := bufio.NewScanner(pr)
			for len(urls) < 2 && sc.Scan() {
				name, u, ok := strings.Cut(sc.Text(), " ")
				if !ok || !strings.HasPrefix(u, "http://127.0.0.1:") {
					t.Fatalf("stdout line %q, want \"<name> http://127.0.0.1:<port>\"", sc.Text())
				}
				urls[name] = u
			}
			go io.Copy(io.Discard, pr) // nothing more is expected
			if urls["api"] == "" || urls["assets"] == "" {
				t.Fatalf("urls = %v, want api and assets", urls)
			}

			resp, err := http.Post(urls["api"]+tt.path, "application/json", strings.NewReader(`{"event":"e","distinct_id":"u"}`))
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}

			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("run = %v, want nil after cancel", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("run did not return after its context ended")
			}
		})
	}
}

func TestRunBadArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"positional", []string{"extra"}, "unexpected arguments"},
		{"bad static dir", []string{"-static", "/nonexistent/fakehogd"}, "static dir"},
		{"help", []string{"-h"}, flag.ErrHelp.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), tt.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
			if tt.name == "help" && !errors.Is(err, flag.ErrHelp) {
				t.Errorf("run(-h) = %v, want flag.ErrHelp", err)
			}
		})
	}
}
