-- wrk script: each request goes to the next (token, path) pair of the file named by
-- BENCH_PAIRS, one "TOKEN PATH" a line (many users each asking for their own page:
-- the student dashboard, a teacher's class progress). BENCH_FRESH=1 adds
-- `Cache-Control: no-cache`: the API then reads the database instead of its cache (the
-- cost of a miss).
local pairs_file = os.getenv("BENCH_PAIRS")
if pairs_file == nil or pairs_file == "" then error("set BENCH_PAIRS") end
local tokens, paths = {}, {}
for line in io.lines(pairs_file) do
  local token, path = line:match("^(%S+)%s+(%S+)$")
  if token then
    tokens[#tokens + 1] = token
    paths[#paths + 1] = path
  end
end
if #tokens == 0 then error(pairs_file .. " holds no pair") end
local next_pair = 0
local fresh = os.getenv("BENCH_FRESH") == "1"

function setup(thread)
  thread:set("offset", math.random(1, #tokens))
end

request = function()
  next_pair = next_pair + 1
  local i = (next_pair + (offset or 0)) % #tokens + 1
  local headers = { ["Authorization"] = "Bearer " .. tokens[i] }
  if fresh then headers["Cache-Control"] = "no-cache" end
  return wrk.format("GET", paths[i], headers)
end
