package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runRecord is one measured wrk run against one target.
type runRecord struct {
	Rep      int    `json:"rep"`
	Scenario string `json:"scenario"`
	Target   string `json:"target"`

	Requests  int64   `json:"requests"`
	Seconds   float64 `json:"seconds"`
	RPS       float64 `json:"rps"`
	P50US     float64 `json:"p50_us"`
	P99US     float64 `json:"p99_us"`
	Errors    int64   `json:"errors"`
	WrkResult any     `json:"wrk"`

	// Server is the measured process (the proxy, or fakehogd for direct);
	// Upstream is fakehogd behind a proxy. CPU is utime+stime over the run.
	ServerCPUSeconds   float64 `json:"server_cpu_s"`
	UpstreamCPUSeconds float64 `json:"upstream_cpu_s"`
	WrkCPUSeconds      float64 `json:"wrk_cpu_s"`
	ServerCPUPerReqUS  float64 `json:"server_cpu_us_per_req"`
	UpstreamCPUPerReq  float64 `json:"upstream_cpu_us_per_req"`
	ServerCPUPercent   float64 `json:"server_cpu_pct"` // of one core
	WrkCPUPercent      float64 `json:"wrk_cpu_pct"`
	PeakRSSKB          int64   `json:"server_peak_rss_kb"` // VmHWM during the run (summed over nginx's processes)
	// Machine-wide, in percent of one core: all busy time, the part of it
	// not spent by wrk, the target or fakehogd, and hypervisor steal.
	MachineBusyPercent float64 `json:"machine_busy_pct"`
	OtherCPUPercent    float64 `json:"other_cpu_pct"`
	StealPercent       float64 `json:"steal_pct"`
	QuietBeforePercent float64 `json:"busy_before_pct"`  // the last idle check's sample
	Attempts           int     `json:"attempts"`         // runs made; this one was the least disturbed
	PeakRSSPerRun      bool    `json:"peak_rss_per_run"` // false: VmHWM could not be reset, so it is the peak since start
	WrkOutput          string  `json:"wrk_output"`
}

