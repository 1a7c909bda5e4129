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
run_wrk me -H "Authorization: Bearer $TOKEN" "$BASE/api/auth/me"

# summary_line NAME LABEL — one summary row from wrk's saved output.
summary_line() {
    awk -v label="$2" '
        /^Requests\/sec:/ { rps = $2 }
        /^[[:space:]]+50%/ { p50 = $2 }
        /^[[:space:]]+99%/ { p99 = $2 }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        /Socket errors:/ { errs = $0; sub(/.*Socket errors: */, "", errs) }
        END {
            printf "%-24s %12s %10s %10s %8s  %s\n", label, rps, p50, p99,
                (bad == "" ? 0 : bad), (errs == "" ? "none" : errs)
        }' "$BENCH_DIR/wrk-$1.txt"
}

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
    echo
    printf "%-24s %12s %10s %10s %8s  %s\n" scenario "requests/s" p50 p99 non-2xx "socket errors"
    summary_line login "POST /api/auth/login"
    summary_line me "GET /api/auth/me"
} | tee "$results"
echo
info "results saved in ${results#"$NEXUS_ROOT"/}"

for name in login me; do
    if grep -q 'Non-2xx or 3xx responses' "$BENCH_DIR/wrk-$name.txt"; then
        warn "$name: some answers were not 2xx (rate limited or failing?): the numbers above are suspect"
    fi
done
