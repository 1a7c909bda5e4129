#!/usr/bin/env bash
#
# scripts/bench.sh — HTTP benchmark of the release nexus-api with wrk.
#
#   (a) POST /api/auth/login   (Lua script scripts/bench/login.lua; dominated
#                               by Argon2 password verification)
#   (b) GET  /api/auth/me      with a Bearer token (JWT check + one lookup)
#
# Each runs BENCH_DURATION (30s) with 64 connections on 2 wrk threads and
# prints wrk's latency distribution, then a summary (requests/s, p50, p99)
# with the machine's description. Results are also saved in
# .run/bench/results-<timestamp>.txt.
#
# Everything runs on this machine, over loopback: a private Postgres + Redis
# in .run/bench/ (production-like durability: fsync on, Redis AOF), a fresh
# database bench_<random>, the API on a free port. All of it is stopped and
# dropped at the end, also on failure or Ctrl-C.
# Note: wrk and the API share the machine's cores, so the numbers are a
# comparison between commits on the same machine, not a capacity figure.
#
# Environment (all optional):
#   BENCH_DURATION (30)       seconds per scenario ("30" or "30s")
#   BENCH_CONNECTIONS (64), BENCH_THREADS (2)
#   BENCH_APP_ENV (development)  APP_ENV of the benchmarked API
#   BENCH_RUST_LOG (warn)     log level of the API (per-request logs at
#                             info would measure the log writer)
#   DEMO_PASSWORD (NexusDemo2026!)  seeded password, used to log in
#   DATABASE_URL, REDIS_URL   use these servers instead of private ones
#   NEXUS_SKIP_BUILD=1, NEXUS_API_BIN  use an already built binary
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"

BENCH_DIR=$NEXUS_ROOT/.run/bench
LUA_SCRIPT=$NEXUS_ROOT/scripts/bench/login.lua

BENCH_DURATION=${BENCH_DURATION:-30}
if [[ $BENCH_DURATION =~ ^[0-9]+$ ]]; then
    BENCH_DURATION=${BENCH_DURATION}s
fi
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-64}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_APP_ENV=${BENCH_APP_ENV:-development}
DEMO_PASSWORD=${DEMO_PASSWORD:-'NexusDemo2026!'}
STUDENT_EMAIL=student@nexus-reussite.fr

ensure_packages wrk curl ca-certificates postgresql-client gcc libc6-dev pkg-config

# ---------------------------------------------------------------- build
if [[ ${NEXUS_SKIP_BUILD:-0} != 1 ]]; then
    command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)"
    info "building nexus-api (release)"
    (cd "$NEXUS_ROOT" && cargo build --release -p nexus-api)
fi
API_BIN=${NEXUS_API_BIN:-$(nexus_target_dir)/release/nexus-api}
[[ -x $API_BIN ]] || die "$API_BIN not found"

# ---------------------------------------------------------------- cleanup
BENCH_DB=bench_$(rand_hex 12)
API_PID=""
DB_CREATED=0

