-- wrk script: answer pre-issued surveys, each with a token of its own.
--
-- Arguments (after `--` on the wrk command line):
--   1. mode: "json" (POST /api/v1/responses) or "form" (the phone's GET /s/{token}, then
--      POST /s/{token} with the form fields, sent as a pair on one connection)
--   2. the token files' prefix: thread n reads "<prefix>-T<n>.txt", one token a line
--   3. a run tag, for the client_submission_id of JSON answers
--   4. wrk's -c, the connections (done() needs it to undo wrk's latency correction)
--
-- Every request answers the next token of its thread, so no survey is answered twice. A
-- thread that runs out starts its list again (those answers get 409 and count as errors)
-- and says so in "exhausted".
--
-- The form mode returns the GET, the POST and the thanks of one token pipelined: wrk sends
-- all on one connection and waits for every answer, so the POST never overtakes its GET
-- and the latency recorded is that of the whole answer (page, form, thanks). wrk counts
-- each response as a request: answers = requests / requests_per_answer, which done()
-- prints (three for the form, one for JSON), so that the Python side never guesses it.
--
-- done() prints one line "BENCH_RESULT {json}" for bench/answers.py to parse.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

mode = "json" -- global: done() reads it back through thread:get()
local tokens = {}
local next_index = 0
local tag
exhausted = 0 -- global: read back from done() through thread:get()
answered = 0 -- form mode: thank-you pages received
form_pages = 0 -- form mode: survey forms received

-- The answers cycle through a fixed mix: one in five unsatisfied, which also moves the
-- counters of the dossier's resolution day (not only today's).
local overall = { "very_satisfied", "satisfied", "satisfied", "very_satisfied", "unsatisfied" }
local attitude = { "good", "good", "normal", "good", "poor" }
local timeliness = { "on_time", "on_time", "late", "on_time", "on_time" }
local supplements = { "none", "none", "once", "none", "twice_or_more" }

-- The requests of one answer, as request() builds them.
local REQUESTS_PER_ANSWER = { form = 3, json = 1 }

local json_headers = { ["Content-Type"] = "application/json" }
local form_headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local function read_tokens(path)
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    if line ~= "" then
      table.insert(tokens, line)
    end
  end
  file:close()
end

