// Package e2e holds edgehog's real-client end-to-end tests: the official
// PostHog SDKs (posthog-node from npm, posthog-go from the Go module proxy)
// send through the real edgehog binary to the recording fake PostHog
// (internal/fakehog), and the tests check what arrived byte for byte.
//
// The package has no code of its own; see README.md for how to run it.
package e2e
