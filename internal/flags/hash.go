package flags

import (
	"crypto/sha1"
	"encoding/binary"
)

// longScale is posthog-node's LONG_SCALE, 0xFFFFFFFFFFFFFFF, which as a
// JavaScript number is exactly 2^60 (the constant conversion rounds the
// same way).
const longScale = float64(0xFFFFFFFFFFFFFFF)

// hash is getFeatureFlagHash: the first 15 hex digits of
// sha1(key + sep + bucket + salt) as a fraction of 2^60 (flags.md §4).
func hash(key, bucket, salt string, sep byte) float64 {
	var buf [192]byte
	b := append(buf[:0], key...)
	b = append(b, sep)
	b = append(b, bucket...)
	b = append(b, salt...)
	sum := sha1.Sum(b)
	return float64(binary.BigEndian.Uint64(sum[:8])>>4) / longScale
}
