-- W1: a random ticker and a random one-year window per request (cache misses).
-- usage: wrk ... -s bench/w1.lua URL -- /path/prefix
local prefix = "/sql/bars"

function init(args)
  if args[1] then prefix = args[1] end
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

local function day(offset)
  -- 2016-06-01 plus offset days, as YYYY-MM-DD
  return os.date("!%Y-%m-%d", 1464739200 + offset * 86400)
end

request = function()
  local ticker = string.format("T%04d", math.random(0, 499))
  local start = math.random(0, 3130)
  local path = string.format("%s?ticker=%s&start=%s&end=%s", prefix, ticker, day(start), day(start + 365))
  return wrk.format("GET", path)
end
