-- wrk script: issue surveys for bench/answers.py (POST /api/v1/handovers) and keep their
-- tokens. Not a measurement: bench/answers.py stops wrk (SIGINT) once it has enough.
--
-- Arguments (after `--` on the wrk command line):
--   1. the issuer key
--   2. the plan file: lines "agency_code|YYYY-MM-DD|staff_code", cycled through; each
--      thread starts at its own place in it
--   3. the output prefix: thread n appends the token of every 201 to "<prefix>-T<n>.txt"
--   4. a tag, unique per issuing run, for the dossier codes

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local headers = { ["Content-Type"] = "application/json" }
local plan = {}
local position
local sent = 0
local prefix
local out

function init(args)
  headers["Authorization"] = "Bearer " .. args[1]
  local file = assert(io.open(args[2], "r"))
  for line in file:lines() do
    local agency, day, staff = line:match("^([^|]+)|([^|]+)|([^|]+)$")
    if agency then
      table.insert(plan, { agency, day, staff })
    end
  end
  file:close()
  position = math.floor(#plan * (thread_id - 1) / 2)
  prefix = "BENCH-" .. args[4] .. "-T" .. thread_id .. "-"
  out = assert(io.open(args[3] .. "-T" .. thread_id .. ".txt", "a"))
  out:setvbuf("line") -- wrk is stopped by a signal: nothing may wait in a buffer
end

function request()
  sent = sent + 1
  position = position % #plan + 1
  local agency, day, staff = plan[position][1], plan[position][2], plan[position][3]
  local body = '{"dossier_code": "' .. prefix .. sent .. '", "agency_code": "' .. agency
    .. '", "procedure_code": "1.001612", "procedure_name": "Đăng ký khai sinh", '
    .. '"received_at": "' .. day .. 'T08:30:00+07:00", '
    .. '"due_at": "' .. day .. 'T17:00:00+07:00", '
    .. '"resolved_at": "' .. day .. 'T10:00:00+07:00", '
    .. '"handed_over_at": "' .. day .. 'T14:00:00+07:00", '
    .. '"supplement_requests": 0, "channel": "counter", '
    .. '"staff": {"receiving": "' .. staff .. '", "handling": "' .. staff
    .. '", "returning": "' .. staff .. '"}, "counter_code": "Q01", "language": "vi"}'
  return wrk.format("POST", "/api/v1/handovers", headers, body)
end

function response(status, headers, body)
  if status == 201 and body then
    local token = body:match('"survey_url"%s*:%s*"[^"]*/s/([^"/]+)"')
    if token then
      out:write(token, "\n")
    end
  end
end
