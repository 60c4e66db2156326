package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// children is every process the harness started and has not yet reaped.
// Each child leads its own process group, so killing -pgid also takes its
// descendants (nginx's workers).
var children struct {
	mu    sync.Mutex
	procs map[int]*exec.Cmd
	done  bool     // cleanup ran; start nothing more
	pgids *os.File // every group started, for the watchdog; nil before it runs
}

// start starts cmd in a new process group and registers it for cleanup.
// Pdeathsig kills the child if the harness dies without cleaning up; it is
// tied to the starting thread, which is why main locks its goroutine to the
// main OS thread and starts every process from it.
func start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	children.mu.Lock()
	defer children.mu.Unlock()
	if children.done {
		return errors.New("shutting down")
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	if children.procs == nil {
		children.procs = map[int]*exec.Cmd{}
	}
	children.procs[cmd.Process.Pid] = cmd
	if children.pgids != nil {
		fmt.Fprintln(children.pgids, cmd.Process.Pid)
	}
	return nil
}

// watchdog is a shell that outlives the harness if it is killed with
// SIGKILL (no cleanup runs then, and Pdeathsig reaches only direct
// children: nginx's workers would stay). It kills every process group
// listed in dir/pgids and removes dir, unless keep.
var watchdog *exec.Cmd

func startWatchdog(dir string, keep bool) error {
	path := filepath.Join(dir, "pgids")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rm := `rm -rf "$2"`
	if keep {
		rm = ":"
	}
	script := `while kill -0 "$1" 2>/dev/null; do sleep 1; done
if [ -f "$2/pgids" ]; then for g in $(cat "$2/pgids"); do kill -9 "-$g" 2>/dev/null; done; fi
` + rm
	cmd := exec.Command("sh", "-c", script, "edgehog-bench-watchdog", strconv.Itoa(os.Getpid()), dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting the watchdog: %w", err)
	}
	go cmd.Wait()
	children.mu.Lock()
	children.pgids = f
	watchdog = cmd
	children.mu.Unlock()
	return nil
}

// forget drops a reaped child from the cleanup set.
func forget(cmd *exec.Cmd) {
	children.mu.Lock()
	delete(children.procs, cmd.Process.Pid)
	children.mu.Unlock()
}

