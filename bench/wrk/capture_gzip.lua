-- POST /i/v0/e/?compression=gzip-js with a ~1 KB gzip batch, as posthog-js
-- sends it: Content-Type text/plain, the body starting with the gzip magic.
local c = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.body = c.body()
done = c.done
