-- wrk script for bench/http_bench.py: one script for every endpoint, so that the bare-Flask
-- reference pays the same client-side cost (a response() callback) as the app's endpoints.
--
-- Environment (set by http_bench.py):
--   BENCH_MODE      get | autosave | ballot
--   BENCH_COOKIE    Cookie header (session), optional
--   BENCH_CSRF      X-CSRFToken header, for autosave and ballot
--   BENCH_NOMINEES  comma-separated nominee slugs (autosave: one per thread; ballot: cycled)
--   BENCH_PATH_FMT  autosave: path with %s for the nominee slug
--   BENCH_SCORES    autosave: the scores object as JSON text
--   BENCH_CODES     ballot: file of one-time codes, one a line; thread i takes every n-th line
--   BENCH_THREADS   the number of wrk threads (n above)
--
-- Run with as many threads as connections, so that each thread has one connection and the
-- autosave of a thread always sends the version its previous response returned (no 409s).
-- done() prints one line "BENCH_JSON {...}" with the figures.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

-- `statuses` is global: done() reads it from each thread with thread:get.
local mode, headers, nominees, codes, next_code, version, saves, nominee

local function split(text)
   local out = {}
   for item in string.gmatch(text or "", "[^,]+") do
      table.insert(out, item)
   end
   return out
end

function init(args)
   mode = os.getenv("BENCH_MODE") or "get"
   statuses = {}
   headers = {}
   local cookie = os.getenv("BENCH_COOKIE")
   if cookie and cookie ~= "" then
      headers["Cookie"] = cookie
   end
   local csrf = os.getenv("BENCH_CSRF")
   if csrf and csrf ~= "" then
      headers["X-CSRFToken"] = csrf
   end
   nominees = split(os.getenv("BENCH_NOMINEES"))
   local n = tonumber(os.getenv("BENCH_THREADS") or "1")
   if mode == "autosave" then
      headers["Content-Type"] = "application/json"
      nominee = nominees[(id % #nominees) + 1]
      version = nil -- unknown until the first answer: the first request reads it
      saves = 0
   elseif mode == "ballot" then
      headers["Content-Type"] = "application/json"
      codes = {}
      local i = 0
      for line in io.lines(os.getenv("BENCH_CODES")) do
         if i % n == id then
            table.insert(codes, line)
         end
         i = i + 1
      end
      next_code = 1
   end
end

function request()
   if mode == "autosave" then
      local path = string.format(os.getenv("BENCH_PATH_FMT"), nominee)
      if version == nil then
         -- An earlier run (the warm-up) has moved the version on: read it, as the page does.
         return wrk.format("GET", path, headers)
      end
      saves = saves + 1
      local body = '{"scores":' .. os.getenv("BENCH_SCORES")
         .. ',"comment":"autosave ' .. id .. "-" .. saves
         .. '","submitted":false,"version":' .. version .. "}"
      return wrk.format("PUT", path, headers, body)
   elseif mode == "ballot" then
      -- Out of codes: the last one is sent again and refused (counted as non-2xx).
      local code = codes[math.min(next_code, #codes)]
      next_code = next_code + 1
      local choice = nominees[(next_code % #nominees) + 1]
      local body = '{"code":"' .. code .. '","nominee":"' .. choice .. '"}'
      return wrk.format("POST", nil, headers, body)
   end
   return wrk.format("GET", nil, headers)
end

function response(status, response_headers, body)
   if mode == "autosave" and version == nil then
      -- The answer to the first GET is not a save: not counted.
      version = tonumber(string.match(body or "", '"version"%s*:%s*(%d+)') or "0")
      return
   end
   statuses[status] = (statuses[status] or 0) + 1
   if mode == "autosave" and body then
      -- A 200 carries the new version; a 409 carries the current one under "current".
      local v = string.match(body, '"version"%s*:%s*(%d+)')
      if v then
         version = tonumber(v)
      end
   end
end

function done(summary, latency, requests)
   local merged = {}
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses")
      for status, count in pairs(counts or {}) do
         merged[status] = (merged[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(merged) do
      table.insert(parts, string.format('"%d":%d', status, count))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
         .. '"max_us":%d,"statuses":{%s},"socket_errors":{"connect":%d,"read":%d,'
         .. '"write":%d,"timeout":%d}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, table.concat(parts, ","), e.connect, e.read,
      e.write, e.timeout
   ))
end
