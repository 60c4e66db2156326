// run.mjs drives posthog-js in headless Chromium (Debian's chromium,
// through playwright-core; no browser is ever downloaded) on the test page
// the Go test serves, and prints one JSON line on stdout with everything the
// Go test checks against what the fake PostHog received: the events the
// page asked for, every event posthog-js sent (from before_send), the flag
// answers, the session id, every request the page made (with edgehog's
// X-Edgehog-Cache and X-Request-Id answer headers, and when it started and
// when its answer arrived, in Unix ms), the CORS preflights Chromium sent,
// console errors, page errors and failed requests.
//
// After printing, it keeps the browser open until stdin closes, so that the
// Go test can wait for the page-exit beacon to reach the fake first.
//
// Inputs come from the environment, so the Go test owns every value it
// later compares against:
//
//	E2E_PAGE_URL       the test page (required)
//	E2E_EXIT_URL       a page on the same origin to leave to (required)
//	E2E_USER_DATA_DIR  a fresh, empty Chromium profile directory (required)
//	E2E_CHROMIUM       the browser (default /usr/bin/chromium)
//	E2E_MODE           "full" (default): everything below; "load": only
//	                   load the SDK and remote config and report
//	E2E_DISTINCT_ID    identified distinct id (full mode)
//	E2E_EVENT          name of the plain capture events (full mode)
//	E2E_UNICODE        unicode probe put in every capture (full mode)
//	E2E_N              number of plain capture events (default 12)
//	E2E_LARGE_CHARS    length of the large string property (default 40000)
//	E2E_LARGE_EVERY    every n-th capture carries it (default 4)
//	E2E_FLAG_KEY       flag whose value and payload are read (full mode)
//	E2E_CLICKS         clicks on the page's button (default 5)
//	E2E_TIMEOUT_MS     bound on each wait (default 30000)
import { chromium } from 'playwright-core';

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

// The flags the brief for this suite names; playwright adds its own
// automation flags and --user-data-dir.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const mode = env('E2E_MODE', 'full');
const timeout = intEnv('E2E_TIMEOUT_MS', 30000);

const summary = {
  mode,
  userAgent: '',
  sdkVersion: '',
  loadError: '',
  sessionId: '',
  distinctId: '',
  recordingStarted: false,
  captures: [],
  identify: null,
  group: null,
  flag: null,
  sent: [],
  requests: [],
  preflights: [],
  consoleErrors: [],
  pageErrors: [],
  failedRequests: [],
  badResponses: [],
};

