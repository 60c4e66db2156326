// Package posthog is a Go server SDK for PostHog with the feature set of
// posthog-node 5.70: batched event capture and feature flags with local
// evaluation. It talks to PostHog Cloud, a self-hosted PostHog, or an
// edgehog in front of either (set Options.Host to the edgehog URL).
//
// # Events
//
// Capture, Identify, Alias and GroupIdentify encode the event at once (so
// invalid input is an error at the call site, and the caller may reuse its
// maps) and queue it. A background goroutine owned by the Client sends the
// queue to /batch/ as posthog-node does:
//
//   - when FlushAt events (20) are queued, or FlushInterval (5 s) after the
//     first queued event, in requests of at most MaxBatchSize (100) events;
//   - gzip-compressed with Content-Encoding: gzip, as
//     {"api_key","batch":[…],"sent_at"}, every event carrying $lib,
//     $lib_version, $is_server and, unless turned off, $geoip_disable;
//   - retried FetchRetryCount (3) times, FetchRetryDelay (3 s) apart, after
//     network errors, 408, 429 and 5xx; other answers drop the batch;
//   - a 413 answer halves MaxBatchSize for good and sends the same events
//     again in smaller batches;
//   - at most MaxQueueSize (10 000) events are held: beyond it the oldest is
//     dropped and reported to Options.OnError.
//
// Flush sends what is queued now; Shutdown sends everything, stops the
// background goroutines and returns once all is delivered or its context
// ends. Call Shutdown (or Close) before the program exits; in serverless
// functions set Options.Serverless and Flush before returning.
//
// # Feature flags
//
// IsFeatureEnabled, GetFeatureFlag, GetFeatureFlagPayload, GetAllFlags and
// GetAllFlagsAndPayloads take a context, the flag key and distinct id, and
// options: WithGroups, WithPersonProperties, WithGroupProperties,
// OnlyEvaluateLocally, SendFeatureFlagEvents. With Options.PersonalAPIKey
// the flag definitions are polled (ETag-aware) and flags are evaluated
// in-process with posthog-node's exact semantics; when local evaluation is
// inconclusive (a missing property, experience continuity, a static cohort)
// the client asks /flags/?v=2, unless OnlyEvaluateLocally. A flag call never
// returns a guess: when posthog-node would return undefined, the error says
// why (ErrFlagNotFound, ErrInconclusive, an *APIError, …).
//
// IsFeatureEnabled and GetFeatureFlag send a $feature_flag_called event the
// first time a distinct id sees a given flag value (for given groups),
// remembering the last MaxCacheSize (50 000) distinct ids.
//
// # Concurrency
//
// A Client is safe for concurrent use by any number of goroutines. It owns
// exactly its background flusher and, with a PersonalAPIKey, its
// definitions poller; both end in Shutdown.
package posthog
