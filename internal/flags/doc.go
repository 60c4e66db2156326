// Package flags evaluates PostHog feature flags locally, exactly as
// posthog-node 5.70.0 does with a personal API key and polled flag
// definitions (see docs/flags.md in the repository for what is supported).
//
// The package is pure: it does no I/O, keeps no clock and logs nothing.
// Parse turns the JSON body of /flags/definitions (or of the older
// /api/feature_flag/local_evaluation) into an immutable *Definitions, with
// regexes, semvers, static dates and lower-cased strings prepared once.
// (*Definitions).Evaluate and EvaluateAll then answer for one caller context
// (an Input) at an instant (now, used only by relative date filters).
//
// Where posthog-node's local evaluation would be inconclusive (it returns
// undefined and, unless told to evaluate only locally, asks the server), the
// engine never guesses: it returns an error wrapping ErrInconclusive, whose
// *InconclusiveError carries the same Reason posthog-node reports
// (experience_continuity, unsupported_definition, unresolved_dependency,
// missing_context).
//
// Property values follow JavaScript semantics because posthog-node's results
// carry them; the coercions are listed on Input.
package flags
