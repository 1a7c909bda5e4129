-- POST /api/attempts/{id}/submit over a range of attempts prepared in progress by
-- scripts/bench.sh: each request submits a different attempt (a submitted attempt
-- cannot be submitted again). Threads interleave: thread t takes FIRST + t + k*THREADS.
local thread_count = 0

function setup(thread)
    thread:set("tid", thread_count)
    thread_count = thread_count + 1
end

function init(args)
    first = tonumber(os.getenv("BENCH_FIRST_ATTEMPT"))
    stride = tonumber(os.getenv("BENCH_THREADS") or "2")
    token = os.getenv("BENCH_TOKEN")
    answers = os.getenv("BENCH_ANSWERS") or '{"answers":{}}'
    n = 0
end

function request()
    local id = first + tid + n * stride
    n = n + 1
    return wrk.format("POST", "/api/attempts/" .. id .. "/submit",
        { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, answers)
end
