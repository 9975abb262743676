-- W3: big results. Mode "history": a random ticker's full history (2,520 rows);
-- mode "cross": every ticker over a random 200-trading-day window (100,000 rows).
-- usage: wrk ... -s bench/w3.lua URL -- /path mode
local prefix, mode = "/sql/history", "history"

function init(args)
  if args[1] then prefix = args[1] end
  if args[2] then mode = args[2] end
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

local function day(offset)
  return os.date("!%Y-%m-%d", 1464739200 + offset * 86400)
end

request = function()
  if mode == "history" then
    return wrk.format("GET", string.format("%s?ticker=T%04d", prefix, math.random(0, 499)))
  end
  -- 280 calendar days hold 200 trading days
  local start = math.random(0, 3215)
  return wrk.format("GET", string.format("%s?start=%s&end=%s", prefix, day(start), day(start + 279)))
end
