// Package fakehog is a recording fake of PostHog for edgehog's tests and
// benchmarks.
//
// A Fake listens on two real TCP ports: one plays the API origin
// (us.i.posthog.com: capture, flags, flag definitions, the Django API) and
// one the assets origin (us-assets.i.posthog.com: /static and /array). It
// answers the way PostHog does (docs/protocol.md §1, §3, §4) and records
// every request it receives: the raw bytes as they arrived, plus the payload
// and events decoded the way PostHog capture decodes them.
//
// Behaviour worth knowing when writing tests:
//   - Nothing is ever redirected or normalised; "/e" and "/e/" both answer.
//   - At most Options.MaxRecordBody bytes of a body are kept; the length and
//     SHA-256 of the whole body are always recorded.
//   - /array/* answers on both origins, but only the assets origin sends
//     Cache-Control (PostHog's API origin strips it, protocol.md §0.2), so a
//     request routed to the wrong origin is visible in Request.Upstream and in
//     the headers. /static/* answers only on the assets origin.
//   - CORS is PostHog capture's: preflights mirror Origin and the requested
//     headers, and real answers carry Access-Control-Allow-Origin: <origin>
//     with Access-Control-Allow-Credentials: true.
//   - Faults (SetFault) inject statuses, delays and connection resets.
//   - For a real browser, StaticDir serves posthog-js's dist/ (with
//     StaticVersion also under /static/<version>/, where posthog-js looks
//     first), RemoteConfig turns on what posthog-js loads lazily (session
//     recording, surveys) and FlagPayloads gives flags their payloads.
package fakehog
