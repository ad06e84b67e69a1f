-- wrk script: POST /api/v1/handovers with a unique dossier code on every request.
--
-- Arguments (after `--` on the wrk command line):
--   1. the API key (sent as "Authorization: Bearer <key>"), empty for the floor app
--   2. a run tag, unique per wrk run, so codes never repeat across the warm-up and the
--      measured run (a repeated code would be an update answering 200, not an insert)
--
-- done() prints one line "BENCH_RESULT {json}" for bench/handover.py to parse.

local thread_count = 0

-- setup() runs once per thread in the main Lua state: number the threads so that
-- codes stay unique across threads without any shared counter.
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

local headers = { ["Content-Type"] = "application/json" }
local prefix
local sent = 0

-- The fixed part of the body, shaped like the example in API.md. resolved_at lies in the
-- past: the service refuses resolution times in the future.
local body_tail = '"agency_code": "79.BTH", "procedure_code": "1.001612", '
  .. '"procedure_name": "Đăng ký khai sinh", '
  .. '"received_at": "2025-09-10T08:30:00+07:00", "due_at": "2025-09-15T17:00:00+07:00", '
  .. '"resolved_at": "2025-09-15T10:00:00+07:00", '
  .. '"handed_over_at": "2025-09-15T14:00:00+07:00", '
  .. '"supplement_requests": 0, "channel": "counter", '
  .. '"staff": {"receiving": "CB001", "handling": "CB002", "returning": "CB003"}, '
  .. '"counter_code": "Q01", "language": "vi"}'

-- init() runs in each thread's own Lua state, after setup() has set thread_id.
function init(args)
  local key = args[1] or ""
  local run_tag = args[2] or "run"
  if key ~= "" then
    headers["Authorization"] = "Bearer " .. key
  end
  prefix = "BENCH-" .. run_tag .. "-T" .. thread_id .. "-"
end

function request()
  sent = sent + 1
  local body = '{"dossier_code": "' .. prefix .. sent .. '", ' .. body_tail
  return wrk.format("POST", "/api/v1/handovers", headers, body)
end

-- summary.errors.status counts responses with a status of 400 or more (wrk's
-- "Non-2xx or 3xx responses" line); the others are socket errors and timeouts. wrk counts
-- a timeout only for a response that does arrive, late: a request still unanswered when
-- the run ends is in no count (bench/handover.py checks for that).
function done(summary, latency, requests)
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_s": %.3f, "rps": %.1f, '
      .. '"p50_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, '
      .. '"status_errors": %d, "socket_errors": %d, "errors": %d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, socket_errors, e.status + socket_errors
  ))
end
