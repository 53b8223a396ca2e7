-- Booking POSTs: each request books a different patient into the next free half-hour of a
-- weekday far enough ahead that nothing else is booked there (one wrk thread, so one counter).
local template = os.getenv("BENCH_BODY")
local first_day = tonumber(os.getenv("BENCH_FIRST_DAY"))  -- seconds since the epoch, UTC midnight
local mrn_base = tonumber(os.getenv("BENCH_MRN_BASE") or "0")
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE") or ""

local function slot(k)
  local day, left = first_day, math.floor(k / 14)
  while true do
    local wday = os.date("!*t", day).wday  -- 1 = Sunday, 7 = Saturday
    if wday ~= 1 and wday ~= 7 then
      if left == 0 then break end
      left = left - 1
    end
    day = day + 86400
  end
  local minutes = 9 * 60 + 30 * (k % 14)
  return os.date("!%Y-%m-%d", day), string.format("%02d:%02d", math.floor(minutes / 60), minutes % 60)
end

request = function()
  local day, start = slot(n)
  local body = template:gsub("{day}", day):gsub("{start}", start)
    :gsub("{mrn}", string.format("BX%07d", mrn_base + n))
  n = n + 1
  return wrk.format(nil, nil, nil, body)
end

dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "summary.lua")  -- done()
