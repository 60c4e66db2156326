package main

import (
	"strings"
	"testing"
	"time"
)

// tlsReport is a report of the four TLS targets on one scenario, with
// round figures so that the ratios are exact.
func tlsReport() *report {
	sum := func(tgt string, rps, cpu, p99 float64) summary {
		return summary{Scenario: "capture-json", Target: tgt, Primary: true, Reps: 1, RPS: rps, ServerCPUPerReqUS: cpu, P99US: p99, UpstreamCPUPerReq: 7}
	}
	return &report{
		Started: time.Unix(0, 0), Finished: time.Unix(60, 0),
		Settings: map[string]any{"connections": 64},
		Targets: []targetInfo{
			{Name: "direct-tls", Primary: true}, {Name: "nginx-tls", Primary: true},
			{Name: "edgehog-tls-h2", Primary: true}, {Name: "edgehog-tls-h1", Primary: true},
		},
		Scenarios: []scenarioInfo{{Name: "capture-json", Title: "capture-json"}},
		Summary: []summary{
			sum("direct-tls", 40000, 10, 1000),
			sum("nginx-tls", 20000, 20, 2000),
			sum("edgehog-tls-h2", 10000, 60, 4000),
			sum("edgehog-tls-h1", 16000, 30, 3000),
		},
	}
}

func TestMarkdownTLS(t *testing.T) {
	md := tlsReport().markdown()
	for _, want := range []string{
		"## Over TLS: edgehog-tls-h1 and edgehog-tls-h2 ÷ nginx-tls and ÷ direct-tls",
		// req/s ÷ nginx-tls, ÷ direct-tls, CPU/req ÷ nginx-tls, ÷ direct-tls, p99 ÷ nginx-tls
		"| capture-json | edgehog-tls-h1 | 0.80× | 0.40× | 1.50× | 3.00× | 1.50× |",
		"| capture-json | edgehog-tls-h2 | 0.50× | 0.25× | 3.00× | 6.00× | 2.00× |",
		"only the proxy → upstream hop is TLS",
		"| capture-json | direct-tls | 40,000 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// direct-tls is its own upstream.
	for line := range strings.Lines(md) {
		if strings.HasPrefix(line, "| capture-json | direct-tls |") && !strings.Contains(line, "(same)") {
			t.Errorf("direct-tls row %q, want fakehogd µs/req \"(same)\"", line)
		}
	}
	// No plain edgehog target: no plain comparison block, no verdicts.
	for _, heading := range []string{"## edgehog ÷ nginx and ÷ direct", "## Against the targets"} {
		if strings.Contains(md, heading) {
			t.Errorf("report has %q without an edgehog target:\n%s", heading, md)
		}
	}
}

func TestMarkdownTLSPartial(t *testing.T) {
	r := tlsReport()
	r.Targets = r.Targets[2:3] // edgehog-tls-h2 alone
	md := r.markdown()
	if !strings.Contains(md, "## Over TLS: edgehog-tls-h2 ÷ nginx-tls and ÷ direct-tls") {
		t.Errorf("report lacks the TLS block for edgehog-tls-h2 alone:\n%s", md)
	}
	if strings.Contains(md, "| edgehog-tls-h1 |") {
		t.Errorf("report has an edgehog-tls-h1 row without that target:\n%s", md)
	}
}

func TestMarkdownPlainHasNoTLSBlock(t *testing.T) {
	r := tlsReport()
	r.Targets = []targetInfo{{Name: "direct", Primary: true}, {Name: "nginx", Primary: true}, {Name: "edgehog", Primary: true}}
	for i, tgt := range []string{"direct", "nginx", "edgehog"} {
		r.Summary[i].Target = tgt
	}
	r.Summary = r.Summary[:3]
	md := r.markdown()
	if strings.Contains(md, "Over TLS") || strings.Contains(md, "hop is TLS") {
		t.Errorf("plain report mentions TLS:\n%s", md)
	}
	if !strings.Contains(md, "## edgehog ÷ nginx and ÷ direct") {
		t.Errorf("plain report lacks the edgehog ÷ nginx block:\n%s", md)
	}
}
