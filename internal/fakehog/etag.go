package fakehog

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// etagOf is a strong entity tag derived from the content.
func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:10]) + `"`
}

// etagMatch applies If-None-Match's weak comparison (RFC 9110 §13.1.2):
// any listed tag equal to etag, ignoring W/, or "*".
func etagMatch(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" {
		return false
	}
	for _, c := range strings.Split(ifNoneMatch, ",") {
		c = strings.TrimSpace(c)
		if c == "*" || strings.TrimPrefix(c, "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}
