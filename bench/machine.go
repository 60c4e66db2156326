package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// machine describes where the numbers were taken.
type machine struct {
	CPUs     int    `json:"cpus"`
	Model    string `json:"cpu_model"`
	Kernel   string `json:"kernel"`
	OS       string `json:"os"`
	MemoryMB int64  `json:"memory_mb"`
	Go       string `json:"go"`
	Nginx    string `json:"nginx"`
	Wrk      string `json:"wrk"`
	Commit   string `json:"edgehog_commit"`
}

func describeMachine(root string) machine {
	m := machine{CPUs: onlineCPUs(), Go: runtime.Version()}
	m.Model = cpuinfo("model name")
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.OS = osRelease()
	if kb, err := meminfo("MemTotal"); err == nil {
		m.MemoryMB = kb / 1024
	}
	if out, err := exec.Command("nginx", "-v").CombinedOutput(); err == nil {
		m.Nginx = strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: ")
	}
	if out, _ := exec.Command("wrk", "-v").CombinedOutput(); len(out) > 0 {
		line, _, _ := strings.Cut(string(out), "\n")
		line, _, _ = strings.Cut(line, " Copyright")
		m.Wrk = strings.TrimSpace(line)
	}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
			m.Commit += "+dirty"
		}
	}
	return m
}

// onlineCPUs counts the machine's processors (runtime.NumCPU counts only
// those in the harness's own affinity mask).
func onlineCPUs() int {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.NumCPU()
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, _, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "processor" {
			n++
		}
	}
	if n == 0 {
		return runtime.NumCPU()
	}
	return n
}

func cpuinfo(key string) string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func meminfo(key string) (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, os.ErrNotExist
}

func osRelease() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}
