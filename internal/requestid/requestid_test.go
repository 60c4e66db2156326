package requestid

import (
	"strings"
	"testing"
)

func TestNext(t *testing.T) {
	g := NewGenerator()
	seen := map[string]bool{}
	var prefix string
	for i := range 1000 {
		id := g.Next()
		if len(id) != 32 || !Valid(id) {
			t.Fatalf("Next() = %q, want 32 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("Next() = %q twice, after %d IDs", id, i)
		}
		seen[id] = true
		if i == 0 {
			prefix = id[:16]
		} else if id[:16] != prefix {
			t.Fatalf("Next() = %q, want the prefix %q of the first ID", id, prefix)
		}
	}
	if other := NewGenerator().Next(); other[:16] == prefix {
		t.Errorf("two generators share the prefix %q", prefix)
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"", false},
		{"0123456789abcdef0123456789abcdef", true},
		{"3f2c7c8e-7a0b-4bd4-9d34-6b4f2a1f1e2d", true},
		{"Root=1-5759e988-bd862e3fe1be46a994272793", true},
		{"abc+/=", true},
		{"a b", false},
		{"a\nb", false},
		{"a\"b", false},
		{"<script>", false},
		{"é", false},
		{strings.Repeat("a", MaxLen), true},
		{strings.Repeat("a", MaxLen+1), false},
	}
	for _, tt := range tests {
		if got := Valid(tt.id); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestPick(t *testing.T) {
	g := NewGenerator()
	tests := []struct {
		name    string
		value   string
		trusted bool
		keep    bool
	}{
		{"trusted peer, valid id", "lb-1234", true, true},
		{"untrusted peer", "lb-1234", false, false},
		{"trusted peer, invalid id", "bad id", true, false},
		{"trusted peer, no id", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := false
			got := g.Pick(tt.value, func() bool { asked = true; return tt.trusted })
			if (got == tt.value) != tt.keep {
				t.Errorf("Pick(%q, trusted=%v) = %q, want kept=%v", tt.value, tt.trusted, got, tt.keep)
			}
			if !tt.keep && (len(got) != 32 || !Valid(got)) {
				t.Errorf("Pick(%q) = %q, want a generated ID", tt.value, got)
			}
			if tt.value == "" && asked {
				t.Errorf("Pick(%q) asked whether the peer is trusted, want no question without a value", tt.value)
			}
		})
	}
}

// FuzzValid checks that whatever Valid accepts is safe in a header and a
// log line: bounded, printable ASCII without spaces or quotes.
func FuzzValid(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef")         // a generated ID
	f.Add("Root=1-5759e988-bd862e3fe1be46a994272793") // an AWS trace ID
	f.Add("a\r\nX-Evil: 1")                           // header injection
	f.Add("")                                         // empty
	f.Fuzz(func(t *testing.T, id string) {
		if !Valid(id) {
			return
		}
		if len(id) > MaxLen || strings.ContainsAny(id, " \t\r\n\"'<>\\,;") {
			t.Errorf("Valid(%q) = true for an unsafe ID", id)
		}
		for _, c := range []byte(id) {
			if c < 0x21 || c > 0x7e {
				t.Errorf("Valid(%q) = true with byte %#x", id, c)
			}
		}
	})
}

func BenchmarkNext(b *testing.B) {
	g := NewGenerator()
	b.ReportAllocs()
	for b.Loop() {
		_ = g.Next()
	}
}
