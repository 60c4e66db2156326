-- Shared by the scenario scripts of the edgehog benchmark harness (bench/).
-- The harness passes everything through the environment, because wrk's
-- done() runs in a Lua state that never sees the script's arguments:
--   BENCH_WRK_DIR  the directory holding this file
--   BENCH_BODY     the file whose bytes are the request body (scripts that POST)
local M = {}

-- body returns the bytes of the file named by BENCH_BODY.
function M.body()
  local path = assert(os.getenv("BENCH_BODY"), "BENCH_BODY is not set")
  local f = assert(io.open(path, "rb"))
  local b = f:read("*a")
  f:close()
  return b
end

-- done prints one machine-readable line for the harness: wrk's summary and
-- latency percentiles, latencies in microseconds.
function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,' ..
    '"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end

return M
