-- wrk script for scripts/bench.sh: every request is a JSON login of the
-- seeded student account, POST /api/auth/login.
--
--   BENCH_EMAIL     (default student@nexus-reussite.fr)
--   BENCH_PASSWORD  (default NexusDemo2026!, the DEMO_PASSWORD bench.sh seeds with)
--
-- The body is built once: wrk then sends the same request on every
-- connection, so the Lua side costs nothing per request.

local function json_string(s)
  -- Enough JSON escaping for e-mail addresses and passwords.
  s = s:gsub('\\', '\\\\'):gsub('"', '\\"')
  return '"' .. s .. '"'
end

local email = os.getenv("BENCH_EMAIL") or "student@nexus-reussite.fr"
local password = os.getenv("BENCH_PASSWORD") or "NexusDemo2026!"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.body = "{\"email\":" .. json_string(email) .. ",\"password\":" .. json_string(password) .. "}"
