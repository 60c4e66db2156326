// flags-eval.mjs evaluates feature flags with posthog-node's local
// evaluation only, for the differential tests of internal/flags (see
// internal/flags/differential_test.go). No network is used: posthog-node's
// `fetch` option serves the definitions of the case being evaluated.
//
// stdin: one JSON document
//   {
//     "now": <epoch ms>,              // the fixed clock (Date is stubbed)
//     "definitions": [<body>, ...],   // /flags/definitions bodies
//     "cases": [{
//       "id": "...",
//       "defs": <index into definitions>,
//       "contexts": ["web"] | null,   // evaluationContexts client option
//       "key": "flag" | null,         // null: getAllFlagsAndPayloads
//       "distinct_id": "...",
//       "groups": {...}, "person_properties": {...}, "group_properties": {...}
//     }, ...]
//   }
// stdout: one JSON line per case, in order:
//   single: {"id", "value": <false|true|"variant"> | absent when undefined,
//            "payload": <json> | absent when undefined, "reason": <unresolved reason>|null}
//   all:    {"id", "flags": {...}, "payloads": {...}, "unresolved": {...}}
//
// Run with TZ=UTC (dates without a zone are local time in V8).
import { PostHog } from 'posthog-node';

const input = JSON.parse(await readStdin());
const NOW = input.now;

// A fixed clock: `new Date()` and Date.now() return NOW; every other use of
// Date is untouched. posthog-node reads the time for relative date filters
// with `new Date()`.
const RealDate = globalThis.Date;
class FixedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) {
      super(NOW);
    } else {
      super(...args);
    }
  }
  static now() {
    return NOW;
  }
}
globalThis.Date = FixedDate;

// Keep stdout for results only: posthog-node warns through console.
console.log = (...a) => process.stderr.write(a.join(' ') + '\n');
console.warn = console.log;
console.info = console.log;
console.debug = () => {};

let current = null; // the definitions body the fake fetch serves

async function fakeFetch(url) {
  if (!String(url).includes('/flags/definitions') && !String(url).includes('/local_evaluation')) {
    throw new Error(`unexpected request to ${url}`);
  }
  const body = JSON.stringify(current);
  return {
    status: 200,
    headers: { get: () => null },
    text: async () => body,
    json: async () => JSON.parse(body),
  };
}

const clients = new Map(); // evaluation contexts (JSON) -> client

function clientFor(contexts) {
  const k = JSON.stringify(contexts ?? null);
  let c = clients.get(k);
  if (!c) {
    c = new PostHog('phc_differential', {
      host: 'http://127.0.0.1:9',
      personalApiKey: 'phx_differential',
      fetch: fakeFetch,
      featureFlagsPollingInterval: 3600_000,
      evaluationContexts: contexts ?? undefined,
      flushAt: 1_000_000,
      flushInterval: 0,
      sendFeatureFlagEvent: false,
      strictLocalEvaluation: true,
    });
    clients.set(k, c);
    c._loadedFor = null;
  }
  return c;
}

const out = [];
for (const tc of input.cases) {
  // Set the served definitions before a new client's constructor starts its
  // first load, which a reload then joins.
  current = input.definitions[tc.defs];
  const client = clientFor(tc.contexts);
  if (client._loadedFor !== tc.defs) {
    await client.reloadFeatureFlags();
    client._loadedFor = tc.defs;
  }
  const opts = {
    groups: tc.groups ?? undefined,
    personProperties: tc.person_properties ?? undefined,
    groupProperties: tc.group_properties ?? undefined,
    onlyEvaluateLocally: true,
    sendFeatureFlagEvents: false,
  };
  const res = { id: tc.id };
  try {
    const snapshot = tc.distinct_id === '' ? null : await client.evaluateFlags(tc.distinct_id, {
      ...opts,
      ...(tc.key === null ? {} : { flagKeys: [tc.key] }),
    });
    if (tc.key === null) {
      const all = await client.getAllFlagsAndPayloads(tc.distinct_id, opts);
      res.flags = all.featureFlags;
      res.payloads = all.featureFlagPayloads;
      res.unresolved = snapshot ? snapshot.unresolvedFlags : {};
    } else {
      const v = await client.getFeatureFlag(tc.key, tc.distinct_id, opts);
      if (v !== undefined) res.value = v;
      const p = await client.getFeatureFlagPayload(tc.key, tc.distinct_id, undefined, opts);
      if (p !== undefined) res.payload = p;
      res.reason = snapshot ? (snapshot.unresolvedFlags[tc.key] ?? null) : null;
    }
  } catch (e) {
    res.error = String(e && e.stack ? e.stack : e);
  }
  out.push(JSON.stringify(res));
  if (out.length >= 500) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
}
process.stdout.write(out.length ? out.join('\n') + '\n' : '');
for (const c of clients.values()) {
  await c.shutdown(1000);
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}
