package main

import (
	"crypto/x509"
	_ "embed"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"
)

//go:embed nginx.conf.tmpl
var nginxConfTmpl string

// A target is one server wrk is pointed at: fakehogd itself ("direct") or a
// proxy in front of it.
type target struct {
	Name    string // direct, nginx, edgehog, …
	Primary bool   // one of the three compared targets; the rest are side figures
	Note    string // how it runs, for the report
	// API and Assets are the base URLs for the two kinds of scenarios; a
	// proxy serves both on one listener.
	API, Assets string
	// svc is the measured process (fakehogd for direct).
	svc *service
	// upstream is the fakehogd behind the target: the target itself for
	// direct and direct-tls.
	upstream *target
	// wantProto, if set, is the protocol the upstream must see the
	// target's requests arrive on (fakehog.HeaderProto in the answer);
	// the startup check verifies it.
	wantProto string
	// roots, if set, are the certificates a client of this target must
	// trust (direct-tls).
	roots *x509.CertPool
}

func (t *target) base(s *scenario) string {
	if s.Upstream == "assets" {
		return t.Assets
	}
	return t.API
}

// taskset wraps argv in taskset -c cpus, unless cpus is empty. taskset
// execs the program, so the child's PID is the program's.
func taskset(cpus string, argv ...string) *exec.Cmd {
	if cpus == "" {
		return exec.Command(argv[0], argv[1:]...)
	}
	return exec.Command("taskset", append([]string{"-c", cpus}, argv...)...)
}

// startFakehogd starts the fake PostHog in bench mode as target name and
// waits for its "api http://…" and "assets http://…" lines; with cert, it
// serves TLS with it ("https://…").
func startFakehogd(o *options, bin, dir, name string, cert *benchCert) (*target, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	api := "127.0.0.1:" + strconv.Itoa(ports[0])
	assets := "127.0.0.1:" + strconv.Itoa(ports[1])
	argv := []string{bin, "-api", api, "-assets", assets, "-bench", "-quiet"}
	scheme := "http://"
	if cert != nil {
		argv = append(argv, "-tls-cert", cert.certFile, "-tls-key", cert.keyFile)
		scheme = "https://"
	}
	cmd := taskset(o.upstreamCPUs, argv...)
	cmd.Env = os.Environ()
	svc, err := startService(name, cmd, filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	t := &target{Name: name, Primary: true, svc: svc}
	t.upstream = t
	deadline := time.Now().Add(15 * time.Second)
	for t.API == "" || t.Assets == "" {
		if err := svc.alive(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("fakehogd printed no \"api %s…\" and \"assets %s…\" lines in 15s%s", scheme, scheme, svc.tail())
		}
		time.Sleep(50 * time.Millisecond)
		b, _ := os.ReadFile(svc.log)
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) == 2 && strings.HasPrefix(f[1], scheme) {
				switch f[0] {
				case "api":
					t.API = f[1]
				case "assets":
					t.Assets = f[1]
				}
			}
		}
	}
	for _, u := range []string{t.API, t.Assets} {
		if err := svc.waitTCP(hostPort(u), 10*time.Second); err != nil {
			return nil, err
		}
	}
	t.Note = "fakehogd -bench, " + cpuNote(o.upstreamCPUs)
	if cert != nil {
		t.Note = "fakehogd -bench over TLS (" + cert.note + "), " + cpuNote(o.upstreamCPUs)
		t.roots = cert.roots
		// wrk and the startup check speak HTTP/1.1.
		t.wantProto = "HTTP/1.1"
	}
	return t, nil
}

// hostPort strips the scheme from a base URL.
func hostPort(u string) string {
	_, hp, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	return hp
}

// edgehogVariant is one way of running edgehog.
type edgehogVariant struct {
	name       string
	primary    bool
	gomaxprocs int
	cpus       string
	accessLog  bool
	// tls: the upstream is https; edgehog gets a YAML config with
	// upstream.ca_file and upstream.http2 (true: HTTP/2 through Go's
	// client; false: edgehog's own HTTP/1.1 client).
	tls   *benchCert
	http2 bool
	// engine is server.engine; empty keeps the default (edgehog's own).
	engine string
}