// killAll terminates every child's process group: SIGTERM, then SIGKILL
// for groups still alive after grace.
func killAll(grace time.Duration) {
	children.mu.Lock()
	children.done = true
	if watchdog != nil {
		// The harness cleans up itself; the watchdog is for when it cannot.
		_ = watchdog.Process.Kill()
	}
	pids := make([]int, 0, len(children.procs))
	for pid := range children.procs {
		pids = append(pids, pid)
	}
	children.mu.Unlock()
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, pid := range pids {
		for time.Now().Before(deadline) && syscall.Kill(-pid, 0) == nil {
			time.Sleep(20 * time.Millisecond)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// service is a long-running child: an upstream or a proxy under test.
type service struct {
	name string
	cmd  *exec.Cmd
	log  string // combined stdout+stderr, or "" when discarded
	// exited is closed when the process exits; err then holds Wait's error.
	exited chan struct{}
	err    error
}

// startService starts a long-running child with its output in logPath
// ("" discards it).
func startService(name string, cmd *exec.Cmd, logPath string) (*service, error) {
	s := &service{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	if logPath != "" {
		f, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		defer f.Close() // the child holds its own descriptor
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := start(cmd); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		s.err = cmd.Wait()
		forget(cmd)
		close(s.exited)
	}()
	return s, nil
}

func (s *service) pid() int { return s.cmd.Process.Pid }

// alive reports an error if the service has exited.
func (s *service) alive() error {
	select {
	case <-s.exited:
		return fmt.Errorf("%s exited (%v)%s", s.name, s.err, s.tail())
	default:
		return nil
	}
}

// tail returns the end of the service's log for error messages.
func (s *service) tail() string {
	if s.log == "" {
		return ""
	}
	b, _ := os.ReadFile(s.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	return "\n--- " + s.log + " ---\n" + string(b)
}

// waitTCP waits until addr accepts connections.
func (s *service) waitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := s.alive(); err != nil {
			return err
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not accepting connections after %v: %v%s", s.name, addr, timeout, err, s.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pids returns the service's process and its direct children (nginx's
// workers), whose CPU and memory are all counted as the service's.
func (s *service) pids() []int {
	root := s.pid()
	out := []int{root}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if ppid, ok := procPPid(pid); ok && ppid == root {
			out = append(out, pid)
		}
	}
	return out
}

// freePorts reserves n distinct loopback ports by listening on :0, then
// releases them all for the children to bind.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat;
// it is 100 on every Linux architecture the harness runs on.
const clockTicks = 100

// procStatFields returns the fields of /proc/PID/stat after the command
// name, so that fields[0] is field 3 (state) of proc(5).
func procStatFields(pid int) ([]string, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	return strings.Fields(string(b[i+1:])), nil
}

func procPPid(pid int) (int, bool) {
	f, err := procStatFields(pid)
	if err != nil || len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// cpuTicks returns utime+stime of the processes, in clock ticks. It covers
// every thread, including threads that have exited.
func cpuTicks(pids []int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		f, err := procStatFields(pid)
		if err != nil {
			return 0, err
		}
		if len(f) < 13 {
			return 0, fmt.Errorf("/proc/%d/stat: short", pid)
		}
		ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14, utime
		st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15, stime
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
		}
		sum += ut + st
	}
	return sum, nil
}

// resetPeakRSS resets VmHWM to the current RSS (clear_refs "5", Linux 4.0+),
// so that each run reports its own peak. It reports whether that worked.
func resetPeakRSS(pids []int) bool {
	ok := true
	for _, pid := range pids {
		if err := os.WriteFile(filepath.Join("/proc", strconv.Itoa(pid), "clear_refs"), []byte("5"), 0); err != nil {
			ok = false
		}
	}
	return ok
}

// peakRSSKB returns the sum of VmHWM over the processes, in KiB.
func peakRSSKB(pids []int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		v, err := procStatus(pid, "VmHWM")
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// procStatus returns a "kB" field of /proc/PID/status.
func procStatus(pid int, key string) (int64, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, key)
}

// cpuStat is the machine-wide CPU time from the first line of /proc/stat,
// in clock ticks.
type cpuStat struct {
	busy  int64 // user, nice, system, irq, softirq
	steal int64 // taken by the hypervisor
}

func readCPUStat() (cpuStat, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuStat{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuStat{}, errors.New("/proc/stat: no cpu line")
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return cpuStat{}, fmt.Errorf("/proc/stat: %w", err)
		}
	}
	// user nice system idle iowait irq softirq steal
	return cpuStat{busy: v[0] + v[1] + v[2] + v[5] + v[6], steal: v[7]}, nil
}

// waitQuiet waits until the machine has been nearly idle (below maxPct of
// one core busy) for a one-second sample, or until timeout. It returns the
// last sample's busy percentage.
func waitQuiet(maxPct float64, timeout time.Duration) (float64, error) {
	deadline := time.Now().Add(timeout)
	warned := false
	for {
		a, err := readCPUStat()
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		time.Sleep(time.Second)
		b, err := readCPUStat()
		if err != nil {
			return 0, err
		}
		pct := 100 * float64(b.busy-a.busy) / clockTicks / time.Since(t0).Seconds()
		if pct <= maxPct || time.Now().After(deadline) {
			return pct, nil
		}
		if !warned {
			fmt.Fprintf(os.Stderr, "bench: machine busy (%.0f%% of a core outside this run); waiting up to %v for it to settle\n", pct, time.Until(deadline).Round(time.Second))
			warned = true
		}
	}
}
