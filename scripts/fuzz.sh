#!/usr/bin/env bash
#
# scripts/fuzz.sh — property-based fuzzing of nexus-api from its own OpenAPI
# document, with schemathesis (PyPI).
#
# It needs DATABASE_URL and REDIS_URL (scripts/test.sh exports them and calls
# this script); it creates and finally drops its own database fuzz_<random>
# on that server and uses its own Redis key prefix, so it never touches data
# of the dev environment or of the test suite.
#
# What it does:
#   1. venv in .run/venv with a pinned schemathesis (reused when present)
#   2. cargo build -p nexus-api (a no-op or nearly so after the test suite)
#   3. fresh database, `nexus-api migrate`, `nexus-api seed`
#   4. nexus-api on 127.0.0.1:<free port>, APP_ENV=test, rate limits lifted
#   5. log in as the seeded admin, then `schemathesis run` against
#      /api/openapi.json with that Bearer token and the checks
#      not_a_server_error + response_schema_conformance
#   6. always: stop the API, drop the database (trap)
# Exit status: non-zero if schemathesis reports a failure, times out, or any
# step fails.
#
# Environment (all optional):
#   FUZZ_EXAMPLES (25)    max test cases per API operation and phase
#   FUZZ_SEED (20260101)  hypothesis seed, for reproducible runs
#   FUZZ_TIMEOUT (600)    hard bound in seconds on the schemathesis run
#   FUZZ_WORKERS (1)      concurrent schemathesis workers
#   FUZZ_PHASES           e.g. "examples,coverage,fuzzing" (default: all,
#                         i.e. examples, coverage, fuzzing, stateful)
#   FUZZ_EXCLUDE_PATH_REGEX ('/logout')  operations not to call: logging out
#                         would revoke the token the whole run depends on;
#                         set it empty to fuzz everything
#   FUZZ_ADMIN_EMAIL (admin@nexus-reussite.fr), DEMO_PASSWORD (NexusDemo2026!)
#   NEXUS_SKIP_BUILD=1, NEXUS_API_BIN   use an already built binary
# Extra arguments are passed to `schemathesis run` unchanged.
# Reports: .run/fuzz/report/ (JUnit XML), API log: .run/fuzz/nexus-api.log.
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"

# Pinned: schemathesis' CLI changed incompatibly between 3.x and 4.x, and the
# flags below are the 4.x ones (checked against `schemathesis run --help`).
SCHEMATHESIS_VERSION=4.32.5

RUN_DIR=$NEXUS_ROOT/.run
FUZZ_DIR=$RUN_DIR/fuzz
VENV=$RUN_DIR/venv

FUZZ_EXAMPLES=${FUZZ_EXAMPLES:-25}
FUZZ_SEED=${FUZZ_SEED:-20260101}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-600}
FUZZ_WORKERS=${FUZZ_WORKERS:-1}
FUZZ_PHASES=${FUZZ_PHASES:-}
FUZZ_EXCLUDE_PATH_REGEX=${FUZZ_EXCLUDE_PATH_REGEX-/logout}
FUZZ_ADMIN_EMAIL=${FUZZ_ADMIN_EMAIL:-admin@nexus-reussite.fr}
DEMO_PASSWORD=${DEMO_PASSWORD:-'NexusDemo2026!'}

[[ -n ${DATABASE_URL:-} ]] || die "DATABASE_URL is not set (run scripts/test.sh, or export it)"
[[ -n ${REDIS_URL:-} ]] || die "REDIS_URL is not set (run scripts/test.sh, or export it)"

mkdir -p "$FUZZ_DIR"
ensure_packages curl ca-certificates postgresql-client

# ---------------------------------------------------------------- 1. venv
# Debian's own python3 needs python3-venv for `-m venv`; the machine image's
# pyenv Python has it built in.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    ensure_packages python3-venv
fi
installed_version() {
    "$VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}'
}
if [[ $(installed_version) != "$SCHEMATHESIS_VERSION" ]]; then
    # A venv whose interpreter vanished (Python upgraded/moved) is rebuilt.
    if ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
        rm -rf "$VENV"
        info "creating Python venv in ${VENV#"$NEXUS_ROOT"/}"
        python3 -m venv "$VENV"
    fi
    info "installing schemathesis==$SCHEMATHESIS_VERSION"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION"
    [[ $(installed_version) == "$SCHEMATHESIS_VERSION" ]] ||
        die "schemathesis $SCHEMATHESIS_VERSION did not install (got '$(installed_version)')"
fi

# ---------------------------------------------------------------- 2. build
if [[ ${NEXUS_SKIP_BUILD:-0} != 1 ]]; then
    info "building nexus-api"
    (cd "$NEXUS_ROOT" && cargo build -p nexus-api)
fi
API_BIN=${NEXUS_API_BIN:-$(nexus_target_dir)/debug/nexus-api}
[[ -x $API_BIN ]] || die "$API_BIN not found"

