-- POST /s/?compression=gzip-js with a 1 MiB gzip body: a session-recording
-- upload.
local c = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.body = c.body()
done = c.done
