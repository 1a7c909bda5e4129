#!/usr/bin/env bash
#
# scripts/bench.sh — HTTP benchmark of the release nexus-api with wrk.
#
#   (a) POST /api/auth/login   (Lua script scripts/bench/login.lua; dominated
#                               by Argon2 password verification)
#   (b) GET  /api/auth/me      with a Bearer token (JWT check + one lookup)
#   (c) course list/detail on the demo data, quiz submissions
#   (d) a school (scripts/bench/school.sql: 10,000 courses, 1,000 students, 40 classes,
#       a year of attempts): the catalogue (list, search, detail), the student dashboard
#       (200 students in turn) and a class's progress (its 40 teachers in turn); the
#       list, the search, the detail and the two pages also with `Cache-Control: no-cache` (read
#       from the database every time, as on a miss of the API's caches), and the two pages
#       again while pgbench commits BENCH_WRITES progress updates a second (the caches'
#       hits and misses during the run printed beside wrk's figures)
#   (e) when ../shared/peers/ exists (the seed's Flask + SQLAlchemy + Gunicorn stack),
#       the same catalogue requests against it at 10,000 courses, each scenario run
#       right after ours on the same machine and Postgres, and the ratio printed
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
#   BENCH_BASIC (1)           0: skip (a)-(c), run the school and the peer only
#   BENCH_WRITES (100)        progress updates a second committed during the "writes" runs
#   BENCH_PEERS (auto)        0: do not run the seed stack even if ../shared/peers exists
#   BENCH_ROUNDS (1)          catalogue rounds (ours, peer) — alternated
#   BENCH_PERF (0)            1: sample every process with perf during each scenario and
#                             print the CPU share per process and nexus-api's hottest symbols
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
if [[ ${BENCH_PERF:-0} == 1 ]]; then
    command -v perf >/dev/null 2>&1 || ensure_packages linux-perf
fi

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
    if [[ -n ${PEER_PID:-} ]] && kill -0 "$PEER_PID" 2>/dev/null; then
        kill -TERM "$PEER_PID" 2>/dev/null || true
        wait "$PEER_PID" 2>/dev/null || true
    fi
    if [[ -n ${PEER_DB:-} ]]; then
        drop_database "$DATABASE_URL" "$PEER_DB"
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
    local perf_pid=""
    if [[ ${BENCH_PERF:-0} == 1 ]]; then
        # Where the CPU goes during the scenario: every process, sampled (the first
        # and last seconds, ramp-up and drain, are left out).
        perf record -q -a -g -F 499 -o "$BENCH_DIR/perf-$name.data" -- sleep $(( ${BENCH_DURATION%s} - 2 )) \
            >/dev/null 2>&1 &
        perf_pid=$!
    fi
    wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"$BENCH_DURATION" --timeout 10s \
        --latency "$@" | tee "$BENCH_DIR/wrk-$name.txt"
    if [[ -n $perf_pid ]]; then
        wait "$perf_pid" || true
        echo "--- CPU by thread name during $name (perf, all cores; nexus-api's workers are tokio-runtime-w)"
        perf report -q -i "$BENCH_DIR/perf-$name.data" --no-children --sort comm 2>/dev/null |
            awk 'NF && $1 ~ /%$/ {$1 = $1; print "    " $0}' | head -n 6 || true
        echo "--- hottest nexus-api symbols during $name"
        perf report -q -i "$BENCH_DIR/perf-$name.data" --no-children --pid "$API_PID" --sort dso,symbol 2>/dev/null |
            awk 'NF && $1 ~ /%$/ {$1 = $1; sub(/( -)+$/, ""); print "    " substr($0, 1, 150)}' | head -n 15 || true
    fi
}

BENCH_DB_URL=$(url_with_db "$DATABASE_URL" "$BENCH_DB")
sql() { psql -qtAX -v ON_ERROR_STOP=1 "$BENCH_DB_URL" -c "$1"; }
COURSES_LIST="$BASE/api/courses?level=terminale&page=1&limit=10"
COURSES_SEARCH="$BASE/api/courses?q=graphe&page=1&limit=10"
LOGIN_RSS_MB=0
SCENARIOS=()
if [[ ${BENCH_BASIC:-1} == 1 ]]; then
    BENCH_EMAIL=$STUDENT_EMAIL BENCH_PASSWORD=$DEMO_PASSWORD \
        run_wrk login -s "$LUA_SCRIPT" "$BASE/api/auth/login"
    LOGIN_RSS_MB=$(( $(ps -o rss= -p "$API_PID" 2>/dev/null || echo 0) / 1024 ))
    run_wrk me -H "Authorization: Bearer $TOKEN" "$BASE/api/auth/me"

    # courses and quizzes, demo data
    COURSE_ID=$(sql "select min(id) from courses where is_published")
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
    SCENARIOS+=(login me courses-demo course-demo courses-demo-c8 course-demo-c8 submit)
