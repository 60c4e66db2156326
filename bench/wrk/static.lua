-- GET /static/array.js (~180 KB), the browser SDK's loader script.
local c = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
wrk.method = "GET"
done = c.done
