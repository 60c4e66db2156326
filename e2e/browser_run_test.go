package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// browserDir holds run.mjs, the test page and their package.json and
// package-lock.json (posthog-js and playwright-core).
const browserDir = "browser"

// chromiumEnv names an environment variable with the Chromium binary to
// use instead of defaultChromium.
const chromiumEnv = "E2E_CHROMIUM"

// defaultChromium is where Debian's chromium package puts the browser.
const defaultChromium = "/usr/bin/chromium"

// pageHost is the loopback address the test page is served from. edgehog
// listens on 127.0.0.1: another host is another origin, so every request
// posthog-js makes to edgehog is cross-origin, as on a real site whose
// proxy is on a subdomain.
const pageHost = "127.0.0.5"

// browserTimeout bounds one run of run.mjs, browser start included.
const browserTimeout = 3 * time.Minute

// browserTools is what the browser tests need installed.
type browserTools struct {
	node, chromium string
	sdkVersion     string // posthog-js's version, from its package.json
	staticDir      string // posthog-js's dist/, served as /static
}

// requireBrowser finds node, Chromium and the npm packages. When one is
// missing it fails the test under CI (the suite must run there every time)
// and skips it elsewhere, saying how to install it either way.
func requireBrowser(t *testing.T) browserTools {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf(format+" (CI is set, so the browser suite must run; .ci/run installs everything)", args...)
		}
		t.Skipf(format+": skipping the browser end-to-end test", args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed (%v)", err)
	}
	chromium := os.Getenv(chromiumEnv)
	if chromium == "" {
		chromium = defaultChromium
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("chromium is not installed (%v): apt-get install chromium, or set %s", err, chromiumEnv)
	}
	for _, pkg := range []string{"posthog-js", "playwright-core"} {
		if _, err := os.Stat(filepath.Join(browserDir, "node_modules", pkg, "package.json")); err != nil {
			missing("%s is not installed (%v): run npm ci in e2e/browser", pkg, err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(browserDir, "node_modules", "posthog-js", "package.json"))
	if err != nil {
		t.Fatalf("reading posthog-js's package.json: %v", err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil || pkg.Version == "" {
		t.Fatalf("posthog-js's package.json has no version (%v)", err)
	}
	dist, err := filepath.Abs(filepath.Join(browserDir, "node_modules", "posthog-js", "dist"))
	if err != nil {
		t.Fatalf("locating posthog-js's dist: %v", err)
	}
	return browserTools{node: node, chromium: chromium, sdkVersion: pkg.Version, staticDir: dist}
}

// browserFake starts the fake PostHog the browser tests use: posthog-js's
// real dist/ on the assets origin (also under /static/<version>/, which
// posthog-js asks for first), remote config that turns on session
// recording and surveys, and the test flags with a payload.
func browserFake(tools browserTools) fakehog.Options {
	return fakehog.Options{
		StaticDir:     tools.staticDir,
		StaticVersion: tools.sdkVersion,
		MaxRecordBody: 64 << 20,
		Flags:         testFlags,
		FlagPayloads:  map[string]json.RawMessage{browserFlag: json.RawMessage(browserFlagPayload)},
		RemoteConfig: map[string]any{
			// What PostHog sends for a project with recordings on and no
			// sampling, minimum duration or triggers
			// (PH:posthog/api/test/test_remote_config.py).
			"sessionRecording": map[string]any{
				"endpoint":                    "/s/",
				"consoleLogRecordingEnabled":  true,
				"recorderVersion":             "v2",
				"sampleRate":                  nil,
				"minimumDurationMilliseconds": nil,
				"linkedFlag":                  nil,
				"networkPayloadCapture":       nil,
				"urlTriggers":                 []any{},
				"urlBlocklist":                []any{},
				"eventTriggers":               []any{},
				"scriptConfig":                nil,
			},
			"surveys": true,
		},
	}
}

// browserFlag is the flag the page reads with its payload.
const browserFlag = "checkout-flow"

// browserFlagPayload is browserFlag's payload.
const browserFlagPayload = `{"headline":"Grüße 🦔","steps":[1,2,3],"nested":{"ok":true}}`

// pageConfig is window.E2E on the test page (see browser/page.js).
type pageConfig struct {
	Token              string       `json:"token"`
	APIHost            string       `json:"apiHost"`
	UIHost             string       `json:"uiHost"`
	SDKSrc             string       `json:"sdkSrc"`
	DisableCompression bool         `json:"disableCompression"`
	Aliases            *pageAliases `json:"aliases"`
	LoadOnly           bool         `json:"loadOnly"`
	Unicode            string       `json:"unicode"`
}

// pageAliases is the rewriteRequestPath setup of docs/configuration.md.
type pageAliases struct {
	Prefix   string            `json:"prefix"`
	Exact    map[string]string `json:"exact"`
	Prefixes [][2]string       `json:"prefixes"`
}

// startPage serves the test page on pageHost: / is page.html, /page.js its
// script, /page-config.js sets window.E2E to cfg, and /exit is the page the
// browser leaves to. It returns the page's origin.
func startPage(t *testing.T, cfg pageConfig) string {
	t.Helper()
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("encoding the page config: %v", err)
	}
	// encoding/json escapes <, >, &, U+2028 and U+2029: safe in a script.
	configJS := []byte("window.E2E = " + string(cfgJSON) + ";\n")
	files := map[string]struct {
		name, contentType string
	}{
		"/":        {"page.html", "text/html; charset=utf-8"},
		"/page.js": {"page.js", "text/javascript; charset=utf-8"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		serveFile(w, files["/"].name, files["/"].contentType)
	})
	mux.HandleFunc("GET /page.js", func(w http.ResponseWriter, r *http.Request) {
		serveFile(w, files["/page.js"].name, files["/page.js"].contentType)
	})
	mux.HandleFunc("GET /page-config.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(configJS)
	})
	mux.HandleFunc("GET /exit", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>left</title><link rel="icon" href="data:,"></head><body>left</body></html>`)
	})
	ln, err := net.Listen("tcp", net.JoinHostPort(pageHost, "0"))
	if err != nil {
		t.Fatalf("listening for the test page: %v", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func serveFile(w http.ResponseWriter, name, contentType string) {
	body, err := os.ReadFile(filepath.Join(browserDir, name))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// browserSummary is what run.mjs prints.
type browserSummary struct {
	Mode             string           `json:"mode"`
	Error            string           `json:"error"`
	UserAgent        string           `json:"userAgent"`
	SDKVersion       string           `json:"sdkVersion"`
	LoadError        string           `json:"loadError"`
	SessionID        string           `json:"sessionId"`
	DistinctID       string           `json:"distinctId"`
	RecordingStarted bool             `json:"recordingStarted"`
	Captures         []browserCapture `json:"captures"`
	Identify         map[string]any   `json:"identify"`
	Group            struct {
		Type       string         `json:"type"`
		Key        string         `json:"key"`
		Properties map[string]any `json:"properties"`
	} `json:"group"`
	Flag struct {
		Key     string `json:"key"`
		Value   any    `json:"value"`
		Enabled any    `json:"enabled"`
		Payload any    `json:"payload"`
	} `json:"flag"`
	Sent []struct {
		UUID  string `json:"uuid"`
		Event string `json:"event"`
	} `json:"sent"`
	Requests   []browserRequest `json:"requests"`
	Preflights []struct {
		URL     string `json:"url"`
		Status  int    `json:"status"`
		Failure string `json:"failure"`
	} `json:"preflights"`
	ConsoleErrors  []string `json:"consoleErrors"`
	PageErrors     []string `json:"pageErrors"`
	FailedRequests []string `json:"failedRequests"`
	BadResponses   []string `json:"badResponses"`
}

// browserCapture is one capture the page made and the properties it gave.
type browserCapture struct {
	UUID       string         `json:"uuid"`
	Event      string         `json:"event"`
	Properties map[string]any `json:"properties"`
}

// browserRequest is one request the page made, as Chromium reported it.
type browserRequest struct {
	Method       string `json:"method"`
	URL          string `json:"url"`
	ResourceType string `json:"resourceType"`
	Status       int    `json:"status"`
	Cache        string `json:"cache"`     // edgehog's X-Edgehog-Cache answer header
	RequestID    string `json:"requestId"` // edgehog's X-Request-Id answer header
	StartMs      int64  `json:"startMs"`   // when Chromium started it, Unix ms
	AnswerMs     int64  `json:"answerMs"`  // when its answer arrived, Unix ms; 0 if none
	Failure      string `json:"failure"`
}

// browserRun is a running run.mjs that has printed its summary and holds
// the browser open until finish.
type browserRun struct {
	sum    *browserSummary
	finish func() // closes the browser; safe to call more than once
}

// runBrowser runs run.mjs with env (the page URLs and a fresh profile are
// added) and returns once it has printed its summary. The browser stays
// open, so that beacons sent on page exit can still arrive, until finish
// or the end of the test.
func runBrowser(t *testing.T, tools browserTools, pageURL string, env map[string]string) *browserRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	cmd := exec.CommandContext(ctx, tools.node, "run.mjs")
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(),
		"E2E_PAGE_URL="+pageURL+"/",
		"E2E_EXIT_URL="+pageURL+"/exit",
		"E2E_USER_DATA_DIR="+t.TempDir(),
		"E2E_CHROMIUM="+tools.chromium,
	)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatalf("run.mjs stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("run.mjs stdout: %v", err)
	}
	// run.mjs is still running when a failure prints its stderr.
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting node run.mjs: %v", err)
	}
	finished := false
	finish := func() {
		if finished {
			return
		}
		finished = true
		_ = stdin.Close()
		_, _ = io.Copy(io.Discard, stdout)
		err := cmd.Wait()
		cancel()
		if err != nil && !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("node run.mjs: %v\nstderr:\n%s", err, stderr.String())
		}
	}
	t.Cleanup(finish)

	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	if !sc.Scan() {
		finish()
		t.Fatalf("node run.mjs printed no summary (%v)\nstderr:\n%s", sc.Err(), stderr.String())
	}
	var sum browserSummary
	if err := json.Unmarshal(sc.Bytes(), &sum); err != nil {
		finish()
		t.Fatalf("node run.mjs summary: %v\nstdout: %s\nstderr:\n%s", err, abbrev(sc.Text()), stderr.String())
	}
	if sum.Error != "" {
		finish()
		t.Fatalf("run.mjs failed: %s\nconsole errors: %q\nfailed requests: %q\nbad responses: %q\nstderr:\n%s",
			sum.Error, sum.ConsoleErrors, sum.FailedRequests, sum.BadResponses, stderr.String())
	}
	if strings.TrimSpace(stderr.String()) != "" {
		t.Logf("run.mjs stderr:\n%s", stderr.String())
	}
	return &browserRun{sum: &sum, finish: finish}
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitEvent waits, bounded, until the fake has answered 200 to a request
// carrying an event named name.
func waitEvent(t *testing.T, fake *fakehog.Fake, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for {
		reqs := fake.Requests()
		for _, r := range reqs {
			if r.Status != http.StatusOK {
				continue
			}
			for _, ev := range r.Events {
				if ev.Event == name {
					return
				}
			}
		}
		if err := fake.WaitRequests(ctx, len(reqs)+1); err != nil {
			t.Fatalf("waiting for a %q event at the fake: %v\nfake saw: %s", name, err, describe(reqs))
		}
	}
}
