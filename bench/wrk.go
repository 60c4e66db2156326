package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

//go:embed wrk/*.lua
var wrkScripts embed.FS

// writeScripts copies the wrk scripts into dir/wrk, so that the harness
// runs from any working directory.
func writeScripts(dir string) (string, error) {
	out := filepath.Join(dir, "wrk")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	ents, err := wrkScripts.ReadDir("wrk")
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		b, err := wrkScripts.ReadFile("wrk/" + e.Name())
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o644); err != nil {
			return "", err
		}
	}
	return out, nil
}

// wrkResult is what the scripts' done() prints after "BENCH_RESULT ".
type wrkResult struct {
	Requests   int64 `json:"requests"`
	DurationUS int64 `json:"duration_us"`
	Bytes      int64 `json:"bytes"`
	Errors     struct {
		Connect int64 `json:"connect"`
		Read    int64 `json:"read"`
		Write   int64 `json:"write"`
		Status  int64 `json:"status"` // responses other than 2xx/3xx
		Timeout int64 `json:"timeout"`
	} `json:"errors"`
	LatencyUS struct {
		Min   float64 `json:"min"`
		Mean  float64 `json:"mean"`
		Stdev float64 `json:"stdev"`
		Max   float64 `json:"max"`
		P50   float64 `json:"p50"`
		P75   float64 `json:"p75"`
		P90   float64 `json:"p90"`
		P99   float64 `json:"p99"`
		P999  float64 `json:"p999"`
	} `json:"latency_us"`
}

func (r *wrkResult) errorCount() int64 {
	e := r.Errors
	return e.Connect + e.Read + e.Write + e.Status + e.Timeout
}

// wrkRun is one wrk invocation.
type wrkRun struct {
	cpus        string
	threads     int
	connections int
	duration    time.Duration
	timeout     time.Duration
	script      string // path
	body        string // path, or ""
	scriptDir   string
	url         string
}

// run runs wrk to completion and returns its result, its raw output and
// its own CPU time.
func (w wrkRun) run() (*wrkResult, string, time.Duration, error) {
	secs := max(1, int(w.duration.Round(time.Second)/time.Second))
	tsecs := max(1, int(w.timeout.Round(time.Second)/time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+60*time.Second)
	defer cancel()
	argv := []string{"wrk", "-t", strconv.Itoa(w.threads), "-c", strconv.Itoa(w.connections),
		"-d", strconv.Itoa(secs) + "s", "--timeout", strconv.Itoa(tsecs) + "s", "--latency",
		"-s", w.script, w.url}
	cmd := taskset(w.cpus, argv...)
	cmd.Env = append(os.Environ(), "BENCH_WRK_DIR="+w.scriptDir, "BENCH_BODY="+w.body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := start(cmd); err != nil {
		return nil, "", 0, fmt.Errorf("starting wrk: %w", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-waited
		err = errors.New("wrk did not finish in time")
	}
	forget(cmd)
	raw := out.String()
	var cpu time.Duration
	if ps := cmd.ProcessState; ps != nil {
		cpu = ps.UserTime() + ps.SystemTime()
	}
	if err != nil {
		return nil, raw, cpu, fmt.Errorf("wrk: %v\n%s", err, raw)
	}
	for line := range strings.Lines(raw) {
		if js, ok := strings.CutPrefix(strings.TrimSpace(line), "BENCH_RESULT "); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				return nil, raw, cpu, fmt.Errorf("wrk result line: %v\n%s", err, raw)
			}
			return &r, raw, cpu, nil
		}
	}
	return nil, raw, cpu, fmt.Errorf("wrk printed no BENCH_RESULT line\n%s", raw)
}
