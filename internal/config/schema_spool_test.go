package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgehog/edgehog"
)

func TestParseSpool(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       edgehog.SpoolOptions
		err        string
	}{
		{"absent", "listen: :8080\n", edgehog.SpoolOptions{Mode: "off"}, ""},
		{"bare off", "spool:\n  mode: off\n", edgehog.SpoolOptions{Mode: "off"}, ""},
		{"embedded", "spool:\n  mode: always\n  dir: /var/lib/edgehog\n  max_bytes: 2GiB\n  max_age: 24h\n  concurrency: 1\n  max_backoff: 1m\n",
			edgehog.SpoolOptions{Mode: "always", Dir: "/var/lib/edgehog", MaxBytes: 2 << 30, MaxAge: 24 * time.Hour, Concurrency: 1, MaxBackoff: time.Minute}, ""},
		{"cluster", "spool:\n  mode: fallback\n  nats:\n    url: nats://a:4222,nats://b:4222\n    credentials: /c.creds\n    stream: S\n    replicas: 3\n",
			edgehog.SpoolOptions{Mode: "fallback", NATSURL: "nats://a:4222,nats://b:4222", NATSCredentials: "/c.creds", Stream: "S", Replicas: 3}, ""},
		{"bad mode", "spool:\n  mode: sometimes\n", edgehog.SpoolOptions{}, "spool.mode"},
		{"unknown key", "spool:\n  mode: always\n  fsync: true\n", edgehog.SpoolOptions{}, "spool.fsync"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(tt.yaml), "edgehog.yaml")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse error = %v, want one naming %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := f.Proxy.Spool; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Spool = %+v, want %+v", got, tt.want)
			}
		})
	}
}
