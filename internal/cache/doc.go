// Package cache is edgehog's in-memory cache of PostHog's SDK bundles
// (/static/*) and remote config (/array/*): a byte-bounded LRU of upstream
// answers that follows RFC 9111 (Cache-Control, Vary, Age, conditional
// revalidation) and RFC 5861 (stale-while-revalidate, stale-if-error).
//
// Bodies are stored exactly as upstream sent them, one variant per
// Content-Encoding, so SRI hashes keep matching. Concurrent misses for one
// key share one upstream request. Background refreshes belong to the Cache
// and stop with Close.
package cache
