// flags-bench.mjs times posthog-node's local flag evaluation for the
// benchmarks of internal/flags (BenchmarkPosthogNode in bench_test.go).
//
// stdin:  {"definitions": <body>, "key": "flag", "inputs": [{"distinct_id",
//          "person_properties", "groups", "group_properties"}, ...],
//          "n": <evaluations to time>, "warmup": <evaluations first>}
// stdout: {"n": <n>, "ns_per_eval": <mean wall time per evaluation>,
//          "values": {<value>: <count>}}
//
// Each evaluation is the public API a Node.js server calls:
// getFeatureFlag(key, distinctId, {..., onlyEvaluateLocally: true,
// sendFeatureFlagEvents: false}), awaited one after the other; inputs are
// cycled. No network is used: the `fetch` option serves the definitions.
import { PostHog } from 'posthog-node';

const input = JSON.parse(await readStdin());
console.log = (...a) => process.stderr.write(a.join(' ') + '\n');
console.warn = console.log;

const body = JSON.stringify(input.definitions);
const client = new PostHog('phc_bench', {
  host: 'http://127.0.0.1:9',
  personalApiKey: 'phx_bench',
  featureFlagsPollingInterval: 3600_000,
  flushAt: 1_000_000,
  flushInterval: 0,
  sendFeatureFlagEvent: false,
  fetch: async () => ({ status: 200, headers: { get: () => null }, text: async () => body, json: async () => JSON.parse(body) }),
});
await client.reloadFeatureFlags();

const inputs = input.inputs;
const values = {};
async function run(n, count) {
  for (let i = 0; i < n; i++) {
    const x = inputs[i % inputs.length];
    const v = await client.getFeatureFlag(input.key, x.distinct_id, {
      groups: x.groups,
      personProperties: x.person_properties,
      groupProperties: x.group_properties,
      onlyEvaluateLocally: true,
      sendFeatureFlagEvents: false,
    });
    if (count) values[String(v)] = (values[String(v)] ?? 0) + 1;
  }
}
await run(input.warmup ?? 2000, false);
const start = process.hrtime.bigint();
await run(input.n, true);
const elapsed = Number(process.hrtime.bigint() - start);
process.stdout.write(JSON.stringify({ n: input.n, ns_per_eval: elapsed / input.n, values }) + '\n');
await client.shutdown(1000);

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}
