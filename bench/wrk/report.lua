-- Shared by every page: optional POST body from the environment, and one JSON line at the end.
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE") or ""

dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "summary.lua")  -- done()