// waitFor polls cond (a Node-side predicate) until it holds, bounded.
async function waitFor(what, cond) {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function pathOf(url) {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

const context = await chromium.launchPersistentContext(env('E2E_USER_DATA_DIR'), {
  executablePath: env('E2E_CHROMIUM', '/usr/bin/chromium'),
  headless: true,
  args: chromiumArgs,
  timeout,
});
let exitCode = 0;
try {
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(timeout);

  // Every request, by the order it started; status and failure filled in.
  const byRequest = new Map();
  page.on('request', (req) => {
    const rec = {
      method: req.method(),
      url: req.url(),
      resourceType: req.resourceType(),
      status: 0,
      cache: '',
      requestId: '',
      startMs: Date.now(),
      answerMs: 0,
      failure: '',
      done: false,
    };
    byRequest.set(req, rec);
    summary.requests.push(rec);
  });
  page.on('response', (resp) => {
    const rec = byRequest.get(resp.request());
    if (rec) {
      rec.status = resp.status();
      rec.cache = resp.headers()['x-edgehog-cache'] ?? '';
      rec.requestId = resp.headers()['x-request-id'] ?? '';
      rec.answerMs = Date.now();
    }
    if (resp.status() >= 400) {
      summary.badResponses.push(`${resp.request().method()} ${resp.url()}: ${resp.status()}`);
    }
  });
  page.on('requestfinished', (req) => {
    const rec = byRequest.get(req);
    if (rec) rec.done = true;
  });
  page.on('requestfailed', (req) => {
    const rec = byRequest.get(req);
    const failure = req.failure() ? req.failure().errorText : 'failed';
    if (rec) {
      rec.failure = failure;
      rec.done = true;
    }
    summary.failedRequests.push(`${req.method()} ${req.url()}: ${failure}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      summary.consoleErrors.push(msg.text());
    }
  });
  page.on('pageerror', (err) => {
    summary.pageErrors.push(String(err && err.stack ? err.stack : err));
  });

  // Playwright does not report CORS preflights; Chromium's DevTools
  // protocol does: an OPTIONS request (the page itself sends none) whose
  // response has type "Preflight".
  const cdp = await context.newCDPSession(page);
  const preflights = new Map();
  const preflight = (id, url) => {
    let rec = preflights.get(id);
    if (!rec) {
      rec = { url, status: 0, failure: '' };
      preflights.set(id, rec);
      summary.preflights.push(rec);
    }
    return rec;
  };
  cdp.on('Network.requestWillBeSent', (ev) => {
    if (ev.type === 'Preflight' || ev.request.method === 'OPTIONS') {
      preflight(ev.requestId, ev.request.url);
    }
  });
  cdp.on('Network.responseReceived', (ev) => {
    if (ev.type === 'Preflight' || preflights.has(ev.requestId)) {
      preflight(ev.requestId, ev.response.url).status = ev.response.status;
    }
  });
  cdp.on('Network.loadingFailed', (ev) => {
    const rec = preflights.get(ev.requestId);
    if (rec) rec.failure = ev.errorText || 'failed';
  });
  await cdp.send('Network.enable');

  await page.goto(env('E2E_PAGE_URL'), { waitUntil: 'load' });
  await page.waitForFunction(() => window.E2E_LOADED || window.E2E_LOAD_ERROR);
  summary.loadError = await page.evaluate(() => window.E2E_LOAD_ERROR || '');
  if (summary.loadError) {
    throw new Error(summary.loadError);
  }
  summary.userAgent = await page.evaluate(() => navigator.userAgent);
  summary.sdkVersion = await page.evaluate(() => window.posthog.version);

  const done = (re) => summary.requests.some((r) => re.test(pathOf(r.url)) && r.status === 200);
  // Remote config (config.js) is what turns on the recorder and surveys.
  await waitFor('remote config', () => done(/\/config\.js$/));

  if (mode === 'full') {
    await runFull(page, done);
  }

  // Leave the page: on pagehide the page captures one more event (see
  // page.js) and posthog-js sends it, $pageleave and whatever else is queued
  // with navigator.sendBeacon.
  if (mode === 'full') {
    await page.evaluate((unicode) => {
      window.E2E_EXIT = { event: 'e2e before exit', properties: { last: true, unicode } };
    }, env('E2E_UNICODE'));
  }
  await page.goto(env('E2E_EXIT_URL'), { waitUntil: 'load' });
  summary.sent = await page.evaluate(() => JSON.parse(localStorage.getItem('e2e_sent') || '[]'));
  if (mode === 'full') {
    const exit = await page.evaluate(() => JSON.parse(localStorage.getItem('e2e_exit') || 'null'));
    if (!exit || !exit.uuid) {
      throw new Error('the page captured no exit event');
    }
    summary.captures.push(exit);
  }
  for (const r of summary.requests) delete r.done;
} catch (err) {
  summary.error = String(err && err.stack ? err.stack : err);
  exitCode = 1;
}

process.stdout.write(JSON.stringify(summary) + '\n');
// Hold the browser (and any beacon in flight) until the Go test is done.
if (exitCode === 0) {
  await new Promise((resolve) => {
    process.stdin.on('data', () => {});
    process.stdin.on('end', resolve);
    process.stdin.on('error', resolve);
    process.stdin.resume();
  });
}
await context.close();
process.exit(exitCode);

// runFull identifies, groups, captures, reads a flag and its payload and
// clicks for the recording, waiting until posthog-js has sent all of it.
async function runFull(page, done) {
  await waitFor('the recorder bundle', () => done(/lazy-recorder\.js$/));
  await waitFor('the surveys bundle', () => done(/surveys\.js$/));
  await page.waitForFunction(() => window.posthog.sessionRecordingStarted());
  summary.recordingStarted = true;

  const distinctId = env('E2E_DISTINCT_ID');
  const unicode = env('E2E_UNICODE');
  const input = {
    distinctId,
    unicode,
    event: env('E2E_EVENT'),
    n: intEnv('E2E_N', 12),
    largeChars: intEnv('E2E_LARGE_CHARS', 40000),
    largeEvery: intEnv('E2E_LARGE_EVERY', 4),
    flagKey: env('E2E_FLAG_KEY'),
  };
  const out = await page.evaluate(async (input) => {
    const ph = window.posthog;
    // A deterministic string of mixed 1- to 4-byte UTF-8 characters
    // (mulberry32 picks them), so re-encoding or truncation shows.
    function largeString(chars, seed) {
      const alphabet = ['a', 'Z', '7', ' ', '"', '\\', '/', 'é', 'ß', 'Ж', '€', '日', '🦔', '𝄞'];
      let s = seed >>> 0;
      const next = () => {
        s = (s + 0x6d2b79f5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      let out = '';
      while (out.length < chars) {
        let ch = alphabet[Math.floor(next() * alphabet.length)];
        if (out.length + ch.length > chars) ch = 'a';
        out += ch;
      }
      return out;
    }

    const identifySet = { name: input.unicode, email: 'e2e@example.com' };
    const identifySetOnce = { first_seen_by: 'edgehog e2e' };
    ph.identify(input.distinctId, identifySet, identifySetOnce);
    const groupProps = { name: input.unicode, seats: 42 };
    ph.group('company', 'edgehog-inc', groupProps);

    const captures = [];
    for (let i = 0; i < input.n; i++) {
      const props = {
        i,
        unicode: input.unicode,
        nested: { list: [1, 2.5, null, true, { deep: input.unicode }], empty: {} },
      };
      if (input.largeEvery > 0 && i % input.largeEvery === 0) {
        props.large = largeString(input.largeChars, i + 1);
      }
      const res = ph.capture(input.event, props);
      captures.push({ uuid: res.uuid, event: res.event, properties: props });
    }

    await new Promise((resolve) => ph.onFeatureFlags(() => resolve()));
    const flag = {
      key: input.flagKey,
      value: ph.getFeatureFlag(input.flagKey),
      enabled: ph.isFeatureEnabled(input.flagKey),
      payload: ph.getFeatureFlagPayload(input.flagKey),
    };
    return {
      captures,
      identify: { $set: identifySet, $set_once: identifySetOnce },
      group: { type: 'company', key: 'edgehog-inc', properties: groupProps },
      flag,
      distinctId: ph.get_distinct_id(),
      sessionId: ph.get_session_id(),
    };
  }, input);
  Object.assign(summary, out);

  // Clicks change the DOM: the recording gets mouse interactions and
  // mutations, autocapture gets $autocapture events.
  const replaySeen = summary.requests.length;
  for (let i = 0; i < intEnv('E2E_CLICKS', 5); i++) {
    await page.click('#add');
  }
  await page.waitForFunction(
    (n) => document.querySelectorAll('.e2e-item').length === n,
    intEnv('E2E_CLICKS', 5),
  );
  // Wait for a replay upload after the clicks and for every capture and
  // replay request to finish, so nothing but the exit events is left for
  // the beacon.
  const isUpload = (r) => r.method === 'POST';
  await waitFor('a recording upload after the clicks', () =>
    summary.requests.slice(replaySeen).some((r) => isUpload(r) && /\/(s|r)\/$/.test(pathOf(r.url)) && r.done),
  );
  await waitFor('every upload to finish', () => summary.requests.every((r) => !isUpload(r) || r.done));
  await waitFor('the captures to be sent', () =>
    summary.requests.slice(replaySeen).some((r) => isUpload(r) && /\/(e|i\/v0\/e|q)\/$/.test(pathOf(r.url)) && r.done),
  );
  await waitFor('every upload to finish', () => summary.requests.every((r) => !isUpload(r) || r.done));
}
