// Command bench runs edgehog side by side with nginx and with no proxy at
// all ("direct") in front of fakehogd, the fake PostHog, and reports
// throughput, latency, CPU time per request and peak memory.
//
// From the repository root:
//
//	go run ./bench          # full run: 10 s × 3 rounds per scenario and target
//	go run ./bench -short   # smoke run: 2 s × 1 round
//
// It builds ./cmd/edgehog and ./internal/fakehog/fakehogd, starts fakehogd,
// nginx and edgehog on 127.0.0.1 with wrk, the proxy under test and fakehogd
// pinned with taskset, and writes bench/results/<date>.md and .json (short
// runs go to bench/results/tmp/, which git ignores). It needs nginx and wrk
// (apt-get install -y nginx-light wrk). See docs/performance.md.
package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/edgehog/edgehog/internal/fakehog"
)

func init() {
	// Children are started with Pdeathsig, which fires when the thread that
	// started them exits; keep main on one thread for the whole run.
	runtime.LockOSThread()
}

type options struct {
	duration    time.Duration
	warmup      time.Duration
	reps        int
	connections int
	threads     int
	timeout     time.Duration
	short       bool

	targets   []string
	scenarios []string

	wrkCPUs      string
	proxyCPUs    string
	upstreamCPUs string

	edgehogBin  string
	fakehogdBin string
	out         string
	keep        bool

	accessLogEnv []string
	edgehogEnv   []string

	quietPct  float64
	quietWait time.Duration
	maxOther  float64
	retries   int
}

// defaultTargets run when -targets is not given.
var defaultTargets = []string{"direct", "nginx", "edgehog", "edgehog-gohttp", "edgehog-log", "nginx-nobuf", "edgehog-gmp2", "nginx-w2"}

// tlsTargets reach a second fakehogd over TLS; they are selected by name,
// or all at once with -targets tls, and are not in the default run
// (docs/performance.md says why).
var tlsTargets = []string{"direct-tls", "nginx-tls", "edgehog-tls-h2", "edgehog-tls-h1"}

var allTargets = slices.Concat(defaultTargets, tlsTargets)