function init(args)
  mode = args[1] or "json"
  tag = args[3] or "run"
  connections = args[4] -- global: done() reads it back (wrk's E is per connection)
  read_tokens(args[2] .. "-T" .. thread_id .. ".txt")
  if mode == "form" then
    -- Only the form mode reads the bodies (wrk parses them only when response() exists).
    response = function(status, headers, body)
      if status == 200 and body then
        if body:find('class="done"', 1, true) then
          answered = answered + 1
        elseif body:find('<form method="post"', 1, true) then
          form_pages = form_pages + 1
        end
      end
    end
  end
end

function request()
  next_index = next_index + 1
  if next_index > #tokens then
    next_index = 1
    exhausted = exhausted + 1
  end
  local token = tokens[next_index]
  local k = (next_index - 1) % 5 + 1
  if mode == "form" then
    local path = "/s/" .. token
    local body = "lang=vi&timeliness=" .. timeliness[k]
      .. "&supplement_requests=" .. supplements[k]
      .. "&staff_attitude=" .. attitude[k]
      .. "&overall=" .. overall[k]
      .. "&complaint=&wants_reply=no&contact=&website="
    -- A browser's answer: the page, the form posted (303), the thank-you it is sent to.
    return wrk.format("GET", path) .. wrk.format("POST", path, form_headers, body)
      .. wrk.format("GET", path .. "/thanks?lang=vi")
  end
  local body = '{"token": "' .. token .. '", "answers": {"timeliness": "' .. timeliness[k]
    .. '", "supplement_requests": "' .. supplements[k]
    .. '", "staff_attitude": "' .. attitude[k]
    .. '", "overall": "' .. overall[k]
    .. '", "complaint": ""}, "source": "phone", "client_submission_id": "bench-'
    .. tag .. "-T" .. thread_id .. "-" .. next_index .. '"}'
  return wrk.format("POST", "/api/v1/responses", json_headers, body)
end

-- Percentiles of the answers' latencies, in wrk's own definition (as handover.lua reads
-- them with latency:percentile), with one answer as the unit.
--
-- wrk records one latency per answer, then "corrects" its histogram for coordinated
-- omission (stats_correct): for every latency n of at least twice the interval E that
-- each connection took per request, it adds made-up latencies n - E, n - 2E, ... while
-- they stay above E. E is per request, and a form answer is three: its made-up latencies
-- fell below the fastest one seen, where latency:percentile() does not look, and its p99
-- came out 0.0. Reading the histogram by index does not work either: Debian's wrk 4.1.0
-- gives the index back (latency[i] is the string "i"), so the percentiles read that way
-- until 2026-12-07 were functions of the maximum alone (p50 = 0.71 x max, p99 = 0.995 x
-- max). So the histogram is read where wrk keeps it, through LuaJIT's FFI (the layout of
-- wrk's stats.h, checked against latency.min and latency.max), the recorded latencies are
-- recovered (below E nothing was added; above it, recorded(m) = histogram(m) -
-- histogram(m + E)), their count checked against the answers wrk completed, and wrk's
-- correction is made again with the interval per answer.
local ffi = require("ffi")

local function histogram_of(latency)
  local words = ffi.cast("uint64_t **", latency)[0] -- count, limit, min, max, data[limit]
  local min, max = tonumber(words[2]), tonumber(words[3])
  assert(min == latency.min and max == latency.max, "wrk's stats are not laid out as stats.h")
  local counts = {}
  for n = 0, max do
    local c = tonumber(words[4 + n])
    if c ~= 0 then
      counts[n] = c
    end
  end
  return counts, max
end

-- What wrk's main() takes for E: the run's microseconds over the requests per connection.
local function interval(duration, completed, connections)
  local per_connection = math.floor(completed / connections)
  if per_connection == 0 then
    return nil
  end
  return math.floor(duration / per_connection)
end

local function recorded(counts, max, e)
  local raw = {}
  for n = 0, max do
    local c = counts[n] or 0
    if e ~= nil and n > e then
      c = c - (counts[n + e] or 0)
    end
    if c ~= 0 then
      raw[n] = c
    end
  end
  return raw
end

local function corrected(raw, max, e)
  local out = {}
  for n, c in pairs(raw) do
    out[n] = (out[n] or 0) + c
  end
  if e ~= nil then
    for n = 2 * e, max do
      local c = raw[n]
      if c then
        local m = n - e
        while m > e do
          out[m] = (out[m] or 0) + c
          m = m - e
        end
      end
    end
  end
  return out
end

local function percentile(counts, max, p)
  local total = 0
  for n = 0, max do
    total = total + (counts[n] or 0)
  end
  local rank = math.max(1, math.ceil(total * p / 100))
  local seen = 0
  for n = 0, max do
    seen = seen + (counts[n] or 0)
    if seen >= rank then
      return n
    end
  end
  return max
end

local function count_of(counts)
  local total = 0
  for _, c in pairs(counts) do
    total = total + c
  end
  return total
end

-- summary.errors.status counts responses with a status of 400 or more; the others are
-- socket errors and timeouts (a request still unanswered when the run ends is in no count).
function done(summary, latency, requests)
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  local ran_out, thanks, forms = 0, 0, 0
  for _, thread in ipairs(threads) do
    ran_out = ran_out + (thread:get("exhausted") or 0)
    thanks = thanks + (thread:get("answered") or 0)
    forms = forms + (thread:get("form_pages") or 0)
  end
  local per_answer = REQUESTS_PER_ANSWER[threads[1]:get("mode")]
  local connections = tonumber(threads[1]:get("connections"))
  local counts, max = histogram_of(latency)
  local raw = recorded(counts, max, interval(summary.duration, summary.requests, connections))
  -- One latency per answer, each answer `per_answer` responses: else E was not wrk's.
  local answers = math.floor(summary.requests / per_answer)
  local latencies = count_of(raw)
  local by_answer = corrected(raw, max, interval(summary.duration, answers, connections))
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_s": %.3f, "rps": %.1f, '
      .. '"p50_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, '
      .. '"status_errors": %d, "socket_errors": %d, "errors": %d, '
      .. '"exhausted": %d, "thank_you_pages": %d, "form_pages": %d, '
      .. '"requests_per_answer": %d, "latencies": %d, "answers_completed": %d}\n',
    summary.requests, seconds, summary.requests / seconds,
    percentile(by_answer, max, 50) / 1000, percentile(by_answer, max, 99) / 1000,
    latency.max / 1000, e.status, socket_errors, e.status + socket_errors, ran_out, thanks,
    forms, per_answer, latencies, answers
  ))
end
