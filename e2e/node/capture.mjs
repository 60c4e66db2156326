// capture.mjs drives a real posthog-node client against E2E_HOST (edgehog in
// front of the fake PostHog) and prints, as one JSON document on stdout,
// everything the Go test needs to check the far side: the events it asked
// for, the messages posthog-node reported as flushed, every HTTP request it
// made (URL and SHA-256 of the exact body bytes), the flag answers and any
// error posthog-node emitted.
//
// Inputs come from the environment so that the Go test owns every value it
// later compares against:
//
//	E2E_HOST            base URL of edgehog (required)
//	E2E_KEY             project token (required)
//	E2E_DISTINCT_ID     distinct id of the test person (required)
//	E2E_EVENT           name of the plain capture events (required)
//	E2E_UNICODE         unicode probe string put in every capture (required)
//	E2E_N               number of plain capture events (default 20)
//	E2E_LARGE_BYTES     UTF-8 size of the large property (default 102400)
//	E2E_LARGE_EVERY     every n-th capture carries the large property (default 5)
//	E2E_FLUSH_AT        posthog-node flushAt (default 20)
//	E2E_MAX_BATCH       posthog-node maxBatchSize (default 100)
//	E2E_FLUSH_INTERVAL  posthog-node flushInterval in ms (default 10000)
//	E2E_RETRY_DELAY     posthog-node fetchRetryDelay in ms (default 100)
//	E2E_FLAG_KEYS       comma-separated flag keys to evaluate remotely, each
//	                    with getFeatureFlag, isFeatureEnabled and, in one
//	                    request for all, evaluateFlags (default none)
//	E2E_EXTRAS          "1" also sends identify, alias, groupIdentify and a
//	                    capture with groups (default "1")
import { createHash, randomUUID } from 'node:crypto';
import { PostHog } from 'posthog-node';

function env(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (fallback === undefined) {
      throw new Error(`${name} is required`);
    }
    return fallback;
  }
  return v;
}

function intEnv(name, fallback) {
  const n = Number.parseInt(env(name, String(fallback)), 10);
  if (!Number.isFinite(n) || n < 0) {
    throw new Error(`${name}: want a non-negative integer, got ${process.env[name]}`);
  }
  return n;
}

function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

function bodyBytes(body) {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new Error(`unexpected request body type ${Object.prototype.toString.call(body)}`);
}

// largeString returns a deterministic string of exactly `bytes` UTF-8 bytes
// mixing 1-, 2-, 3- and 4-byte characters (a mulberry32 sequence picks
// them), so that any re-encoding, truncation or byte shift on the way is
// visible and gzip cannot squeeze it to nothing.
function largeString(bytes, seed) {
  const alphabet = ['a', 'Z', '7', ' ', '"', '\\', '/', 'é', 'ß', 'Ж', '€', '日', '本', '🦔', '𝄞'];
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const parts = [];
  let size = 0;
  while (size < bytes) {
    let ch = alphabet[Math.floor(next() * alphabet.length)];
    if (size + Buffer.byteLength(ch) > bytes) ch = 'a';
    parts.push(ch);
    size += Buffer.byteLength(ch);
  }
  return parts.join('');
}

const host = env('E2E_HOST');
const key = env('E2E_KEY');
const distinctId = env('E2E_DISTINCT_ID');
const eventName = env('E2E_EVENT');
const unicode = env('E2E_UNICODE');
const n = intEnv('E2E_N', 20);
const largeBytes = intEnv('E2E_LARGE_BYTES', 100 * 1024);
const largeEvery = Math.max(1, intEnv('E2E_LARGE_EVERY', 5));
const flagKeys = env('E2E_FLAG_KEYS', '').split(',').filter(Boolean);
const extras = env('E2E_EXTRAS', '1') === '1';

