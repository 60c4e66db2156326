package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

// binEnv names an environment variable that, when set, is the path of an
// edgehog binary to test instead of building one (a release build, say).
const binEnv = "E2E_EDGEHOG_BIN"

// The binaries TestMain builds once for every test.
var (
	// edgehogBin is what the SDK tests talk to. It is built with -race
	// when the tests run with -race, so real client traffic exercises the
	// binary under the race detector too.
	edgehogBin string

	// edgehogPlainBin is built without -race: the race detector multiplies
	// memory use, and TestMemoryFlatBinary measures it.
	edgehogPlainBin string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if bin := os.Getenv(binEnv); bin != "" {
		edgehogBin, edgehogPlainBin = bin, bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "edgehog-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	// A cold build cache with -race takes a while; nothing else should.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	edgehogPlainBin = filepath.Join(dir, "edgehog")
	edgehogBin = edgehogPlainBin
	builds := []struct {
		out  string
		race bool
	}{{edgehogPlainBin, false}}
	if raceEnabled {
		edgehogBin = filepath.Join(dir, "edgehog-race")
		builds = append(builds, struct {
			out  string
			race bool
		}{edgehogBin, true})
	}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		wg.Go(func() { errs[i] = buildEdgehog(ctx, b.out, b.race) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the edgehog binary: %v\n", err)
		return 1
	}
	return m.Run()
}

// buildEdgehog builds cmd/edgehog into out.
func buildEdgehog(ctx context.Context, out string, race bool) error {
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "github.com/edgehog/edgehog/cmd/edgehog")
	// go test puts $GOROOT/bin first on PATH, so this is the same go.
	cmd := exec.CommandContext(ctx, "go", args...)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, output)
	}
	return nil
}

// stack is a fake PostHog with the real edgehog binary in front of it.
type stack struct {
	fake    *fakehog.Fake
	edgehog *edgehogProc
}

// newStack starts a fake PostHog and bin in front of it; both stop when the
// test ends, edgehog first, and edgehog must then exit with status 0.
// Extra arguments go to startEdgehog.
func newStack(t *testing.T, bin string, opts fakehog.Options, extra ...string) *stack {
	t.Helper()
	opts.Quiet = true
	fake, err := fakehog.Start(opts)
	if err != nil {
		t.Fatalf("starting fakehog: %v", err)
	}
	t.Cleanup(func() {
		if err := fake.Close(); err != nil {
			t.Errorf("closing fakehog: %v", err)
		}
	})
	return &stack{fake: fake, edgehog: startEdgehog(t, bin, fake, extra...)}
}

// URL is edgehog's base URL, "http://127.0.0.1:port".
func (s *stack) URL() string { return s.edgehog.url }

// fakeHost is the host[:port] of the fake's API origin, what edgehog must
// send as Host upstream.
func (s *stack) fakeHost() string { return strings.TrimPrefix(s.fake.APIURL(), "http://") }

// edgehogProc is a running edgehog binary.
type edgehogProc struct {
	url  string
	cmd  *exec.Cmd
	log  *logTail
	done chan struct{} // closed once the process has exited
	err  error         // the Wait error; read only after done is closed
}

// startupTimeout bounds the wait for edgehog's listening log line.
const startupTimeout = 15 * time.Second

// shutdownTimeout bounds the wait for edgehog to exit after SIGTERM.
const shutdownTimeout = 15 * time.Second

// startEdgehog runs `bin serve` on a free loopback port in front of fake
// and waits for the startup log line that carries the listen address.
// Cleanup sends SIGTERM and fails the test unless edgehog exits 0.
// Extra arguments (--config FILE, say) follow the defaults.
func startEdgehog(t *testing.T, bin string, fake *fakehog.Fake, extra ...string) *edgehogProc {
	t.Helper()
	args := append([]string{"serve",
		"--listen", "127.0.0.1:0",
		"--api", fake.APIURL(),
		"--assets", fake.AssetsURL()}, extra...)
	return startEdgehogRaw(t, bin, args...)
}

// startEdgehogRaw runs bin with args, which must make it listen, and waits
// for the startup log line; cleanup is as for startEdgehog.
func startEdgehogRaw(t *testing.T, bin string, args ...string) *edgehogProc {
	t.Helper()
	log := &logTail{max: 200, addr: make(chan string, 1)}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "EDGEHOG_ACCESS_LOG=false")
	cmd.Stdout = log
	cmd.Stderr = log
	// The log pipes close when edgehog exits; nothing else holds them.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	p := &edgehogProc{cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })

	timer := time.NewTimer(startupTimeout)
	defer timer.Stop()
	select {
	case addr := <-log.addr:
		p.url = "http://" + addr
	case <-p.done:
		t.Fatalf("edgehog exited before listening: %v\nlog:\n%s", p.err, log)
	case <-timer.C:
		t.Fatalf("edgehog logged no listen address within %v\nlog:\n%s", startupTimeout, log)
	}
	return p
}

// stop sends SIGTERM and checks that edgehog drains and exits 0.
func (p *edgehogProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		<-p.done
		t.Errorf("edgehog was gone before SIGTERM: %v (exit: %v)\nlog:\n%s", err, p.err, p.log)
		return
	}
	timer := time.NewTimer(shutdownTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("edgehog did not exit within %v of SIGTERM\nlog:\n%s", shutdownTimeout, p.log)
		return
	}
	if p.err != nil {
		t.Errorf("edgehog exit after SIGTERM: got %v, want exit status 0\nlog:\n%s", p.err, p.log)
	}
	// Every test drives well-behaved clients and upstreams: nothing in it
	// is an error worth logging.
	if errs := p.log.errors(); len(errs) > 0 {
		t.Errorf("edgehog logged %d errors, want none:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

// pid is the edgehog process id.
func (p *edgehogProc) pid() int { return p.cmd.Process.Pid }

// logTail keeps the last max lines edgehog wrote, for failure messages,
// and reports the listen address from the first JSON line carrying an
// "addr" field.
type logTail struct {
	max  int
	addr chan string // receives the listen address once

	mu      sync.Mutex
	partial []byte
	lines   []string
	errs    []string // lines at level ERROR
	found   bool
}

// maxLogLine truncates long log lines kept for failure messages.
const maxLogLine = 2000

func (l *logTail) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	return len(b), nil
}

func (l *logTail) line(b []byte) {
	var rec struct {
		Level string `json:"level"`
		Addr  string `json:"addr"`
	}
	isJSON := json.Unmarshal(b, &rec) == nil
	if isJSON && !l.found && rec.Addr != "" {
		l.found = true
		l.addr <- rec.Addr
	}
	s := string(b)
	if len(s) > maxLogLine {
		s = s[:maxLogLine] + "…"
	}
	if isJSON && rec.Level == "ERROR" {
		l.errs = append(l.errs, s)
	}
	l.lines = append(l.lines, s)
	if len(l.lines) > l.max {
		l.lines = l.lines[len(l.lines)-l.max:]
	}
}

// errors returns the lines logged at level ERROR.
func (l *logTail) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(append(l.lines, string(l.partial)), "\n")
}
