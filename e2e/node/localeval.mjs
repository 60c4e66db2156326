// localeval.mjs drives posthog-node's local flag evaluation through
// E2E_HOST (edgehog in front of the fake PostHog): with a personal API key
// it polls the flag definitions, evaluates flags and payloads without
// asking /flags, polls again (the second poll carries If-None-Match and
// gets 304), sends the $feature_flag_called events and shuts down. It
// prints one JSON document on stdout: readiness, the answers, every HTTP
// request it made (with the headers that matter) and any error.
//
//	E2E_HOST          base URL of edgehog (required)
//	E2E_KEY           project token (required)
//	E2E_PERSONAL_KEY  personal API key (required)
//	E2E_DISTINCT_ID   distinct id to evaluate for (required)
//	E2E_FLAG_KEYS     comma-separated flag keys (required)
import { PostHog } from 'posthog-node';

function env(name) {
  const v = process.env[name];
  if (v === undefined || v === '') {
    throw new Error(`${name} is required`);
  }
  return v;
}

const host = env('E2E_HOST');
const distinctId = env('E2E_DISTINCT_ID');
const flagKeys = env('E2E_FLAG_KEYS').split(',').filter(Boolean);

// Every request posthog-node makes, with the headers local evaluation
// depends on.
const requests = [];
async function recordingFetch(url, options = {}) {
  const headers = new Headers(options.headers ?? {});
  const rec = {
    method: options.method ?? 'GET',
    url: String(url),
    authorization: headers.get('authorization') ?? '',
    ifNoneMatch: headers.get('if-none-match') ?? '',
    status: 0,
    etag: '',
    error: '',
  };
  requests.push(rec);
  try {
    const res = await fetch(url, options);
    rec.status = res.status;
    rec.etag = res.headers.get('etag') ?? '';
    return res;
  } catch (err) {
    rec.error = String(err?.cause ?? err);
    throw err;
  }
}

const errors = [];
const flushed = [];
const client = new PostHog(env('E2E_KEY'), {
  host,
  personalApiKey: env('E2E_PERSONAL_KEY'),
  // Polls only when the script asks: the test counts them.
  featureFlagsPollingInterval: 3_600_000,
  flushAt: 100,
  flushInterval: 60_000,
  fetchRetryCount: 0,
  requestTimeout: 10_000,
  fetch: recordingFetch,
});
client.on('error', (err) => errors.push(String(err?.stack ?? err)));
client.on('flush', (messages) => {
  for (const m of messages) flushed.push({ uuid: m.uuid, event: m.event });
});

const ready = await client.waitForLocalEvaluationReady(30_000);
const local = { onlyEvaluateLocally: true };
const flags = {};
for (const key of flagKeys) {
  flags[key] = {
    value: (await client.getFeatureFlag(key, distinctId, local)) ?? null,
    enabled: (await client.isFeatureEnabled(key, distinctId, local)) ?? null,
    payload: (await client.getFeatureFlagPayload(key, distinctId, undefined, local)) ?? null,
  };
}
const all = await client.getAllFlagsAndPayloads(distinctId, local);
await client.reloadFeatureFlags();
await client.shutdown(10_000);

process.stdout.write(
  JSON.stringify({
    ready,
    flags,
    all: { flags: all.featureFlags ?? {}, payloads: all.featureFlagPayloads ?? {} },
    requests,
    flushed,
    errors,
  }) + '\n',
);
