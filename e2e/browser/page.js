// page.js is the script of the test page the Go test serves on its own
// origin. It does what a site does with PostHog's HTML snippet: set up
// window.posthog as a queue, call init, and load array.js through edgehog
// with a crossorigin script tag. The Go test describes the page in
// window.E2E (from /page-config.js):
//
//	token               project token
//	apiHost             edgehog's base URL (with its mount prefix, if any)
//	uiHost              where the PostHog app lives
//	sdkSrc              the URL of array.js the snippet loads
//	disableCompression  posthog-js disable_compression
//	aliases             {prefix, exact, prefixes}: use rewriteRequestPath as
//	                    docs/configuration.md "Path aliases" shows, else null
//	loadOnly            load the SDK and its remote config and send nothing:
//	                    no pageview, autocapture, flags, recording or surveys
//	unicode             text the page's DOM changes carry
//
// Every event posthog-js sends passes before_send, which notes its uuid and
// name in localStorage (under "e2e_sent") so that the Node driver can read,
// from the exit page on the same origin, what was sent during page unload.
(function () {
  'use strict';
  const cfg = window.E2E;

  // The snippet's contract with array.js (dist/array.js reads it): a queue
  // array named posthog with _i (pending init calls) and people, whose
  // methods push [name, ...args]; array.js replays the queue once loaded.
  const queue = [];
  queue._i = [];
  queue.people = [];
  queue.__SV = 1;
  for (const name of ['capture', 'identify', 'register', 'group']) {
    queue[name] = function (...args) {
      queue.push([name, ...args]);
    };
  }
  queue.init = function (token, config, name) {
    const script = document.createElement('script');
    script.type = 'text/javascript';
    script.crossOrigin = 'anonymous';
    script.async = true;
    script.src = cfg.sdkSrc;
    script.onerror = () => {
      window.E2E_LOAD_ERROR = 'loading ' + cfg.sdkSrc + ' failed';
    };
    const first = document.getElementsByTagName('script')[0];
    first.parentNode.insertBefore(script, first);
    queue._i.push([token, config, name]);
  };
  window.posthog = queue;

  // The exit event is captured in pagehide, in a listener added before
  // array.js adds its own: posthog-js's handler runs right after, in the
  // same dispatch, and sends it with $pageleave by sendBeacon. Captured any
  // earlier, the 250 ms batch timer could send it by fetch while the page
  // is leaving. Its uuid and properties go to localStorage ("e2e_exit").
  window.addEventListener('pagehide', () => {
    const exit = window.E2E_EXIT;
    if (!exit) return;
    const res = window.posthog.capture(exit.event, exit.properties);
    localStorage.setItem(
      'e2e_exit',
      JSON.stringify({ uuid: res ? res.uuid : '', event: exit.event, properties: exit.properties }),
    );
  });

  const sentKey = 'e2e_sent';
  localStorage.removeItem(sentKey);
  localStorage.removeItem('e2e_exit');
  function noteSent(ev) {
    if (!ev) return ev;
    const sent = JSON.parse(localStorage.getItem(sentKey) || '[]');
    sent.push({ uuid: ev.uuid, event: ev.event });
    localStorage.setItem(sentKey, JSON.stringify(sent));
    return ev;
  }

  const options = {
    api_host: cfg.apiHost,
    ui_host: cfg.uiHost,
    person_profiles: 'always',
    // Headless Chromium says "HeadlessChrome" in its user agent, which
    // posthog-js takes for a bot and drops; its own advice for end-to-end
    // tests is this option.
    opt_out_useragent_filter: true,
    capture_pageview: true,
    capture_pageleave: true,
    disable_compression: cfg.disableCompression,
    // The shortest batching interval posthog-js allows, so a run is quick.
    request_queue_config: { flush_interval_ms: 250 },
    before_send: noteSent,
    loaded: () => {
      window.E2E_LOADED = true;
    },
  };
  if (cfg.loadOnly) {
    Object.assign(options, {
      capture_pageview: false,
      capture_pageleave: false,
      autocapture: false,
      advanced_disable_feature_flags: true,
      disable_session_recording: true,
      disable_surveys: true,
    });
  }
  if (cfg.aliases) {
    const { prefix, exact, prefixes } = cfg.aliases;
    // As in docs/configuration.md "Path aliases".
    options.rewriteRequestPath = (url) => {
      const rest = url.pathname.slice(prefix.length);
      if (exact[rest]) {
        url.pathname = prefix + exact[rest];
      } else {
        for (const [from, to] of prefixes) {
          if (rest.startsWith(from)) {
            url.pathname = prefix + to + rest.slice(from.length);
            break;
          }
        }
      }
      return url;
    };
  }
  window.posthog.init(cfg.token, options);
  if (!cfg.loadOnly) {
    // Queued before array.js has loaded: replayed by it.
    window.posthog.capture('e2e queued before load', { queued: true });
  }

  // Clicks on #add change the DOM, for the session recording.
  document.addEventListener('DOMContentLoaded', () => {
    let n = 0;
    document.getElementById('add').addEventListener('click', () => {
      n++;
      const li = document.createElement('li');
      li.textContent = 'item ' + n + ' ' + cfg.unicode;
      li.className = 'e2e-item';
      document.getElementById('list').appendChild(li);
      document.getElementById('count').textContent = String(n);
    });
  });
})();