# shellcheck disable=SC2317  # invoked through the trap below
cleanup() {
    local rc=$?
    if [[ -n $API_PID ]] && kill -0 "$API_PID" 2>/dev/null; then
        kill -TERM "$API_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$API_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$API_PID" 2>/dev/null || true
        wait "$API_PID" 2>/dev/null || true
    fi
    if [[ $DB_CREATED == 1 ]]; then
        drop_database "$DATABASE_URL" "$BENCH_DB"
    fi
    stop_private_services "$BENCH_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- servers
mkdir -p "$BENCH_DIR"
start_postgres "$BENCH_DIR"
start_redis "$BENCH_DIR"

info "creating database $BENCH_DB"
create_database "$DATABASE_URL" "$BENCH_DB"
DB_CREATED=1

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
api_env=(
    "APP_ENV=$BENCH_APP_ENV"
    "DATABASE_URL=$(url_with_db "$DATABASE_URL" "$BENCH_DB")"
    "REDIS_URL=$REDIS_URL"
    "REDIS_KEY_PREFIX=bench:$(rand_hex 8):"
    "API_PORT=$PORT"
    BIND_ADDR=127.0.0.1
    "JWT_SECRET_KEY=$(rand_hex 64)"
    "MAILBOX_DIR=$BENCH_DIR/mailbox"
    "DEMO_PASSWORD=$DEMO_PASSWORD"
    # wrk hammers from one IP: rate limiting would turn most answers into 429.
    RATE_LIMIT_API_PER_MIN=1000000
    RATE_LIMIT_LOGIN_FAILURES=1000000
    RATE_LIMIT_LOGIN_IP_PER_WINDOW=1000000
    RATE_LIMIT_REGISTER_IP_PER_HOUR=1000000
    "RUST_LOG=${BENCH_RUST_LOG:-warn}"
    LOG_FORMAT=json
)
mkdir -p "$BENCH_DIR/mailbox"

info "migrating and seeding $BENCH_DB"
env "${api_env[@]}" "$API_BIN" migrate
env "${api_env[@]}" "$API_BIN" seed >"$BENCH_DIR/seed.txt"

info "starting release nexus-api on $BASE (log: .run/bench/nexus-api.log)"
env "${api_env[@]}" "$API_BIN" serve >"$BENCH_DIR/nexus-api.log" 2>&1 </dev/null &
API_PID=$!
if ! wait_http "$BASE/ready" 60 "$API_PID"; then
    tail -n 40 "$BENCH_DIR/nexus-api.log" >&2 || true
    die "nexus-api did not become ready"
fi

# Fail early, with the API's answer, if the credentials do not work: a
# benchmark of 401s would be meaningless.
TOKEN=$(login_token "$BASE" "$STUDENT_EMAIL" "$DEMO_PASSWORD") ||
    die "could not log in as $STUDENT_EMAIL"

# ---------------------------------------------------------------- wrk
# run_wrk NAME ARGS... — run wrk, show its output, keep it for the summary.
run_wrk() {
    local name=$1
    shift
    echo
    echo "=== $name: wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION --latency ==="
    # --timeout 10s: at 64 concurrent logins each one queues behind the
    # Argon2 work of the others; wrk's default 2 s would count them as errors.
    wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"$BENCH_DURATION" --timeout 10s \
        --latency "$@" | tee "$BENCH_DIR/wrk-$name.txt"
}

BENCH_EMAIL=$STUDENT_EMAIL BENCH_PASSWORD=$DEMO_PASSWORD \
    run_wrk login -s "$LUA_SCRIPT" "$BASE/api/auth/login"
LOGIN_RSS_MB=$(( $(ps -o rss= -p "$API_PID" 2>/dev/null || echo 0) / 1024 ))
run_wrk me -H "Authorization: Bearer $TOKEN" "$BASE/api/auth/me"

# ---------------------------------------------------------------- courses and quizzes
BENCH_DB_URL=$(url_with_db "$DATABASE_URL" "$BENCH_DB")
sql() { psql -qtAX -v ON_ERROR_STOP=1 "$BENCH_DB_URL" -c "$1"; }

COURSE_ID=$(sql "select min(id) from courses where is_published")
COURSES_LIST="$BASE/api/courses?level=terminale&page=1&limit=10"
COURSES_SEARCH="$BASE/api/courses?q=graphe&page=1&limit=10"
run_wrk courses-demo -H "Authorization: Bearer $TOKEN" "$COURSES_LIST"
run_wrk course-demo -H "Authorization: Bearer $TOKEN" "$BASE/api/courses/$COURSE_ID"
# The same two at low concurrency: latency when the machine is not saturated.
BENCH_CONNECTIONS=8 run_wrk courses-demo-c8 -H "Authorization: Bearer $TOKEN" "$COURSES_LIST"
BENCH_CONNECTIONS=8 run_wrk course-demo-c8 -H "Authorization: Bearer $TOKEN" "$BASE/api/courses/$COURSE_ID"

# Quiz submissions: attempts prepared in progress, each submitted once, with the
# quiz's correct answers (graded on the spot).
STUDENT_ID=$(sql "select id from users where email = '$STUDENT_EMAIL'")
QUIZ_ID=$(sql "select a.id from assessments a join assessment_classes p on p.assessment_id = a.id
               join class_members m on m.class_id = p.class_id where m.student_id = $STUDENT_ID order by a.id limit 1")
BENCH_ANSWERS=$(sql "select questions from assessments where id = $QUIZ_ID" | python3 -c '
import json, sys
answers = {}
for q in json.load(sys.stdin):
    t = q["type"]
    if t in ("single_choice", "multiple_choice", "true_false"): answers[q["id"]] = q["correct"]
    elif t == "short_answer": answers[q["id"]] = q["accepted"][0]
    elif t == "numeric": answers[q["id"]] = q["answer"]
    elif t == "ordering": answers[q["id"]] = [i["id"] for i in q["items"]]
print(json.dumps({"answers": answers}))')
FIRST_ATTEMPT=$(sql "with prepared as (
        insert into assessment_results (assessment_id, student_id, attempt_number, status, max_score)
        select $QUIZ_ID, $STUDENT_ID, g, 'in_progress', (select max_score from assessments where id = $QUIZ_ID)
        from generate_series(1000, 400000) g returning id)
    select min(id) from prepared")
BENCH_FIRST_ATTEMPT=$FIRST_ATTEMPT BENCH_TOKEN=$TOKEN BENCH_ANSWERS=$BENCH_ANSWERS BENCH_THREADS=$BENCH_THREADS \
    run_wrk submit -s "$NEXUS_ROOT/scripts/bench/submit.lua" "$BASE"

# 10,000 published courses (copies of the curriculum under other titles), then the
# same list, search and detail requests again.
info "adding 10,000 courses"
sql "insert into courses (title, description, level, category, content, prerequisites, objectives, estimated_time,
                          is_published, published_at, created_by)
     select c.title || ' — variante ' || g, c.description, c.level, c.category, c.content, c.prerequisites,
            c.objectives, c.estimated_time, true, now(), c.created_by
     from generate_series(1, 10000) g
     join lateral (select * from courses where is_published order by id offset (g % 12) limit 1) c on true;
     analyze courses;"
run_wrk courses-10k -H "Authorization: Bearer $TOKEN" "$COURSES_LIST"
run_wrk search-10k -H "Authorization: Bearer $TOKEN" "$COURSES_SEARCH"
run_wrk course-10k -H "Authorization: Bearer $TOKEN" "$BASE/api/courses/$(sql "select max(id) from courses")"

# summary_line NAME LABEL — one summary row from wrk's saved output.
summary_line() {
    awk -v label="$2" '
        /^Requests\/sec:/ { rps = $2 }
        /^[[:space:]]+50%/ { p50 = $2 }
        /^[[:space:]]+99%/ { p99 = $2 }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        /Socket errors:/ { errs = $0; sub(/.*Socket errors: */, "", errs) }
        END {
            printf "%-30s %12s %10s %10s %8s  %s\n", label, rps, p50, p99,
                (bad == "" ? 0 : bad), (errs == "" ? "none" : errs)
        }' "$BENCH_DIR/wrk-$1.txt"
}

API_RSS_MB=$(( $(ps -o rss= -p "$API_PID" 2>/dev/null || echo 0) / 1024 ))
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$BENCH_DIR/results-$stamp.txt
{
    echo
    echo "==================== nexus-api benchmark ===================="
    echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "commit:    $(git -C "$NEXUS_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "cpu:       $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "nproc:     $(nproc)   (wrk and the API share these cores)"
    echo "api:       release build, APP_ENV=$BENCH_APP_ENV, RUST_LOG=${BENCH_RUST_LOG:-warn}"
    echo "load:      $BENCH_THREADS threads, $BENCH_CONNECTIONS connections, $BENCH_DURATION per scenario"
    echo "api RSS:   ${LOGIN_RSS_MB} MB after the login scenario, ${API_RSS_MB} MB after all"
    echo
    printf "%-30s %12s %10s %10s %8s  %s\n" scenario "requests/s" p50 p99 non-2xx "socket errors"
    summary_line login "POST /api/auth/login"
    summary_line me "GET /api/auth/me"
    summary_line courses-demo "GET /api/courses (demo)"
    summary_line course-demo "GET /api/courses/{id} (demo)"
    summary_line courses-demo-c8 "GET /api/courses (demo, 8 conn)"
    summary_line course-demo-c8 "GET /api/courses/{id} (demo, 8 c)"
    summary_line submit "POST attempts/{id}/submit"
    summary_line courses-10k "GET /api/courses (10k)"
    summary_line search-10k "GET /api/courses?q= (10k)"
    summary_line course-10k "GET /api/courses/{id} (10k)"
} | tee "$results"
echo
info "results saved in ${results#"$NEXUS_ROOT"/}"

for name in login me courses-demo course-demo courses-demo-c8 course-demo-c8 submit courses-10k search-10k course-10k; do
    if grep -q 'Non-2xx or 3xx responses' "$BENCH_DIR/wrk-$name.txt"; then
        warn "$name: some answers were not 2xx (rate limited or failing?): the numbers above are suspect"
    fi
done