// expandTargets replaces the group names "default" and "tls" in names by
// their targets and drops repeats.
func expandTargets(names []string) []string {
	var out []string
	for _, n := range names {
		group := []string{n}
		switch n {
		case "default":
			group = defaultTargets
		case "tls":
			group = tlsTargets
		}
		for _, g := range group {
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}

func main() {
	var o options
	var targets, scens, accessLogEnv, edgehogEnv string
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured `time` per run (whole seconds)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each run (0 disables)")
	flag.IntVar(&o.reps, "reps", 3, "rounds; each scenario × target is run once per round and the median reported")
	flag.IntVar(&o.connections, "c", 64, "concurrent connections")
	flag.IntVar(&o.threads, "t", 1, "wrk threads")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "wrk per-request timeout")
	flag.BoolVar(&o.short, "short", false, "smoke run: -duration 2s -warmup 1s -reps 1 unless set, results under bench/results/tmp/")
	flag.StringVar(&targets, "targets", strings.Join(defaultTargets, ","),
		"targets to run, of "+strings.Join(allTargets, ", ")+`; "tls" stands for the four *-tls* targets, "default" for the default list`)
	flag.StringVar(&scens, "scenarios", "", "scenarios to run (default all): capture-json, capture-gzip, static, replay-1mib, flags")
	flag.StringVar(&o.wrkCPUs, "wrk-cpus", "0", "CPU list for wrk (taskset -c)")
	flag.StringVar(&o.proxyCPUs, "proxy-cpus", "1", "CPU list for nginx and edgehog")
	flag.StringVar(&o.upstreamCPUs, "upstream-cpus", "", "CPU list for fakehogd (default: all CPUs, shared)")
	flag.StringVar(&o.edgehogBin, "edgehog", "", "prebuilt edgehog `binary` (default: go build ./cmd/edgehog)")
	flag.StringVar(&o.fakehogdBin, "fakehogd", "", "prebuilt fakehogd `binary` (default: go build ./internal/fakehog/fakehogd)")
	flag.StringVar(&o.out, "out", "", "results directory (default bench/results, or bench/results/tmp with -short)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, logs, bodies)")
	flag.StringVar(&accessLogEnv, "access-log-env", "EDGEHOG_ACCESS_LOG=true,EDGEHOG_LOG_FORMAT=json",
		"comma-separated environment for the edgehog-log target")
	flag.StringVar(&edgehogEnv, "edgehog-env", "", "comma-separated extra environment for every edgehog target (experiments, e.g. GOGC=200)")
	flag.Float64Var(&o.quietPct, "quiet-pct", 15, "before each run, wait for the machine to be below this `percent` of one core busy")
	flag.DurationVar(&o.quietWait, "quiet-wait", 2*time.Minute, "longest wait for a quiet machine before each run (0: do not wait; default 0 with -short)")
	flag.Float64Var(&o.maxOther, "max-other", 25, "redo a run during which other processes used more than this `percent` of one core (0: never)")
	flag.IntVar(&o.retries, "retries", 3, "most redos of one run; the least disturbed attempt is kept")
	render := flag.String("render", "", "only re-render the Markdown report of a results `file.json` (to stdout and next to it)")
	flag.Parse()
	if *render != "" {
		if err := rerender(*render); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.short {
		if !set["duration"] {
			o.duration = 2 * time.Second
		}
		if !set["warmup"] {
			o.warmup = time.Second
		}
		if !set["reps"] {
			o.reps = 1
		}
		if !set["quiet-wait"] {
			o.quietWait = 0
		}
		if !set["max-other"] {
			o.maxOther = 0
		}
	}
	o.targets = expandTargets(splitList(targets))
	o.scenarios = splitList(scens)
	o.accessLogEnv = splitList(accessLogEnv)
	o.edgehogEnv = splitList(edgehogEnv)
	if o.upstreamCPUs == "" {
		o.upstreamCPUs = allCPUs()
	}
	for _, t := range o.targets {
		if !slices.Contains(allTargets, t) {
			fatalf("unknown target %q (have %s)", t, strings.Join(allTargets, ", "))
		}
	}
	if o.reps < 1 || o.connections < 1 || o.threads < 1 || o.duration < time.Second {
		fatalf("need -reps ≥ 1, -c ≥ 1, -t ≥ 1 and -duration ≥ 1s")
	}

	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\nbench: %v: stopping every child\n", s)
		cleanup()
		os.Exit(1)
	}()
	err := run(&o)
	cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var (
	tmpDir      string
	keepTmp     bool
	cleanupOnce sync.Once
)

func cleanup() {
	cleanupOnce.Do(func() {
		killAll(3 * time.Second)
		if tmpDir != "" {
			if keepTmp {
				fmt.Fprintln(os.Stderr, "bench: kept", tmpDir)
			} else {
				os.RemoveAll(tmpDir)
			}
		}
	})
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	cleanup()
	os.Exit(1)
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run(o *options) error {
	if err := checkTools(); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if onlineCPUs() < 2 {
		fmt.Fprintln(os.Stderr, "bench: warning: fewer than 2 CPUs; wrk and the proxy share one")
	}
	if o.out == "" {
		o.out = filepath.Join(root, "bench", "results")
		if o.short {
			o.out = filepath.Join(o.out, "tmp")
		}
	}
	if tmpDir, err = os.MkdirTemp("", "edgehog-bench-"); err != nil {
		return err
	}
	keepTmp = o.keep
	// nginx's workers run as nobody and must reach their temp directories.
	if err := os.Chmod(tmpDir, 0o755); err != nil {
		return err
	}
	if err := startWatchdog(tmpDir, o.keep); err != nil {
		return err
	}

	started := time.Now()
	mach := describeMachine(root)
	edgehogBin, fakehogdBin := o.edgehogBin, o.fakehogdBin
	if edgehogBin == "" {
		if edgehogBin, err = build(root, "./cmd/edgehog", filepath.Join(tmpDir, "edgehog")); err != nil {
			return err
		}
	}
	if fakehogdBin == "" {
		if fakehogdBin, err = build(root, "./internal/fakehog/fakehogd", filepath.Join(tmpDir, "fakehogd")); err != nil {
			return err
		}
	}

	scriptDir, err := writeScripts(tmpDir)
	if err != nil {
		return err
	}
	var scens []*scenario
	for _, s := range scenarios() {
		if len(o.scenarios) == 0 || slices.Contains(o.scenarios, s.Name) {
			scens = append(scens, s)
		}
	}
	if len(scens) == 0 {
		return errors.New("no scenario selected")
	}
	bodies := map[string]string{}
	for _, s := range scens {
		if s.Body == nil {
			continue
		}
		path := filepath.Join(tmpDir, s.Name+".body")
		if err := os.WriteFile(path, s.Body, 0o644); err != nil {
			return err
		}
		bodies[s.Name] = path
	}

	// Start everything once; idle targets cost nothing while another is measured.
	up, err := startFakehogd(o, fakehogdBin, tmpDir, "direct", nil)
	if err != nil {
		return err
	}
	// The second fakehogd, over TLS, only when a TLS target is selected.
	var upTLS *target
	var cert *benchCert
	if slices.ContainsFunc(o.targets, func(n string) bool { return slices.Contains(tlsTargets, n) }) {
		if cert, err = newBenchCert(tmpDir); err != nil {
			return err
		}
		if upTLS, err = startFakehogd(o, fakehogdBin, tmpDir, "direct-tls", cert); err != nil {
			return err
		}
	}
	var targets []*target
	for _, name := range o.targets {
		var t *target
		switch name {
		case "direct":
			t = up
		case "direct-tls":
			t = upTLS
		case "nginx-tls":
			t, err = startNginx(o, "nginx", tmpDir, upTLS, nginxVariant{name: name, primary: true, workers: 1, cpus: o.proxyCPUs})
		case "edgehog-tls-h2":
			t, err = startEdgehog(o, edgehogBin, tmpDir, upTLS, edgehogVariant{name: name, primary: true, gomaxprocs: 1, cpus: o.proxyCPUs, tls: cert, http2: true})
		case "edgehog-tls-h1":
			t, err = startEdgehog(o, edgehogBin, tmpDir, upTLS, edgehogVariant{name: name, primary: true, gomaxprocs: 1, cpus: o.proxyCPUs, tls: cert, http2: false})
		case "nginx":
			t, err = startNginx(o, "nginx", tmpDir, up, nginxVariant{name: name, primary: true, workers: 1, cpus: o.proxyCPUs})
		case "nginx-nobuf":
			t, err = startNginx(o, "nginx", tmpDir, up, nginxVariant{name: name, workers: 1, cpus: o.proxyCPUs, noRequestBuffering: true})
		case "nginx-w2":
			t, err = startNginx(o, "nginx", tmpDir, up, nginxVariant{name: name, workers: 2, cpus: allCPUs()})
		case "edgehog":
			t, err = startEdgehog(o, edgehogBin, tmpDir, up, edgehogVariant{name: name, primary: true, gomaxprocs: 1, cpus: o.proxyCPUs})
		case "edgehog-gohttp":
			t, err = startEdgehog(o, edgehogBin, tmpDir, up, edgehogVariant{name: name, gomaxprocs: 1, cpus: o.proxyCPUs, engine: "go"})
		case "edgehog-log":
			t, err = startEdgehog(o, edgehogBin, tmpDir, up, edgehogVariant{name: name, gomaxprocs: 1, cpus: o.proxyCPUs, accessLog: true})
		case "edgehog-gmp2":
			t, err = startEdgehog(o, edgehogBin, tmpDir, up, edgehogVariant{name: name, gomaxprocs: 2, cpus: allCPUs()})
		}
		if err != nil {
			return err
		}
		for _, u := range []string{t.API, t.Assets} {
			if err := loopbackOnly(u); err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
		}
		targets = append(targets, t)
	}
	for _, t := range targets {
		for _, s := range scens {
			if err := check(t, s); err != nil {
				return err
			}
		}
	}

	per := o.warmup + o.duration + 500*time.Millisecond
	total := time.Duration(o.reps*len(scens)*len(targets)) * per
	fmt.Fprintf(os.Stderr, "bench: %d rounds × %d scenarios × %d targets, about %v\n",
		o.reps, len(scens), len(targets), total.Round(time.Second))

	var runs []runRecord
	for rep := 1; rep <= o.reps; rep++ {
		for si, s := range scens {
			// Rotate the order so that no target always runs first or
			// right after the same neighbour.
			order := slices.Clone(targets)
			k := (rep - 1 + si) % len(order)
			order = append(order[k:], order[:k]...)
			for _, t := range order {
				var rec *runRecord
				for attempt := 0; ; attempt++ {
					r, err := measure(o, rep, s, t, scriptDir, bodies[s.Name])
					if err != nil {
						return err
					}
					r.Attempts = attempt + 1
					if rec == nil || r.OtherCPUPercent < rec.OtherCPUPercent {
						rec = r
					}
					if o.maxOther <= 0 || r.OtherCPUPercent <= o.maxOther || attempt >= o.retries {
						break
					}
					fmt.Fprintf(os.Stderr, "bench: %s → %s disturbed (other processes: %.0f%% of a core); again\n", s.Name, t.Name, r.OtherCPUPercent)
				}
				rec.Attempts = max(rec.Attempts, 1)
				runs = append(runs, *rec)
				warn := ""
				if rec.Errors > 0 {
					warn = fmt.Sprintf("  %d ERRORS", rec.Errors)
				}
				fmt.Fprintf(os.Stderr, "[%d/%d] %-13s %-13s %9s req/s  p50 %-9s p99 %-9s  %7s µs/req  %4.0f%% CPU  %s  other %.0f%%%s\n",
					rep, o.reps, s.Name, t.Name, fmtInt(rec.RPS), fmtLatency(rec.P50US), fmtLatency(rec.P99US),
					fmtUS(rec.ServerCPUPerReqUS), rec.ServerCPUPercent, fmtMB(rec.PeakRSSKB), rec.OtherCPUPercent, warn)
			}
		}
	}

	rep := &report{
		Started: started, Finished: time.Now(), Machine: mach, Runs: runs,
		Settings: map[string]any{
			"duration": o.duration.String(), "warmup": o.warmup.String(), "reps": o.reps,
			"connections": o.connections, "threads": o.threads, "timeout": o.timeout.String(),
			"wrk_cpus": o.wrkCPUs, "proxy_cpus": o.proxyCPUs, "upstream_cpus": o.upstreamCPUs,
			"short": o.short, "edgehog_env": o.edgehogEnv, "quiet_pct": o.quietPct, "quiet_wait": o.quietWait.String(),
			"max_other": o.maxOther, "retries": o.retries,
		},
		Summary: summarize(runs, scens, targets),
	}
	for _, t := range targets {
		rep.Targets = append(rep.Targets, targetInfo{Name: t.Name, Primary: t.Primary, Note: t.Note})
	}
	for _, s := range scens {
		rep.Scenarios = append(rep.Scenarios, scenarioInfo{Name: s.Name, Title: s.Title, Request: s.Method + " " + s.Path, BodyBytes: len(s.Body)})
	}
	md := rep.markdown()
	fmt.Print(md)
	return writeResults(o.out, rep, md)
}

// measure runs one warm-up and one measured wrk run of s against t.
func measure(o *options, rep int, s *scenario, t *target, scriptDir, body string) (*runRecord, error) {
	up := t.upstream
	w := wrkRun{
		cpus: o.wrkCPUs, threads: o.threads, connections: o.connections, timeout: o.timeout,
		script: filepath.Join(scriptDir, s.Script), body: body, scriptDir: scriptDir,
		url: t.base(s) + s.Path,
	}
	for _, svc := range []*service{up.svc, t.svc} {
		if err := svc.alive(); err != nil {
			return nil, err
		}
	}
	var quiet float64
	if o.quietWait > 0 {
		var err error
		if quiet, err = waitQuiet(o.quietPct, o.quietWait); err != nil {
			return nil, err
		}
	}
	if o.warmup >= time.Second {
		ww := w
		ww.duration = o.warmup
		if _, _, _, err := ww.run(); err != nil {
			return nil, fmt.Errorf("%s → %s warm-up: %w", s.Name, t.Name, err)
		}
	}
	time.Sleep(200 * time.Millisecond)

	pids := t.svc.pids()
	upPids := up.svc.pids()
	perRun := resetPeakRSS(pids)
	cpu0, err := cpuTicks(pids)
	if err != nil {
		return nil, fmt.Errorf("%s → %s: %w", s.Name, t.Name, errors.Join(err, t.svc.alive()))
	}
	upCPU0, err := cpuTicks(upPids)
	if err != nil {
		return nil, fmt.Errorf("%s → %s: %s: %w", s.Name, t.Name, up.Name, errors.Join(err, up.svc.alive()))
	}
	mach0, err := readCPUStat()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	w.duration = o.duration
	res, raw, wrkCPU, err := w.run()
	wall := time.Since(t0)
	if err != nil {
		return nil, fmt.Errorf("%s → %s: %w", s.Name, t.Name, err)
	}
	mach1, err := readCPUStat()
	if err != nil {
		return nil, err
	}
	cpu1, err := cpuTicks(pids)
	if err != nil {
		return nil, fmt.Errorf("%s → %s: %w", s.Name, t.Name, errors.Join(err, t.svc.alive()))
	}
	upCPU1, err := cpuTicks(upPids)
	if err != nil {
		return nil, fmt.Errorf("%s → %s: %s: %w", s.Name, t.Name, up.Name, errors.Join(err, up.svc.alive()))
	}
	rss, err := peakRSSKB(pids)
	if err != nil {
		return nil, err
	}

	rec := &runRecord{
		Rep: rep, Scenario: s.Name, Target: t.Name,
		Requests: res.Requests, Seconds: float64(res.DurationUS) / 1e6,
		P50US: res.LatencyUS.P50, P99US: res.LatencyUS.P99, Errors: res.errorCount(),
		WrkResult: res, WrkOutput: raw, PeakRSSKB: rss, PeakRSSPerRun: perRun,
	}
	rec.RPS = float64(res.Requests) / rec.Seconds
	rec.ServerCPUSeconds = float64(cpu1-cpu0) / clockTicks
	rec.WrkCPUSeconds = wrkCPU.Seconds()
	if t != up {
		rec.UpstreamCPUSeconds = float64(upCPU1-upCPU0) / clockTicks
	}
	if res.Requests > 0 {
		rec.ServerCPUPerReqUS = rec.ServerCPUSeconds * 1e6 / float64(res.Requests)
		rec.UpstreamCPUPerReq = rec.UpstreamCPUSeconds * 1e6 / float64(res.Requests)
	}
	rec.ServerCPUPercent = 100 * rec.ServerCPUSeconds / wall.Seconds()
	rec.WrkCPUPercent = 100 * rec.WrkCPUSeconds / wall.Seconds()
	rec.MachineBusyPercent = 100 * float64(mach1.busy-mach0.busy) / clockTicks / wall.Seconds()
	rec.StealPercent = 100 * float64(mach1.steal-mach0.steal) / clockTicks / wall.Seconds()
	known := rec.ServerCPUSeconds + rec.UpstreamCPUSeconds + rec.WrkCPUSeconds
	rec.OtherCPUPercent = rec.MachineBusyPercent - 100*known/wall.Seconds()
	rec.QuietBeforePercent = quiet
	return rec, nil
}

// check sends one request of s to t and verifies the answer, so that a
// misrouted or failing target cannot produce a fast, meaningless number.
// For targets in front of the TLS fakehogd it also verifies the protocol
// the upstream saw (HTTP/2 for edgehog-tls-h2, HTTP/1.1 otherwise).
func check(t *target, s *scenario) error {
	var body io.Reader
	if s.Body != nil {
		body = bytes.NewReader(s.Body)
	}
	req, err := http.NewRequest(s.Method, t.base(s)+s.Path, body)
	if err != nil {
		return err
	}
	if s.ContentType != "" {
		req.Header.Set("Content-Type", s.ContentType)
	}
	tr := &http.Transport{DisableCompression: true}
	if t.roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: t.roots}
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("check %s → %s: %w", s.Name, t.Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("check %s → %s: reading the response: %w", s.Name, t.Name, err)
	}
	if resp.StatusCode != http.StatusOK || len(b) < s.MinResponse || (s.Want != "" && !bytes.Contains(b, []byte(s.Want))) {
		if len(b) > 300 {
			b = b[:300]
		}
		return fmt.Errorf("check %s %s → %s: got %s with %d bytes, want 200 with ≥ %d bytes containing %q: %q",
			s.Method, s.Path, t.Name, resp.Status, len(b), s.MinResponse, s.Want, b)
	}
	if got := resp.Header.Get(fakehog.HeaderProto); got != t.wantProto {
		return fmt.Errorf("check %s %s → %s: upstream saw %s %q, want %q", s.Method, s.Path, t.Name, fakehog.HeaderProto, got, t.wantProto)
	}
	return nil
}

func checkTools() error {
	var missing []string
	for _, tool := range []string{"nginx", "wrk", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%s not found in PATH; install with:\n\n\tapt-get install -y nginx-light wrk util-linux\n\n(nginx is in /usr/sbin: add it to PATH if it is installed)",
		strings.Join(missing, ", "))
}

// repoRoot finds the edgehog module's directory from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module github.com/edgehog/edgehog\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the edgehog repository (no go.mod for github.com/edgehog/edgehog above the working directory)")
		}
		dir = parent
	}
}

func build(root, pkg, out string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building %s: %w (pass -edgehog and -fakehogd to use prebuilt binaries)", pkg, err)
	}
	fmt.Fprintf(os.Stderr, "bench: go build %s\n", pkg)
	cmd := exec.Command(goBin, "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s(pass -edgehog or -fakehogd to use a prebuilt binary)", pkg, err, b)
	}
	return out, nil
}

// writeResults writes <out>/<date>.md and <out>/<date>.json; a later run
// on the same day replaces them.
func writeResults(dir string, rep *report, md string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, rep.Started.UTC().Format("2006-01-02"))
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".md", []byte(md), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s.md and %s.json\n", base, base)
	return nil
}

// rerender rewrites the Markdown report of a results JSON file, after the
// report's format changed.
func rerender(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	md := rep.markdown()
	fmt.Print(md)
	return os.WriteFile(strings.TrimSuffix(path, ".json")+".md", []byte(md), 0o644)
}