# ---------------------------------------------------------------- cleanup
FUZZ_DB=fuzz_$(rand_hex 12)
API_PID=""
DB_CREATED=0
REDIS_KEY_PREFIX="fuzz:$(rand_hex 8):"

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
        drop_database "$DATABASE_URL" "$FUZZ_DB"
    fi
    # Our keys only; the prefix is unique to this run.
    if command -v redis-cli >/dev/null 2>&1; then
        redis-cli -u "$REDIS_URL" --no-auth-warning --scan --pattern "${REDIS_KEY_PREFIX}*" 2>/dev/null |
            xargs -r -n 500 redis-cli -u "$REDIS_URL" --no-auth-warning del >/dev/null 2>&1 || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- 3. database
info "creating database $FUZZ_DB"
create_database "$DATABASE_URL" "$FUZZ_DB"
DB_CREATED=1

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT

# The API's environment. Rate limits are lifted: the fuzzer sends thousands
# of requests from one IP, and 429s would hide the real answers.
DATABASE_URL_FUZZ=$(url_with_db "$DATABASE_URL" "$FUZZ_DB")
api_env=(
    APP_ENV=test
    "DATABASE_URL=$DATABASE_URL_FUZZ"
    "REDIS_URL=$REDIS_URL"
    "REDIS_KEY_PREFIX=$REDIS_KEY_PREFIX"
    "API_PORT=$PORT"
    BIND_ADDR=127.0.0.1
    "JWT_SECRET_KEY=$(rand_hex 64)"
    "MAILBOX_DIR=$FUZZ_DIR/mailbox"
    "DEMO_PASSWORD=$DEMO_PASSWORD"
    RATE_LIMIT_API_PER_MIN=1000000
    RATE_LIMIT_LOGIN_FAILURES=1000000
    RATE_LIMIT_LOGIN_IP_PER_WINDOW=1000000
    RATE_LIMIT_REGISTER_IP_PER_HOUR=1000000
    "RUST_LOG=${FUZZ_RUST_LOG:-info}"
    LOG_FORMAT=json
)
mkdir -p "$FUZZ_DIR/mailbox"

info "migrating and seeding $FUZZ_DB"
env "${api_env[@]}" "$API_BIN" migrate
env "${api_env[@]}" "$API_BIN" seed

# ---------------------------------------------------------------- 4. API
info "starting nexus-api on $BASE (log: ${FUZZ_DIR#"$NEXUS_ROOT"/}/nexus-api.log)"
env "${api_env[@]}" "$API_BIN" serve >"$FUZZ_DIR/nexus-api.log" 2>&1 </dev/null &
API_PID=$!
if ! wait_http "$BASE/ready" 60 "$API_PID"; then
    tail -n 40 "$FUZZ_DIR/nexus-api.log" >&2 || true
    die "nexus-api did not become ready"
fi

# ---------------------------------------------------------------- 5. fuzz
TOKEN=$(login_token "$BASE" "$FUZZ_ADMIN_EMAIL" "$DEMO_PASSWORD") ||
    die "could not log in as $FUZZ_ADMIN_EMAIL (is DEMO_PASSWORD honoured by seed?)"

st_args=(
    run "$BASE/api/openapi.json"
    # Requests go to the API we started, whatever "servers" the document
    # lists; the document's base path is kept.
    --origin "$BASE"
    --header "Authorization: Bearer $TOKEN"
    --checks "not_a_server_error,response_schema_conformance"
    --max-examples "$FUZZ_EXAMPLES"
    --seed "$FUZZ_SEED"
    --workers "$FUZZ_WORKERS"
    --request-timeout 30
    --wait-for-schema 30
    # No .hypothesis example database in the work tree: runs stay
    # reproducible from the seed alone.
    --generation-database none
    --report junit --report-dir "$FUZZ_DIR/report"
    --no-color
)
if [[ -n $FUZZ_PHASES ]]; then
    st_args+=(--phases "$FUZZ_PHASES")
fi
if [[ -n $FUZZ_EXCLUDE_PATH_REGEX ]]; then
    st_args+=(--exclude-path-regex "$FUZZ_EXCLUDE_PATH_REGEX")
fi
st_args+=("$@")

info "schemathesis $SCHEMATHESIS_VERSION: $FUZZ_EXAMPLES examples/operation, seed $FUZZ_SEED, timeout ${FUZZ_TIMEOUT}s"
# Loopback only: no proxy may divert the requests, and schemathesis itself
# contacts nothing but the URL it is given.
set +e
(
    cd "$FUZZ_DIR" &&
        env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy \
            NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
            timeout --kill-after=15 "$FUZZ_TIMEOUT" "$VENV/bin/schemathesis" "${st_args[@]}"
)
st_rc=$?
set -e

case $st_rc in
    0) info "fuzz: schemathesis found no failure" ;;
    124 | 137) warn "fuzz: schemathesis did not finish within ${FUZZ_TIMEOUT}s" ;;
    *) warn "fuzz: schemathesis reported failures (exit $st_rc); API log: ${FUZZ_DIR#"$NEXUS_ROOT"/}/nexus-api.log" ;;
esac
info "JUnit report: ${FUZZ_DIR#"$NEXUS_ROOT"/}/report/"
exit "$st_rc"
