-- POST /flags/?v=2 with a small JSON body: posthog-js's feature-flag request.
local c = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = c.body()
done = c.done