fi

# ---------------------------------------------------------------- a school
info "generating a school (scripts/bench/school.sql: 10,000 courses, 1,000 students, a year of attempts)"
psql -qX -v ON_ERROR_STOP=1 "$BENCH_DB_URL" -f "$NEXUS_ROOT/scripts/bench/school.sql" >/dev/null
COURSE_10K=$(sql "select max(id) from courses where is_published")

# 200 students and the 40 teachers sign in (argon2: a few seconds); each pair file line
# is one user's token and the page they ask for.
info "signing in 200 students and 40 teachers"
: >"$BENCH_DIR/students.pairs"
for n in $(seq 1 5 1000); do
    t=$(login_token "$BASE" "bench-student-$n@school.test" "$DEMO_PASSWORD") || die "login bench-student-$n"
    echo "$t /api/dashboard/student" >>"$BENCH_DIR/students.pairs"
done
: >"$BENCH_DIR/teachers.pairs"
while read -r n class_id; do
    t=$(login_token "$BASE" "bench-teacher-$n@school.test" "$DEMO_PASSWORD") || die "login bench-teacher-$n"
    echo "$t /api/classes/$class_id/progress" >>"$BENCH_DIR/teachers.pairs"
done < <(sql "select split_part(split_part(u.email, '@', 1), '-', 3), c.id from classes c join users u on u.id = c.teacher_id
              where u.email like 'bench-teacher-%@school.test' order by c.id" | tr '|' ' ')

# ---------------------------------------------------------------- the seed's stack
PEERS_SRC=$(cd "$NEXUS_ROOT/.." && pwd)/shared/peers
PEER_PID=""
PEER_BASE=""
if [[ ${BENCH_PEERS:-auto} != 0 && -d $PEERS_SRC ]]; then
    info "seed stack found in $PEERS_SRC: preparing it (venv in .run/peers-venv)"
    rm -rf "$BENCH_DIR/peers" && cp -r "$PEERS_SRC" "$BENCH_DIR/peers"
    PEER_VENV=$NEXUS_ROOT/.run/peers-venv
    if [[ ! -x $PEER_VENV/bin/gunicorn ]]; then
        python3 -m venv "$PEER_VENV"
        "$PEER_VENV/bin/pip" install -q -r "$BENCH_DIR/peers/requirements.txt"
    fi
    PEER_DB=peer_$(rand_hex 8)
    create_database "$DATABASE_URL" "$PEER_DB"
    PEER_DB_URL=$(url_with_db "$DATABASE_URL" "$PEER_DB")
    # SQLAlchemy 2 knows the scheme `postgresql://` only.
    PEER_DB_URL=postgresql://${PEER_DB_URL#*://}
    DATABASE_URL=$PEER_DB_URL "$PEER_VENV/bin/python" "$BENCH_DIR/peers/flask_api/seed.py" --reset --courses 10000 \
        >"$BENCH_DIR/peer-seed.txt"
    PEER_PORT=$(free_port)
    PEER_BASE=http://127.0.0.1:$PEER_PORT
    PORT=$PEER_PORT DATABASE_URL=$PEER_DB_URL VENV=$PEER_VENV \
        "$BENCH_DIR/peers/flask_api/run.sh" >"$BENCH_DIR/peer.log" 2>&1 </dev/null &
    PEER_PID=$!
    wait_http "$PEER_BASE/health" 60 "$PEER_PID" || die "the seed stack did not start (.run/bench/peer.log)"
    PEER_TOKEN=$(curl -sf -X POST -H 'Content-Type: application/json' \
        -d '{"email":"student@nexus.test","password":"Password123!"}' "$PEER_BASE/api/auth/login" |
        python3 -c 'import sys, json; print(json.load(sys.stdin)["accessToken"])') || die "peer login"
    PEER_COURSE=$(psql -qtAX "$PEER_DB_URL" -c "select max(id) from courses where is_published")
fi

# ---------------------------------------------------------------- catalogue, side by side
for round in $(seq 1 "${BENCH_ROUNDS:-1}"); do
    run_wrk "courses-10k-$round" -H "Authorization: Bearer $TOKEN" "$COURSES_LIST"
    if [[ -n $PEER_BASE ]]; then
        TOKEN=$PEER_TOKEN run_wrk "peer-courses-10k-$round" -s "$BENCH_DIR/peers/flask_api/wrk_auth.lua" \
            "$PEER_BASE/api/courses?level=terminale&page=1&limit=10"
    fi
    run_wrk "course-10k-$round" -H "Authorization: Bearer $TOKEN" "$BASE/api/courses/$COURSE_10K"
    if [[ -n $PEER_BASE ]]; then
        TOKEN=$PEER_TOKEN run_wrk "peer-course-10k-$round" -s "$BENCH_DIR/peers/flask_api/wrk_auth.lua" \
            "$PEER_BASE/api/courses/$PEER_COURSE"
    fi
done
PEER_RSS_MB=0
if [[ -n $PEER_PID ]]; then
    # The master and its workers.
    PEER_RSS_MB=$(( $(ps -o rss= --ppid "$PEER_PID" -p "$PEER_PID" | awk '{s += $1} END {print s + 0}') / 1024 ))
    kill -TERM "$PEER_PID" 2>/dev/null || true
    wait "$PEER_PID" 2>/dev/null || true
    PEER_PID=""
fi
run_wrk search-10k -H "Authorization: Bearer $TOKEN" "$COURSES_SEARCH"
# The list and the detail read from the database on every request (`Cache-Control:
# no-cache`): what a miss costs.
run_wrk courses-10k-fresh -H "Authorization: Bearer $TOKEN" -H "Cache-Control: no-cache" "$COURSES_LIST"
run_wrk course-10k-fresh -H "Authorization: Bearer $TOKEN" -H "Cache-Control: no-cache" "$BASE/api/courses/$COURSE_10K"
run_wrk search-10k-fresh -H "Authorization: Bearer $TOKEN" -H "Cache-Control: no-cache" "$COURSES_SEARCH"
BENCH_CONNECTIONS=8 run_wrk courses-10k-c8 -H "Authorization: Bearer $TOKEN" "$COURSES_LIST"
BENCH_CONNECTIONS=8 run_wrk course-10k-c8 -H "Authorization: Bearer $TOKEN" "$BASE/api/courses/$COURSE_10K"

# ---------------------------------------------------------------- dashboards
# Each user's page once first (not measured): the runs below measure pages seen before,
# the API's cache warm; the `no-cache` runs further down measure every request a miss
# (a first visit of the day, or the first after a change).
for pairs in students teachers; do
    while read -r token path; do
        curl -sf -o /dev/null -H "Authorization: Bearer $token" "$BASE$path" || die "warm-up $path"
    done <"$BENCH_DIR/$pairs.pairs"
done
BENCH_PAIRS=$BENCH_DIR/students.pairs run_wrk dashboard-student -s "$NEXUS_ROOT/scripts/bench/rotate.lua" "$BASE"
BENCH_PAIRS=$BENCH_DIR/teachers.pairs run_wrk class-progress -s "$NEXUS_ROOT/scripts/bench/rotate.lua" "$BASE"
BENCH_CONNECTIONS=8 BENCH_PAIRS=$BENCH_DIR/students.pairs \
    run_wrk dashboard-student-c8 -s "$NEXUS_ROOT/scripts/bench/rotate.lua" "$BASE"
BENCH_CONNECTIONS=8 BENCH_PAIRS=$BENCH_DIR/teachers.pairs \
    run_wrk class-progress-c8 -s "$NEXUS_ROOT/scripts/bench/rotate.lua" "$BASE"
# The same pages read from the database on every request (`Cache-Control: no-cache`):
# what a first visit, or the visit after a change, costs.
BENCH_FRESH=1 BENCH_PAIRS=$BENCH_DIR/students.pairs \
    run_wrk dashboard-student-fresh -s "$NEXUS_ROOT/scripts/bench/rotate.lua" "$BASE"
BENCH_FRESH=1 BENCH_PAIRS=$BENCH_DIR/teachers.pairs \
    run_wrk class-progress-fresh -s "$NEXUS_ROOT/scripts/bench/rotate.lua" "$BASE"
# The same misses with 8 requests in flight instead of 64: still as fast as the API
# answers, but the p99 then shows a page's own cost more than the queue in front of it.
BENCH_CONNECTIONS=8 BENCH_FRESH=1 BENCH_PAIRS=$BENCH_DIR/students.pairs \
    run_wrk dashboard-student-fresh-c8 -s "$NEXUS_ROOT/scripts/bench/rotate.lua" "$BASE"
BENCH_CONNECTIONS=8 BENCH_FRESH=1 BENCH_PAIRS=$BENCH_DIR/teachers.pairs \
    run_wrk class-progress-fresh-c8 -s "$NEXUS_ROOT/scripts/bench/rotate.lua" "$BASE"

# The same cached pages while students work: pgbench commits BENCH_WRITES (100) updates a
# second of random progress rows (time spent, last access), each of which tells the
# student's dashboard and their classes' tables that they changed (the triggers'
# notifications), so part of the reads are misses. The caches' own counters
# (`cache_lookups_total` in /metrics) say how many, next to wrk's figures.
BENCH_WRITES=${BENCH_WRITES:-100}
sql "create table bench_progress_rows as
     select row_number() over (order by student_id, course_id) as n, student_id, course_id from student_progress"
cat >"$BENCH_DIR/progress-writes.sql" <<SQL
\\set n random(1, $(sql "select count(*) from bench_progress_rows"))
update student_progress p set time_spent_seconds = p.time_spent_seconds + 1, last_accessed = now()
from bench_progress_rows b where b.n = :n and p.student_id = b.student_id and p.course_id = b.course_id;
SQL
# cache_lookups CACHE — "hit N miss N shared N" from the API's counters.
cache_lookups() {
    curl -sf "$BASE/metrics" | awk -v cache="$1" '
        index($0, "cache_lookups_total{cache=\"" cache "\"") == 1 {
            match($0, /outcome="[a-z]+"/); n[substr($0, RSTART + 9, RLENGTH - 10)] = $NF
        }
        END { printf "hit %d miss %d shared %d", n["hit"], n["miss"], n["shared"] }'
}
# run_under_writes NAME PAIRS CACHE — a rotate.lua run with the writer beside it.
run_under_writes() {
    local name=$1 pairs=$2 cache=$3 before after writer
    before=$(cache_lookups "$cache")
    pgbench -n -f "$BENCH_DIR/progress-writes.sql" -R "$BENCH_WRITES" -T $(( ${BENCH_DURATION%s} + 1 )) -c 2 -j 1 \
        "$BENCH_DB_URL" >"$BENCH_DIR/pgbench-$name.txt" 2>&1 &
    writer=$!
    BENCH_PAIRS=$BENCH_DIR/$pairs.pairs run_wrk "$name" -s "$NEXUS_ROOT/scripts/bench/rotate.lua" "$BASE"
    wait "$writer" || die "the progress writer failed (.run/bench/pgbench-$name.txt)"
    after=$(cache_lookups "$cache")
    # Lookups during the run: after − before, per outcome.
    awk -v b="$before" -v a="$after" 'BEGIN {
        split(b, x, " "); split(a, y, " ")
        printf "cache lookups during the run: hit %d miss %d shared %d\n", y[2] - x[2], y[4] - x[4], y[6] - x[6]
    }' >>"$BENCH_DIR/wrk-$name.txt"
    grep -m1 '^tps' "$BENCH_DIR/pgbench-$name.txt" | sed 's/^/progress writes: /' >>"$BENCH_DIR/wrk-$name.txt"
    tail -n 2 "$BENCH_DIR/wrk-$name.txt"
}
run_under_writes dashboard-student-writes students dashboards
run_under_writes class-progress-writes teachers class_progress

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

