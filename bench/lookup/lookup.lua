-- wrk script for bench/lookup: GET <path>?lon=…&lat=… with a point drawn
-- from a fixed list (points.txt: "lon lat" per line), and a summary line
-- that run.sh parses.
--   wrk -t2 -c64 -d10s -s lookup.lua http://127.0.0.1:8091 -- /api/v1/lookup points.txt
local points = {}
local path = "/api/v1/lookup"

function init(args)
  path = args[1] or path
  local file = args[2] or "points.txt"
  for line in io.lines(file) do
    local lon, lat = line:match("^(%S+)%s+(%S+)$")
    if lon then points[#points + 1] = "?lon=" .. lon .. "&lat=" .. lat end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  return wrk.format("GET", path .. points[math.random(#points)])
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d errors=%d non2xx=%d bytes=%d\n",
    summary.requests, secs, summary.requests / secs, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.bytes))
end
