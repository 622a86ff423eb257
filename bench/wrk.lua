-- wrk script for the MiniShop bench (see scripts/bench.ts).
--   env BENCH_METHOD  GET | POST (default GET)
--   env BENCH_PATHS   one path, or several separated by ',' (round robin per request)
--   env BENCH_TOKENS  file with one shopper per line: "<session token> <client IP>"; each request takes the next
--                     one of its thread, so every purchase is by a different shopper (thread i uses lines i, i+T, …)
--   env BENCH_THREADS the -t value, to split the tokens
--   env BENCH_TOKEN_OFFSET skip this many lines (used by the scenario's earlier chunks)
--   env BENCH_SHAPE   "client" (default for POST): what the shipped web app sends on a Buy now click —
--                     body {"quantity":1}, a fresh Idempotency-Key, Origin, and the shopper's CF-Connecting-IP
--                     (the address Cloudflare would put there), so the gateway parses the body, checks the key and
--                     asks both limiters; "bare": body {} and nothing else (the gateway's fast path, one limiter)
--   env BENCH_ORIGIN  the Origin header for the client shape (the gateway's own origin)
--   env BENCH_KEY_PREFIX  makes the Idempotency-Keys of this chunk unique across chunks
--   env BENCH_IDS     file prefix: every 202's "orderId userId" is appended to <prefix><thread index>, so the bench
--                     can match each one to its PostgreSQL row by order id
-- done() prints one JSON line prefixed "BENCH_RESULT " with status counts and the full latency histogram
-- (microseconds → count), so chunks of a scenario can be merged exactly.
local method = os.getenv("BENCH_METHOD") or "GET"
local paths = {}
for p in string.gmatch(os.getenv("BENCH_PATHS") or "/healthz", "[^,]+") do paths[#paths + 1] = p end
local tokenFile = os.getenv("BENCH_TOKENS")
local threadCount = tonumber(os.getenv("BENCH_THREADS") or "1")
-- Lines already used by earlier chunks of the same scenario (a shopper buys once).
local tokenOffset = tonumber(os.getenv("BENCH_TOKEN_OFFSET") or "0")
local shape = os.getenv("BENCH_SHAPE") or "client"
local origin = os.getenv("BENCH_ORIGIN")
local keyPrefix = os.getenv("BENCH_KEY_PREFIX") or "k"
local idsPrefix = os.getenv("BENCH_IDS")

local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local tokens = {}
local ips = {}
local nextToken = 1
local nextPath = 1
local sent = 0
local idsFile = nil
statuses = {}
exhausted = 0

function init(args)
  if tokenFile then
    local i = 0
    for line in io.lines(tokenFile) do
      if i >= tokenOffset and (i - tokenOffset) % threadCount == index then
        local token, ip = string.match(line, "^(%S+)%s*(%S*)$")
        tokens[#tokens + 1] = token
        ips[#ips + 1] = ip
      end
      i = i + 1
    end
  end
  if idsPrefix then
    idsFile = io.open(idsPrefix .. index, "w")
    idsFile:setvbuf("line")
  end
end

function request()
  local path = paths[nextPath]
  nextPath = nextPath % #paths + 1
  local headers = {}
  local body = nil
  local t = nil
  local ip = nil
  if #tokens > 0 then
    t = tokens[nextToken]
    ip = ips[nextToken]
    if nextToken >= #tokens then
      exhausted = 1
      nextToken = 1
    else
      nextToken = nextToken + 1
    end
    headers["Cookie"] = "minishop_session=" .. t
  end
  if method == "POST" then
    headers["Content-Type"] = "application/json"
    if shape == "bare" then
      body = "{}"
    else
      body = '{"quantity":1}'
      sent = sent + 1
      headers["Idempotency-Key"] = keyPrefix .. "-" .. index .. "-" .. sent
      if origin then headers["Origin"] = origin end
      if ip and ip ~= "" then headers["CF-Connecting-IP"] = ip end
    end
  end
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 202 and idsFile then
    local id = string.match(body, '"id":"([^"]+)"')
    local user = string.match(body, '"userId":"([^"]+)"')
    idsFile:write((id or "?") .. " " .. (user or "?") .. "\n")
  end
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
