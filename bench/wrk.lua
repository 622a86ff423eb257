-- wrk script for the MiniShop bench (see scripts/bench.ts).
--   env BENCH_METHOD  GET | POST (default GET)
--   env BENCH_PATHS   one path, or several separated by ',' (round robin per request)
--   env BENCH_TOKENS  file with one session token per line; each request takes the next one of its thread, so
--                     every purchase is by a different shopper (thread i uses lines i, i+T, i+2T, …)
--   env BENCH_THREADS the -t value, to split the tokens
--   env BENCH_TOKEN_OFFSET skip this many lines (used by the scenario's earlier chunks)
-- done() prints one JSON line prefixed "BENCH_RESULT " with status counts and the full latency histogram
-- (microseconds → count), so chunks of a scenario can be merged exactly.
local method = os.getenv("BENCH_METHOD") or "GET"
local paths = {}
for p in string.gmatch(os.getenv("BENCH_PATHS") or "/healthz", "[^,]+") do paths[#paths + 1] = p end
local tokenFile = os.getenv("BENCH_TOKENS")
local threadCount = tonumber(os.getenv("BENCH_THREADS") or "1")
-- Lines already used by earlier chunks of the same scenario (a shopper buys once).
local tokenOffset = tonumber(os.getenv("BENCH_TOKEN_OFFSET") or "0")

local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local tokens = {}
local nextToken = 1
local nextPath = 1
statuses = {}
exhausted = 0

function init(args)
  if tokenFile then
    local i = 0
    for line in io.lines(tokenFile) do
      if i >= tokenOffset and (i - tokenOffset) % threadCount == index then tokens[#tokens + 1] = line end
      i = i + 1
    end
  end
end

function request()
  local path = paths[nextPath]
  nextPath = nextPath % #paths + 1
  local headers = {}
  local body = nil
  if method == "POST" then
    headers["Content-Type"] = "application/json"
    body = "{}"
  end
  if #tokens > 0 then
    local t = tokens[nextToken]
    if nextToken >= #tokens then
      exhausted = 1
      nextToken = 1
    else
      nextToken = nextToken + 1
    end
    headers["Cookie"] = "minishop_session=" .. t
  end
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local all = {}
  local wrapped = 0
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for k, v in pairs(s) do all[k] = (all[k] or 0) + v end
    if thread:get("exhausted") == 1 then wrapped = 1 end
  end
  local parts = {}
  for k, v in pairs(all) do parts[#parts + 1] = string.format('"%d":%d', k, v) end
  local hist = {}
  if summary.requests > 0 then
    -- latency(i) is the i-th distinct latency (µs) and how many requests took it; #latency is how many there are.
    for i = 1, #latency do
      local us, n = latency(i)
      if n and n > 0 then hist[#hist + 1] = string.format("[%d,%d]", us, n) end
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"durationUs":%d,"statuses":{%s},"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"tokensWrapped":%s,"histogram":[%s]}\n',
    summary.requests, summary.duration, table.concat(parts, ","), e.connect, e.read, e.write, e.status, e.timeout,
    wrapped == 1 and "true" or "false", table.concat(hist, ",")))
end