// Every request posthog-node makes, with the exact bytes it handed to fetch.
const requests = [];
async function recordingFetch(url, options = {}) {
  const body = bodyBytes(options.body);
  const rec = {
    method: options.method ?? 'GET',
    url: String(url),
    bodyLen: body.length,
    bodySHA256: sha256(body),
    status: 0,
    error: '',
  };
  requests.push(rec);
  try {
    const res = await fetch(url, options);
    rec.status = res.status;
    return res;
  } catch (err) {
    rec.error = String(err?.cause ?? err);
    throw err;
  }
}

const client = new PostHog(key, {
  host,
  flushAt: intEnv('E2E_FLUSH_AT', 20),
  maxBatchSize: intEnv('E2E_MAX_BATCH', 100),
  flushInterval: intEnv('E2E_FLUSH_INTERVAL', 10000),
  fetchRetryCount: 3,
  fetchRetryDelay: intEnv('E2E_RETRY_DELAY', 100),
  requestTimeout: 10000,
  fetch: recordingFetch,
});

const flushed = [];
const errors = [];
client.on('flush', (messages) => {
  for (const m of messages) {
    flushed.push({ uuid: m.uuid, event: m.event, type: m.type ?? '' });
  }
});
client.on('error', (err) => {
  errors.push(String(err?.stack ?? err));
});

const captures = [];
const large = largeString(largeBytes, 0x5eed);

for (let i = 0; i < n; i++) {
  const properties = {
    index: i,
    unicode,
    nested: {
      level1: { level2: { level3: [i, 'deep', { ok: true, none: null }] } },
      list: [1, 2.5, -3, 'four', false],
      empty: {},
    },
  };
  if (i % largeEvery === 0) {
    properties.large = large;
  }
  const uuid = randomUUID();
  // A copy is kept: what posthog-node does to the object it gets is its business.
  captures.push({ uuid, event: eventName, distinctId, properties: structuredClone(properties) });
  client.capture({ distinctId, event: eventName, properties, uuid });
}

const others = {};
if (extras) {
  const groupUUID = randomUUID();
  const groupProps = { unicode, plan: 'enterprise' };
  captures.push({ uuid: groupUUID, event: 'e2e grouped event', distinctId, properties: structuredClone(groupProps) });
  client.capture({
    distinctId,
    event: 'e2e grouped event',
    properties: groupProps,
    groups: { company: 'edgehog-inc' },
    uuid: groupUUID,
  });

  others.identify = {
    $set: { email: 'hedgehog@example.com', name: unicode },
    $set_once: { first_seen_via: 'edgehog e2e' },
  };
  client.identify({ distinctId, properties: structuredClone(others.identify) });

  others.alias = `${distinctId}-alias`;
  client.alias({ distinctId, alias: others.alias });

  others.groupIdentify = { groupType: 'company', groupKey: 'edgehog-inc', properties: { name: unicode, employees: 42 } };
  client.groupIdentify(structuredClone(others.groupIdentify));
}

const flags = {};
const evaluated = {};
if (flagKeys.length > 0) {
  // getFeatureFlag and isFeatureEnabled are deprecated in favour of
  // evaluateFlags; they still make their own /flags request each.
  for (const flagKey of flagKeys) {
    const value = await client.getFeatureFlag(flagKey, distinctId);
    const enabled = await client.isFeatureEnabled(flagKey, distinctId);
    flags[flagKey] = { value: value ?? null, enabled: enabled ?? null };
  }
  const all = await client.evaluateFlags(distinctId);
  for (const flagKey of flagKeys) {
    evaluated[flagKey] = { value: all.getFlag(flagKey) ?? null, enabled: all.isEnabled(flagKey) ?? null };
  }
}

await client.shutdown(30000);

process.stdout.write(
  JSON.stringify({
    lib: { id: 'posthog-node', version: client.getLibraryVersion(), userAgent: client.getCustomUserAgent() },
    large: { bytes: Buffer.byteLength(large), sha256: sha256(Buffer.from(large, 'utf8')) },
    captures,
    others,
    flushed,
    flags,
    evaluated,
    requests,
    errors,
  }) + '\n',
);
