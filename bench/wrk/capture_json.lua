-- POST /e/ with a 2 KB JSON event (a server SDK's or an old posthog-js's
-- uncompressed capture).
local c = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = c.body()
done = c.done
