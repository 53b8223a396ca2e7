-- The save POSTs: one wrk thread per client, each saving its own record (BENCH_PATH_<n>,
-- BENCH_BODY_<n> with {version}, BENCH_COOKIE_<n>, BENCH_VERSION_<n>) with the version it last
-- saved, moved on by each save (a 302), so every request is a real save, as clinicians or
-- patients saving different records; a refusal (409) would count as bad.
local slots = 0

function setup(thread)
  slots = slots + 1
  thread:set("slot", slots)
end

function init(args)
  path = os.getenv("BENCH_PATH_" .. slot)
  body = os.getenv("BENCH_BODY_" .. slot)
  cookie = os.getenv("BENCH_COOKIE_" .. slot)
  version = tonumber(os.getenv("BENCH_VERSION_" .. slot))
end

function request()
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }
  return wrk.format("POST", path, headers, (string.gsub(body, "{version}", tostring(version))))
end

function response(status, headers, body)
  if status == 302 then
    version = version + 1
  end
end

dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "summary.lua")  -- done()