# ratio OURS PEER LABEL — throughput ratio and both p99s.
ratio() {
    local ours peer
    ours=$(awk '/^Requests\/sec:/ { print $2 }' "$BENCH_DIR/wrk-$1.txt")
    peer=$(awk '/^Requests\/sec:/ { print $2 }' "$BENCH_DIR/wrk-$2.txt")
    awk -v o="$ours" -v p="$peer" -v l="$3" \
        -v o99="$(awk '/^[[:space:]]+99%/ { print $2 }' "$BENCH_DIR/wrk-$1.txt")" \
        -v p99="$(awk '/^[[:space:]]+99%/ { print $2 }' "$BENCH_DIR/wrk-$2.txt")" \
        'BEGIN { printf "ratio %s: nexus-api %s req/s (p99 %s) / seed %s req/s (p99 %s) = %.1fx\n", l, o, o99, p, p99, (p > 0 ? o / p : 0) }'
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
    if [[ ${BENCH_BASIC:-1} == 1 ]]; then
        echo "api RSS:   ${LOGIN_RSS_MB} MB after the login scenario, ${API_RSS_MB} MB after all"
    else
        echo "api RSS:   ${API_RSS_MB} MB after all scenarios"
    fi
    echo
    printf "%-30s %12s %10s %10s %8s  %s\n" scenario "requests/s" p50 p99 non-2xx "socket errors"
    if [[ ${BENCH_BASIC:-1} == 1 ]]; then
        summary_line login "POST /api/auth/login"
        summary_line me "GET /api/auth/me"
        summary_line courses-demo "GET /api/courses (demo)"
        summary_line course-demo "GET /api/courses/{id} (demo)"
        summary_line courses-demo-c8 "GET /api/courses (demo, 8 conn)"
        summary_line course-demo-c8 "GET /api/courses/{id} (demo, 8 c)"
        summary_line submit "POST attempts/{id}/submit"
    fi
    for round in $(seq 1 "${BENCH_ROUNDS:-1}"); do
        summary_line "courses-10k-$round" "GET /api/courses (10k) #$round"
        [[ -n $PEER_BASE ]] && summary_line "peer-courses-10k-$round" "  seed stack, same #$round"
        summary_line "course-10k-$round" "GET /api/courses/{id} (10k) #$round"
        [[ -n $PEER_BASE ]] && summary_line "peer-course-10k-$round" "  seed stack, same #$round"
    done
    summary_line search-10k "GET /api/courses?q= (10k)"
    summary_line courses-10k-fresh "GET /api/courses, no-cache"
    summary_line course-10k-fresh "GET /api/courses/{id}, no-cache"
    summary_line search-10k-fresh "GET /api/courses?q=, no-cache"
    summary_line courses-10k-c8 "GET /api/courses (10k, 8 c)"
    summary_line course-10k-c8 "GET /api/courses/{id} (10k, 8 c)"
    summary_line dashboard-student "GET /api/dashboard/student"
    summary_line dashboard-student-c8 "  same, 8 connections"
    summary_line class-progress "GET /api/classes/{id}/progress"
    summary_line class-progress-c8 "  same, 8 connections"
    summary_line dashboard-student-fresh "student dashboard, no-cache"
    summary_line dashboard-student-fresh-c8 "  same, 8 connections"
    summary_line class-progress-fresh "class progress, no-cache"
    summary_line class-progress-fresh-c8 "  same, 8 connections"
    summary_line dashboard-student-writes "student dashboard, writes"
    summary_line class-progress-writes "class progress, writes"
    echo "(writes: $BENCH_WRITES progress updates a second committed beside the reads)"
    for name in dashboard-student-writes class-progress-writes; do
        echo "  $name: $(grep -h '^cache lookups' "$BENCH_DIR/wrk-$name.txt" | sed 's/^cache lookups during the run: //'); $(grep -h '^progress writes' "$BENCH_DIR/wrk-$name.txt" | sed 's/ (without.*//')"
    done
    if [[ -n $PEER_BASE ]]; then
        echo
        echo "seed stack (../shared/peers: Flask + SQLAlchemy, Gunicorn $(nproc)x2+1 sync workers), same Postgres,"
        echo "run right after ours in each round; its RSS (master + workers): ${PEER_RSS_MB} MB"
        for round in $(seq 1 "${BENCH_ROUNDS:-1}"); do
            ratio "courses-10k-$round" "peer-courses-10k-$round" "list   #$round"
            ratio "course-10k-$round" "peer-course-10k-$round" "detail #$round"
        done
    else
        echo
        echo "seed stack: not run (no $PEERS_SRC, or BENCH_PEERS=0)"
    fi
} | tee "$results"
echo
info "results saved in ${results#"$NEXUS_ROOT"/}"

for name in $(cd "$BENCH_DIR" && ls wrk-*.txt | sed 's/^wrk-//; s/\.txt$//'); do
    if grep -q 'Non-2xx or 3xx responses' "$BENCH_DIR/wrk-$name.txt"; then
        warn "$name: some answers were not 2xx (rate limited or failing?): the numbers above are suspect"
    fi
done
