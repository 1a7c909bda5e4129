#!/usr/bin/env bash
#
# scripts/soak.sh — a soak run of nexus-api: overlapping work for a few minutes,
# then the data is read back and checked (issue 20).
#
# The driver (scripts/soak/soak.py, Python standard library only) creates its own
# actors through the API — 3 teachers (made by the seeded admin), SOAK_STUDENTS
# students who register and join their teacher's class — and then, for
# SOAK_SECONDS, students read courses, complete sections, take quizzes and read
# their notifications while teachers edit quizzes, publish new courses and
# quizzes (the same one several times at once, and again later with the same
# window), grade what waits for them (sometimes twice at once) and chat in their
# classes. At the end it checks, through the API and in Postgres:
#   - no 5xx, ever (every answer's status is counted);
#   - every graded attempt's score is what grading the student's answers against
#     the questions they were shown gives, and its results list exactly those;
#   - each student's progress is completed sections / sections (rounded down),
#     completedAt set iff 100;
#   - every promised notification exists once (course/quiz published, attempt
#     graded or to grade, quiz due soon), every notification relayed by the
#     outbox relay (RUN_WORKER on) and in the Redis stream;
#   - in each conversation, message ids and times in the same order.
# It prints a summary (requests by endpoint and status, p50/p99 latency per
# endpoint, attempts graded, checks) saved in .run/soak/results-<timestamp>.txt,
# and exits non-zero if any check failed.
#
# This is a DEBUG build of the API: the soak checks correctness under load; its
# latencies are not a throughput figure (scripts/bench.sh measures the release
# build).
#
# Everything runs on this machine, over loopback: a private Postgres + Redis in
# .run/soak/ (fsync on, Redis AOF), a fresh database soak_<random>, the API on a
# free port. All of it is stopped and dropped at the end, also on failure or
# Ctrl-C (SOAK_KEEP_DB=1 keeps the database for a look afterwards; the private
# Postgres is still stopped: restart it with the same .run/soak directory).
#
# Environment (all optional):
#   SOAK_SECONDS (180)         duration of the overlapping work
#   SOAK_STUDENTS (40), SOAK_TEACHERS (3)
#   SOAK_RUST_LOG (warn)       log level of the API
#   DEMO_PASSWORD (NexusDemo2026!)  seeded password (the admin signs in with it)
#   DATABASE_URL, REDIS_URL    use these servers instead of private ones
#   NEXUS_SKIP_BUILD=1, NEXUS_API_BIN  use an already built binary
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"

SOAK_DIR=$NEXUS_ROOT/.run/soak
DRIVER=$NEXUS_ROOT/scripts/soak/soak.py

SOAK_SECONDS=${SOAK_SECONDS:-180}
[[ $SOAK_SECONDS =~ ^[0-9]+$ ]] || die "SOAK_SECONDS must be a number of seconds"
SOAK_STUDENTS=${SOAK_STUDENTS:-40}
SOAK_TEACHERS=${SOAK_TEACHERS:-3}
DEMO_PASSWORD=${DEMO_PASSWORD:-'NexusDemo2026!'}

ensure_packages curl ca-certificates postgresql-client gcc libc6-dev pkg-config
command -v python3 >/dev/null 2>&1 || ensure_packages python3

# ---------------------------------------------------------------- build
if [[ ${NEXUS_SKIP_BUILD:-0} != 1 && -z ${NEXUS_API_BIN:-} ]]; then
    command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)"
    info "building nexus-api (debug: the soak checks correctness, not speed)"
    (cd "$NEXUS_ROOT" && cargo build -p nexus-api)
fi
API_BIN=${NEXUS_API_BIN:-$(nexus_target_dir)/debug/nexus-api}
[[ -x $API_BIN ]] || die "$API_BIN not found"

# ---------------------------------------------------------------- cleanup
SOAK_DB=soak_$(rand_hex 12)
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
    if [[ $DB_CREATED == 1 && ${SOAK_KEEP_DB:-0} != 1 ]]; then
        drop_database "$DATABASE_URL" "$SOAK_DB"
    fi
    stop_private_services "$SOAK_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- servers
