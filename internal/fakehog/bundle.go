package fakehog

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// bundleWords give generated bundles the vocabulary of an analytics SDK, so
// they compress about as well as real minified JavaScript.
func bundleWords() []string {
	return []string{
		"posthog", "capture", "event", "properties", "distinct_id", "session",
		"window", "document", "config", "persistence", "request", "queue",
		"flush", "batch", "timestamp", "uuid", "token", "api_host", "feature",
		"flag", "payload", "survey", "replay", "recorder", "element", "chain",
		"autocapture", "pageview", "pageleave", "heatmap", "toolbar", "storage",
		"cookie", "localStorage", "compression", "gzip", "retry", "backoff",
		"listener", "callback", "length", "push", "apply", "call", "prototype",
		"Object", "Array", "JSON", "stringify", "parse", "Math", "floor", "now",
	}
}

// splitmix64 is a tiny deterministic generator (Steele, Lea, Flood 2014),
// so bundles stay byte-identical whatever math/rand does across releases.
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (s *splitmix64) intn(n int) int { return int(s.next() % uint64(n)) }

// generateBundle returns about size bytes of syntactically plausible
// minified JavaScript, the same for the same name on every run. It is a
// stand-in for posthog-js bundles, not a working SDK.
func generateBundle(name string, size int) []byte {
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := splitmix64(h.Sum64())
	words := bundleWords()
	word := func() string { return words[rng.intn(len(words))] }
	ident := func() string {
		const first = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$"
		const rest = first + "0123456789"
		b := []byte{first[rng.intn(len(first))]}
		for n := rng.intn(3); n > 0; n-- {
			b = append(b, rest[rng.intn(len(rest))])
		}
		return string(b)
	}

	const footer = "}();\n"
	var b strings.Builder
	b.Grow(size + 256)
	fmt.Fprintf(&b, "/*! fakehog generated bundle %s: deterministic stand-in, not posthog-js */\n", name)
	b.WriteString(`!function(){"use strict";`)
	for b.Len() < size-len(footer) {
		a, c, d := ident(), ident(), ident()
		switch rng.intn(5) {
		case 0:
			fmt.Fprintf(&b, "var %s=function(%s,%s){return %s.%s(%s)+%d};", a, c, d, c, word(), d, rng.intn(1000))
		case 1:
			fmt.Fprintf(&b, `function %s(%s){if(!%s||typeof %s!=="object")return null;for(var %s=0;%s<%s.length;%s++)%s.%s(%s[%s]);return %s}`,
				a, c, c, c, d, d, c, d, word(), word(), c, d, c)
		case 2:
			fmt.Fprintf(&b, `%s.prototype.%s=function(){var %s=this;return new Promise(function(%s){%s.%s("%s",%s)})};`,
				a, word(), c, d, c, word(), word(), d)
		case 3:
			fmt.Fprintf(&b, `var %s={%s:"%s_%s",%s:%d,%s:!%d};`, a, word(), word(), word(), word(), rng.intn(100000), word(), rng.intn(2))
		default:
			fmt.Fprintf(&b, `"%s"===%s.%s&&(%s.%s=%s.%s||[]).push({%s:%s,%s:"%s_%d"});`,
				word(), a, word(), c, word(), c, word(), word(), d, word(), word(), rng.intn(100))
		}
	}
	b.WriteString(footer)
	return []byte(b.String())
}
