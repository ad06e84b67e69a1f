-- wrk script: answer pre-issued surveys, each with a token of its own.
--
-- Arguments (after `--` on the wrk command line):
--   1. mode: "json" (POST /api/v1/responses) or "form" (the phone's GET /s/{token}, then
--      POST /s/{token} with the form fields, sent as a pair on one connection)
--   2. the token files' prefix: thread n reads "<prefix>-T<n>.txt", one token a line
--   3. a run tag, for the client_submission_id of JSON answers
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

-- A percentile of wrk's latency histogram (microseconds), read from all of it. wrk's own
-- latency:percentile() walks from the fastest latency seen, but wrk adds the latencies its
-- coordinated-omission correction makes up (stats_correct) below that too when an answer
-- is several requests (its interval is per request): the form's p99 came out 0.0 and its
-- p50 above its mean. latency[i] is the count of latencies of i - 1 microseconds.
local function percentile(latency, p)
  local top = latency.max + 1
  local total = 0
  for i = 1, top do
    total = total + latency[i]
  end
  local rank = math.max(1, math.ceil(total * p / 100))
  local seen = 0
  for i = 1, top do
    seen = seen + latency[i]
    if seen >= rank then
      return i - 1
    end
  end
  return latency.max
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
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_s": %.3f, "rps": %.1f, '
      .. '"p50_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, '
      .. '"status_errors": %d, "socket_errors": %d, "errors": %d, '
      .. '"exhausted": %d, "thank_you_pages": %d, "form_pages": %d, '
      .. '"requests_per_answer": %d}\n',
    summary.requests, seconds, summary.requests / seconds,
    percentile(latency, 50) / 1000, percentile(latency, 99) / 1000, latency.max / 1000,
    e.status, socket_errors, e.status + socket_errors, ran_out, thanks, forms,
    REQUESTS_PER_ANSWER[threads[1]:get("mode")]
  ))
end
