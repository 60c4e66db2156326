package route

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		path string
		kind Kind
		up   Upstream
	}{
		{"/e", KindCapture, UpstreamAPI},
		{"/i/v0/e", KindCapture, UpstreamAPI},
		{"/capture", KindCapture, UpstreamAPI},
		{"/track", KindCapture, UpstreamAPI},
		{"/engage", KindCapture, UpstreamAPI},
		{"/batch", KindBatch, UpstreamAPI},
		{"/s", KindReplay, UpstreamAPI},
		{"/i/v0/ai", KindAI, UpstreamAPI},
		{"/i/v0/ai/batch", KindAI, UpstreamAPI},
		{"/i/v0/ai/otel", KindAI, UpstreamAPI},
		{"/i/v1/analytics/events", KindCaptureV1, UpstreamAPI},
		{"/i/v1/logs", KindOTel, UpstreamAPI},
		{"/i/v1/metrics", KindOTel, UpstreamAPI},
		{"/i/v1/traces", KindOTel, UpstreamAPI},
		{"/flags", KindFlags, UpstreamAPI},
		{"/decide", KindFlags, UpstreamAPI},
		{"/flags/definitions", KindDefinitions, UpstreamAPI},
		{"/api/feature_flag/local_evaluation", KindDefinitions, UpstreamAPI},
		{"/report", KindAPI, UpstreamAPI},
	}
	for _, tt := range tests {
		for _, p := range []string{tt.path, tt.path + "/"} {
			t.Run(p, func(t *testing.T) {
				k, u := Classify(p)
				if k != tt.kind || u != tt.up {
					t.Errorf("Classify(%q) = %v, %v; want %v, %v", p, k, u, tt.kind, tt.up)
				}
			})
		}
	}
	prefixed := []struct {
		path string
		kind Kind
		up   Upstream
	}{
		{"/static/array.js", KindAssets, UpstreamAssets},
		{"/static/1.449.2/lazy-recorder.js", KindAssets, UpstreamAssets},
		{"/array/phc_abc/config.js", KindConfig, UpstreamAssets},
		{"/array/phc_abc/config", KindConfig, UpstreamAssets},
		{"/api/surveys/", KindAPI, UpstreamAPI},
		{"/api/conversations/v1/widget/message", KindAPI, UpstreamAPI},
		{"/site_app/1/phc_abc/hash/", KindAPI, UpstreamAPI},
		{"/i/v0/ai/something/else", KindAI, UpstreamAPI},
		{"/", KindOther, UpstreamAPI},
		{"/static", KindOther, UpstreamAPI},
		{"/ee", KindOther, UpstreamAPI},
		{"/e//", KindOther, UpstreamAPI},
		{"/admin/", KindOther, UpstreamAPI},
	}
	for _, tt := range prefixed {
		t.Run(tt.path, func(t *testing.T) {
			k, u := Classify(tt.path)
			if k != tt.kind || u != tt.up {
				t.Errorf("Classify(%q) = %v, %v; want %v, %v", tt.path, k, u, tt.kind, tt.up)
			}
		})
	}
}

func TestKindNames(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		name := k.String()
		if name == "" || name == "unknown" || seen[name] {
			t.Errorf("kind %d has name %q (empty, unknown or duplicate)", k, name)
		}
		seen[name] = true
		if got, ok := ParseKind(name); !ok || got != k {
			t.Errorf("ParseKind(%q) = %v, %v; want %v, true", name, got, ok, k)
		}
	}
}