// summary is the median of a scenario × target's runs.
type summary struct {
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	Primary  bool   `json:"primary"`
	Reps     int    `json:"reps"`

	RPS               float64 `json:"rps"`
	P50US             float64 `json:"p50_us"`
	P99US             float64 `json:"p99_us"`
	ServerCPUPerReqUS float64 `json:"server_cpu_us_per_req"`
	UpstreamCPUPerReq float64 `json:"upstream_cpu_us_per_req"`
	ServerCPUPercent  float64 `json:"server_cpu_pct"`
	WrkCPUPercent     float64 `json:"wrk_cpu_pct"`
	PeakRSSKB         int64   `json:"server_peak_rss_kb"` // the maximum, not the median
	Errors            int64   `json:"errors"`             // summed
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summarize takes each metric's median over the repetitions,
// independently, except peak RSS (maximum) and errors (sum).
func summarize(runs []runRecord, scens []*scenario, targets []*target) []summary {
	var out []summary
	for _, s := range scens {
		for _, t := range targets {
			var rs []runRecord
			for _, r := range runs {
				if r.Scenario == s.Name && r.Target == t.Name {
					rs = append(rs, r)
				}
			}
			if len(rs) == 0 {
				continue
			}
			col := func(f func(runRecord) float64) float64 {
				xs := make([]float64, len(rs))
				for i, r := range rs {
					xs[i] = f(r)
				}
				return median(xs)
			}
			sm := summary{Scenario: s.Name, Target: t.Name, Primary: t.Primary, Reps: len(rs)}
			sm.RPS = col(func(r runRecord) float64 { return r.RPS })
			sm.P50US = col(func(r runRecord) float64 { return r.P50US })
			sm.P99US = col(func(r runRecord) float64 { return r.P99US })
			sm.ServerCPUPerReqUS = col(func(r runRecord) float64 { return r.ServerCPUPerReqUS })
			sm.UpstreamCPUPerReq = col(func(r runRecord) float64 { return r.UpstreamCPUPerReq })
			sm.ServerCPUPercent = col(func(r runRecord) float64 { return r.ServerCPUPercent })
			sm.WrkCPUPercent = col(func(r runRecord) float64 { return r.WrkCPUPercent })
			for _, r := range rs {
				sm.PeakRSSKB = max(sm.PeakRSSKB, r.PeakRSSKB)
				sm.Errors += r.Errors
			}
			out = append(out, sm)
		}
	}
	return out
}

func find(sums []summary, scen, tgt string) (summary, bool) {
	for _, s := range sums {
		if s.Scenario == scen && s.Target == tgt {
			return s, true
		}
	}
	return summary{}, false
}

// report is everything a run writes: the Markdown is rendered from it and
// it is also saved as JSON.
type report struct {
	Started   time.Time      `json:"started"`
	Finished  time.Time      `json:"finished"`
	Machine   machine        `json:"machine"`
	Settings  map[string]any `json:"settings"`
	Targets   []targetInfo   `json:"targets"`
	Scenarios []scenarioInfo `json:"scenarios"`
	Summary   []summary      `json:"summary"`
	Runs      []runRecord    `json:"runs"`
}

type targetInfo struct {
	Name    string `json:"name"`
	Primary bool   `json:"primary"`
	Note    string `json:"note"`
}

type scenarioInfo struct {
	Name      string `json:"name"`
	Title     string `json:"title"`
	Request   string `json:"request"`
	BodyBytes int    `json:"body_bytes"`
}

func fmtInt(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func fmtLatency(us float64) string {
	switch {
	case math.IsNaN(us):
		return "—"
	case us < 1000:
		return fmt.Sprintf("%.0f µs", us)
	case us < 10000:
		return fmt.Sprintf("%.2f ms", us/1000)
	default:
		return fmt.Sprintf("%.1f ms", us/1000)
	}
}

func fmtMB(kb int64) string {
	if kb <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f MB", float64(kb)*1024/1e6)
}

func fmtRatio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func fmtUS(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// markdown renders the report; the tables are what docs/performance.md copies.
func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := r.Machine
	p("# edgehog benchmark, %s\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"))
	p("Machine: %d × %s, %d MB RAM, %s, Linux %s; %s; %s; %s; edgehog %s.\n\n",
		m.CPUs, m.Model, m.MemoryMB, m.OS, m.Kernel, m.Go, m.Nginx, m.Wrk, m.Commit)
	st := r.Settings
	p("Settings: %v per run after a %v warm-up, median of %v rounds, %v connections, wrk (%v thread) on CPU %v, proxies on CPU %v, fakehogd on CPUs %v; runs interleaved (every scenario × target once per round). Took %s.\n\n",
		st["duration"], st["warmup"], st["reps"], st["connections"], st["threads"], st["wrk_cpus"], st["proxy_cpus"], st["upstream_cpus"],
		r.Finished.Sub(r.Started).Round(time.Second))
	if mo, _ := st["max_other"].(float64); mo > 0 {
		p("Before each run the harness waits (up to %v) for the machine to be below %v%% of a core busy, and redoes a run (up to %v times, keeping the least disturbed) when other processes used more than %v%% of a core during it.\n\n",
			st["quiet_wait"], st["quiet_pct"], st["retries"], mo)
	}

	p("Targets:\n\n")
	for _, t := range r.Targets {
		mark := ""
		if !t.Primary {
			mark = " (side figure)"
		}
		p("- **%s**%s: %s\n", t.Name, mark, t.Note)
	}
	p("\n")

	p("| Scenario | Target | req/s | p50 | p99 | CPU µs/req | CPU %% | fakehogd µs/req | wrk CPU %% | peak RSS | errors |\n")
	p("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, sc := range r.Scenarios {
		for _, t := range r.Targets {
			s, ok := find(r.Summary, sc.Name, t.Name)
			if !ok {
				continue
			}
			up := fmtUS(s.UpstreamCPUPerReq)
			if t.Name == "direct" || t.Name == "direct-tls" {
				up = "(same)"
			}
			name := t.Name
			if !t.Primary {
				name = "*" + name + "*"
			}
			p("| %s | %s | %s | %s | %s | %s | %.0f%% | %s | %.0f%% | %s | %d |\n",
				sc.Title, name, fmtInt(s.RPS), fmtLatency(s.P50US), fmtLatency(s.P99US),
				fmtUS(s.ServerCPUPerReqUS), s.ServerCPUPercent, up, s.WrkCPUPercent, fmtMB(s.PeakRSSKB), s.Errors)
		}
	}
	p("\nCPU µs/req and CPU %% are the target's own process (nginx: master + workers; direct: fakehogd); " +
		"CPU %% is of one core over the run. peak RSS is VmHWM during the run (nginx: summed over its processes).\n\n")
	if r.hasTarget("direct-tls") || r.hasTarget("nginx-tls") || r.hasTarget("edgehog-tls-h2") || r.hasTarget("edgehog-tls-h1") {
		p("The *-tls targets reach a second fakehogd, the same program serving TLS (a self-signed certificate for 127.0.0.1; " +
			"HTTP/2 and HTTP/1.1 offered by ALPN): only the proxy → upstream hop is TLS, wrk still speaks plain HTTP/1.1 to the proxies, " +
			"and direct-tls is wrk speaking HTTPS to that fakehogd. nginx-tls speaks HTTP/1.1 to it, edgehog-tls-h2 HTTP/2 through Go's client, " +
			"edgehog-tls-h1 HTTP/1.1 through edgehog's own client; the startup check verified each protocol. " +
			"Their fakehogd µs/req is that of the TLS fakehogd.\n\n")
	}

	limit, _ := r.Settings["max_other"].(float64)
	if limit <= 0 {
		limit = 25
	}
	var other, steal []float64
	redone, disturbed := 0, 0
	for _, run := range r.Runs {
		// Tick rounding makes an idle machine read a few percent either side of 0.
		other = append(other, max(0, run.OtherCPUPercent))
		steal = append(steal, run.StealPercent)
		if run.Attempts > 1 {
			redone++
		}
		if run.OtherCPUPercent > limit {
			disturbed++
		}
	}
	if len(other) > 0 {
		p("Background CPU during the runs (machine busy time not spent by wrk, fakehogd or the target): median %.0f%%, max %.0f%% of one core; hypervisor steal median %.0f%%, max %.0f%%.",
			median(other), slices.Max(other), median(steal), slices.Max(steal))
		if redone > 0 {
			p(" %d of %d runs were redone because of other load.", redone, len(r.Runs))
		}
		if disturbed > 0 {
			p(" **%d runs kept more than %.0f%% of a core of other load; their req/s and latencies are less reliable than their CPU µs/req.**", disturbed, limit)
		}
		p("\n\n")
	}

	if r.hasTarget("edgehog") {
		p("## edgehog ÷ nginx and ÷ direct\n\n")
		p("| Scenario | req/s ÷ nginx | req/s ÷ direct | CPU/req ÷ nginx | CPU/req ÷ direct | p99 ÷ nginx |\n")
		p("|---|--:|--:|--:|--:|--:|\n")
		for _, sc := range r.Scenarios {
			e, ok1 := find(r.Summary, sc.Name, "edgehog")
			n, ok2 := find(r.Summary, sc.Name, "nginx")
			d, ok3 := find(r.Summary, sc.Name, "direct")
			if !ok1 {
				continue
			}
			cell := func(ok bool, a, b float64) string {
				if !ok {
					return "—"
				}
				return fmtRatio(a, b)
			}
			p("| %s | %s | %s | %s | %s | %s |\n", sc.Title,
				cell(ok2, e.RPS, n.RPS), cell(ok3, e.RPS, d.RPS),
				cell(ok2, e.ServerCPUPerReqUS, n.ServerCPUPerReqUS), cell(ok3, e.ServerCPUPerReqUS, d.ServerCPUPerReqUS),
				cell(ok2, e.P99US, n.P99US))
		}
		p("\n")
	}

	r.tlsRatios(p)

	r.costOf(p, "edgehog-log", "Access log cost (edgehog-log − edgehog, CPU µs/req): ")
	r.costOf(p, "edgehog-gohttp", "net/http's HTTP/1.x server instead of edgehog's (edgehog-gohttp − edgehog, CPU µs/req): ")

	// The targets are stated for edgehog against nginx, over plain HTTP.
	if v := r.verdicts(); len(v) > 0 {
		p("## Against the targets\n\n")
		for _, line := range v {
			p("- %s\n", line)
		}
	}
	return b.String()
}

// costOf renders one line: the CPU per request of variant minus edgehog's,
// per scenario. Nothing without variant.
func (r *report) costOf(p func(string, ...any), variant, title string) {
	if !r.hasTarget(variant) {
		return
	}
	var parts []string
	for _, sc := range r.Scenarios {
		e, ok1 := find(r.Summary, sc.Name, "edgehog")
		l, ok2 := find(r.Summary, sc.Name, variant)
		if ok1 && ok2 {
			parts = append(parts, fmt.Sprintf("%s %+.1f (%s)", sc.Name, l.ServerCPUPerReqUS-e.ServerCPUPerReqUS, fmtRatio(l.ServerCPUPerReqUS, e.ServerCPUPerReqUS)))
		}
	}
	p("%s%s.\n\n", title, strings.Join(parts, "; "))
}

// tlsRatios renders the comparison over TLS: each edgehog TLS target ÷
// nginx-tls and ÷ direct-tls. Nothing without an edgehog TLS target.
func (r *report) tlsRatios(p func(string, ...any)) {
	var eds []string
	for _, name := range []string{"edgehog-tls-h1", "edgehog-tls-h2"} {
		if r.hasTarget(name) {
			eds = append(eds, name)
		}
	}
	if len(eds) == 0 {
		return
	}
	p("## Over TLS: %s ÷ nginx-tls and ÷ direct-tls\n\n", strings.Join(eds, " and "))
	p("| Scenario | Target | req/s ÷ nginx-tls | req/s ÷ direct-tls | CPU/req ÷ nginx-tls | CPU/req ÷ direct-tls | p99 ÷ nginx-tls |\n")
	p("|---|---|--:|--:|--:|--:|--:|\n")
	for _, sc := range r.Scenarios {
		n, okN := find(r.Summary, sc.Name, "nginx-tls")
		d, okD := find(r.Summary, sc.Name, "direct-tls")
		cell := func(ok bool, a, b float64) string {
			if !ok {
				return "—"
			}
			return fmtRatio(a, b)
		}
		for _, name := range eds {
			e, ok := find(r.Summary, sc.Name, name)
			if !ok {
				continue
			}
			p("| %s | %s | %s | %s | %s | %s | %s |\n", sc.Title, name,
				cell(okN, e.RPS, n.RPS), cell(okD, e.RPS, d.RPS),
				cell(okN, e.ServerCPUPerReqUS, n.ServerCPUPerReqUS), cell(okD, e.ServerCPUPerReqUS, d.ServerCPUPerReqUS),
				cell(okN, e.P99US, n.P99US))
		}
	}
	p("\n")
}

func (r *report) hasTarget(name string) bool {
	for _, t := range r.Targets {
		if t.Name == name {
			return true
		}
	}
	return false
}

// verdicts checks the targets: CPU per small event request at most
// 2× nginx's; 1 MiB uploads at least nginx's rate; peak RSS under 40 MB at
// 64 concurrent connections.
func (r *report) verdicts() []string {
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	var out []string
	for _, name := range []string{"capture-json", "capture-gzip"} {
		e, ok1 := find(r.Summary, name, "edgehog")
		n, ok2 := find(r.Summary, name, "nginx")
		if !ok1 || !ok2 {
			continue
		}
		ratio := e.ServerCPUPerReqUS / n.ServerCPUPerReqUS
		out = append(out, fmt.Sprintf("CPU per small event request ≤ 2× nginx (%s): %s µs vs %s µs = %.2f× — %s.",
			name, fmtUS(e.ServerCPUPerReqUS), fmtUS(n.ServerCPUPerReqUS), ratio, mark(ratio <= 2)))
	}
	if e, ok := find(r.Summary, "replay-1mib", "edgehog"); ok {
		if n, ok := find(r.Summary, "replay-1mib", "nginx"); ok {
			ratio := e.RPS / n.RPS
			out = append(out, fmt.Sprintf("1 MiB uploads ≥ nginx's rate: %s vs %s req/s = %.2f× — %s.",
				fmtInt(e.RPS), fmtInt(n.RPS), ratio, mark(ratio >= 1)))
		}
	}
	var peak int64
	var at string
	for _, s := range r.Summary {
		if s.Target == "edgehog" && s.PeakRSSKB > peak {
			peak, at = s.PeakRSSKB, s.Scenario
		}
	}
	if peak > 0 {
		conns := r.Settings["connections"]
		out = append(out, fmt.Sprintf("Peak RSS < 40 MB at %v connections: %s (during %s) — %s.",
			conns, fmtMB(peak), at, mark(float64(peak)*1024 < 40e6)))
	}
	return out
}