func startEdgehog(o *options, bin, dir string, up *target, v edgehogVariant) (*target, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(ports[0])
	args := []string{bin, "serve", "--listen", listen, "--api", up.API, "--assets", up.Assets}
	wantProto := ""
	if v.tls != nil {
		conf := filepath.Join(dir, v.name+".yaml")
		yaml := fmt.Sprintf("# %s, written by the edgehog benchmark harness\nupstream:\n  api: %s\n  assets: %s\n  ca_file: %s\n  http2: %t\n",
			v.name, strconv.Quote(up.API), strconv.Quote(up.Assets), strconv.Quote(v.tls.certFile), v.http2)
		if err := os.WriteFile(conf, []byte(yaml), 0o644); err != nil {
			return nil, err
		}
		args = []string{bin, "serve", "--config", conf, "--listen", listen}
		wantProto = "HTTP/1.1"
		if v.http2 {
			wantProto = "HTTP/2.0"
		}
	}
	cmd := taskset(v.cpus, args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(v.gomaxprocs))
	cmd.Env = append(cmd.Env, o.edgehogEnv...)
	if v.engine != "" {
		cmd.Env = append(cmd.Env, "EDGEHOG_SERVER_ENGINE="+v.engine)
	}
	logPath := filepath.Join(dir, v.name+".log")
	if v.accessLog {
		// One JSON line per request, written to /dev/null: the cost of
		// formatting and writing the line, without a disk in the way.
		cmd.Env = append(cmd.Env, o.accessLogEnv...)
		logPath = ""
	} else {
		cmd.Env = append(cmd.Env, "EDGEHOG_ACCESS_LOG=false")
	}
	svc, err := startService(v.name, cmd, logPath)
	if err != nil {
		return nil, err
	}
	if err := svc.waitTCP(listen, 15*time.Second); err != nil {
		return nil, err
	}
	note := fmt.Sprintf("GOMAXPROCS=%d, %s", v.gomaxprocs, cpuNote(v.cpus))
	for _, e := range o.edgehogEnv {
		note += ", " + e
	}
	if v.accessLog {
		note += ", JSON access log to /dev/null"
	} else {
		note += ", access log off"
	}
	if v.engine != "" {
		note += ", server.engine: " + v.engine
	}
	if v.tls != nil {
		note += fmt.Sprintf(", https upstream (upstream.http2: %t, ca_file: the generated certificate)", v.http2)
	}
	return &target{Name: v.name, Primary: v.primary, Note: note, API: "http://" + listen, Assets: "http://" + listen,
		svc: svc, upstream: up, wantProto: wantProto}, nil
}

// nginxVariant is one way of running nginx.
type nginxVariant struct {
	name    string
	primary bool
	workers int
	cpus    string
	// noRequestBuffering turns proxy_request_buffering off, a tuning
	// PostHog's recipes do not have.
	noRequestBuffering bool
}

func startNginx(o *options, bin, dir string, up *target, v nginxVariant) (*target, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(ports[0])
	ndir := filepath.Join(dir, v.name)
	// nginx started as root runs its workers as nobody, who must be able
	// to write request bodies to client_body_temp_path.
	if err := os.MkdirAll(ndir, 0o777); err != nil {
		return nil, err
	}
	if err := os.Chmod(ndir, 0o777); err != nil {
		return nil, err
	}
	conf := filepath.Join(ndir, "nginx.conf")
	text, err := nginxConfig(v, ndir, listen, up)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	// -e: log startup errors there too, before the config is read.
	cmd := taskset(v.cpus, bin, "-e", filepath.Join(ndir, "error.log"), "-p", ndir, "-c", conf, "-g", "daemon off;")
	svc, err := startService(v.name, cmd, filepath.Join(ndir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	if err := svc.waitTCP(listen, 15*time.Second); err != nil {
		b, _ := os.ReadFile(filepath.Join(ndir, "error.log"))
		return nil, fmt.Errorf("%w\n--- nginx error.log ---\n%s", err, b)
	}
	// Wait for the workers: the master accepts nothing itself, but its
	// listening socket exists before they fork.
	deadline := time.Now().Add(5 * time.Second)
	for len(svc.pids()) < 1+v.workers && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(svc.pids()) - 1; n < v.workers {
		return nil, fmt.Errorf("%s: %d of %d workers running%s", v.name, n, v.workers, svc.tail())
	}
	note := fmt.Sprintf("worker_processes %d, %s", v.workers, cpuNote(v.cpus))
	if v.noRequestBuffering {
		note += ", proxy_request_buffering off"
	}
	wantProto := ""
	if strings.HasPrefix(up.API, "https://") {
		note += ", https upstream (HTTP/1.1, proxy_ssl_server_name on, proxy_ssl_session_reuse on, certificate not verified)"
		wantProto = "HTTP/1.1"
	}
	return &target{Name: v.name, Primary: v.primary, Note: note, API: "http://" + listen, Assets: "http://" + listen,
		svc: svc, upstream: up, wantProto: wantProto}, nil
}

// nginxConfig renders bench/nginx.conf.tmpl for variant v listening on
// listen, with its files in ndir, proxying to up (http:// or https://).
func nginxConfig(v nginxVariant, ndir, listen string, up *target) (string, error) {
	scheme, _, _ := strings.Cut(up.API, "://")
	var b strings.Builder
	err := template.Must(template.New("nginx").Parse(nginxConfTmpl)).Execute(&b, map[string]any{
		"Workers":            v.workers,
		"NoRequestBuffering": v.noRequestBuffering,
		"Dir":                ndir,
		"Listen":             listen,
		"TLS":                scheme == "https",
		"Scheme":             scheme,
		"API":                hostPort(up.API),
		"Assets":             hostPort(up.Assets),
	})
	return b.String(), err
}

func cpuNote(cpus string) string {
	if cpus == "" {
		return "unpinned"
	}
	if strings.ContainsAny(cpus, ",-") {
		return "CPUs " + cpus
	}
	return "pinned to CPU " + cpus
}

// allCPUs returns "0-N" for the machine's CPUs (an explicit "unpinned").
func allCPUs() string {
	n := onlineCPUs()
	if n <= 1 {
		return "0"
	}
	return "0-" + strconv.Itoa(n-1)
}

// loopbackOnly rejects base URLs that are not on 127.0.0.1.
func loopbackOnly(u string) error {
	host, _, err := net.SplitHostPort(hostPort(u))
	if err != nil || host != "127.0.0.1" {
		return fmt.Errorf("%s is not a 127.0.0.1 address", u)
	}
	return nil
}