mkdir -p "$SOAK_DIR"
start_postgres "$SOAK_DIR"
start_redis "$SOAK_DIR"

info "creating database $SOAK_DB"
create_database "$DATABASE_URL" "$SOAK_DB"
DB_CREATED=1
SOAK_DB_URL=$(url_with_db "$DATABASE_URL" "$SOAK_DB")

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
KEY_PREFIX=soak:$(rand_hex 8):
api_env=(
    APP_ENV=development
    "DATABASE_URL=$SOAK_DB_URL"
    "REDIS_URL=$REDIS_URL"
    "REDIS_KEY_PREFIX=$KEY_PREFIX"
    "API_PORT=$PORT"
    BIND_ADDR=127.0.0.1
    "JWT_SECRET_KEY=$(rand_hex 64)"
    "MAILBOX_DIR=$SOAK_DIR/mailbox"
    "DEMO_PASSWORD=$DEMO_PASSWORD"
    # The outbox relay runs in this process: the soak checks that every
    # notification is relayed.
    RUN_WORKER=true
    # Every student registers from 127.0.0.1 (limit: 100 per hour per address).
    # The per-user limit (100 calls a minute) stays as in production: the
    # driver paces each actor below it.
    RATE_LIMIT_REGISTER_IP_PER_HOUR=100000
    RATE_LIMIT_LOGIN_IP_PER_WINDOW=100000
    "RUST_LOG=${SOAK_RUST_LOG:-warn}"
    LOG_FORMAT=json
)
mkdir -p "$SOAK_DIR/mailbox"

info "migrating and seeding $SOAK_DB"
env "${api_env[@]}" "$API_BIN" migrate
env "${api_env[@]}" "$API_BIN" seed >"$SOAK_DIR/seed.txt"

info "starting debug nexus-api on $BASE (log: .run/soak/nexus-api.log)"
env "${api_env[@]}" "$API_BIN" serve >"$SOAK_DIR/nexus-api.log" 2>&1 </dev/null &
API_PID=$!
if ! wait_http "$BASE/ready" 60 "$API_PID"; then
    tail -n 40 "$SOAK_DIR/nexus-api.log" >&2 || true
    die "nexus-api did not become ready"
fi

# ---------------------------------------------------------------- the soak
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$SOAK_DIR/results-$stamp.txt
info "soak: $SOAK_STUDENTS students, $SOAK_TEACHERS teachers, ${SOAK_SECONDS}s"
# The driver's progress goes to stderr, its report (stdout) to the results file too.
rc=0
SOAK_API=$BASE SOAK_DB_URL=$SOAK_DB_URL SOAK_SECONDS=$SOAK_SECONDS \
    SOAK_STUDENTS=$SOAK_STUDENTS SOAK_TEACHERS=$SOAK_TEACHERS \
    SOAK_ADMIN_EMAIL=admin@nexus-reussite.fr SOAK_ADMIN_PASSWORD=$DEMO_PASSWORD \
    SOAK_API_PID=$API_PID SOAK_REDIS_URL=$REDIS_URL SOAK_STREAM_KEY=${KEY_PREFIX}stream:events \
    SOAK_HEADER="commit:    $(git -C "$NEXUS_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu:       $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
nproc:     $(nproc)   (the driver, the API and Postgres share these cores)
api:       DEBUG build ($API_BIN), RUN_WORKER on, RUST_LOG=${SOAK_RUST_LOG:-warn}" \
    python3 "$DRIVER" | tee "$results" || rc=$?

if grep -q '"level":"ERROR"' "$SOAK_DIR/nexus-api.log"; then
    warn "the API logged errors: see .run/soak/nexus-api.log"
fi
echo
info "results saved in ${results#"$NEXUS_ROOT"/}"
if [[ $rc != 0 ]]; then
    die "soak failed (driver exit code $rc)"
fi
info "soak passed"
