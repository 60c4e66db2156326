// Package flagsync polls a PostHog project's feature-flag definitions for
// local evaluation, as posthog-node's FeatureFlagsPoller does (flags.md §1):
// GET {host}/flags/definitions?token=…&send_cohorts with the personal API
// key, If-None-Match once an ETag is known (304 keeps the copy), exponential
// backoff min(60 s, interval·2^n) after 401, 403 and 429, a cleared set after
// 402 (quota limited), and the last good copy kept on any other failure.
//
// A Poller is safe for concurrent use: Definitions is one atomic load, so
// evaluations never wait for a fetch.
package flagsync
