-- Shared by the bench's wrk scripts (loaded with dofile by each of them).
-- setup() numbers the threads; done() prints one machine-readable line that
-- bench/run.sh parses:
--   BENCH requests=.. duration_s=.. rps=.. connect_errors=.. read_errors=..
--         write_errors=.. timeouts=.. non2xx3xx=.. p50_ms=.. p99_ms=.. max_ms=..
--         statuses=200:123,503:4   (or "-" when the script counts no statuses)
-- A script that wants statuses counted defines response() with count_status();
-- the others leave response() undefined so wrk does not run Lua per request.

local M = {}
local threads = {}

function M.setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

-- Per-thread tally, read back by done() through thread:get.
statuses = {}

function M.count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function M.done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    if counted then
      for code, n in pairs(counted) do
        totals[code] = (totals[code] or 0) + n
      end
    end
  end
  local codes = {}
  for code in pairs(totals) do
    table.insert(codes, code)
  end
  table.sort(codes)
  local parts = {}
  for _, code in ipairs(codes) do
    table.insert(parts, code .. ":" .. totals[code])
  end
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_s=%.3f rps=%.3f connect_errors=%d read_errors=%d write_errors=%d "
      .. "timeouts=%d non2xx3xx=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f statuses=%s\n",
    summary.requests, seconds, summary.requests / seconds,
    errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    #parts > 0 and table.concat(parts, ",") or "-"))
end

return M
