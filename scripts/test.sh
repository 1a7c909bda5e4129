#!/usr/bin/env bash
#
# scripts/test.sh — the full test run (what CI runs, through .ci/run).
#
#   1. installs what the tests need (Postgres, Redis, curl, Python venv)
#   2. starts a throw-away Postgres + Redis in .run/test/ (fsync off, no
#      persistence), unless DATABASE_URL / REDIS_URL are given
#   3. cargo test --workspace --locked [extra args...]
#      (each test creates its own database from DATABASE_URL and its own
#      Redis key prefix, so tests run in parallel against one server)
#   4. scripts/fuzz.sh: schemathesis against the API (skip with SKIP_FUZZ=1)
#   5. the web app (frontend/, skip with SKIP_FRONTEND=1): npm ci, API types,
#      eslint, tsc, Vitest, next build, then Playwright in Debian's Chromium
#      against the real API, hub and ARIA (run_web_tests in scripts/lib/web.sh)
#   6. always stops the private Postgres/Redis, also on failure or Ctrl-C
#
# Exit status is non-zero if the tests or the fuzzing failed.
#
# Environment (all optional):
#   DATABASE_URL, REDIS_URL   use these servers instead of private ones
#   QDRANT_URL                the Qdrant for ARIA's Qdrant tests; unset: a private
#                             one from QDRANT_BIN, PATH or ../shared/bin/qdrant
#   SKIP_LINT=1               skip cargo fmt --check, clippy, the Docker checks and pyflakes
#   SKIP_OPS=1                skip the nginx/Prometheus checks (scripts/test-ops.sh)
#   SKIP_BACKUP=1             skip the backup/restore proof (scripts/test-backup.sh)
#   SKIP_FUZZ=1               skip step 4
#   SKIP_FRONTEND=1           skip step 5
#   WEB_NPM_CI=always         npm ci even when node_modules matches the lock file
#   FUZZ_*                    see scripts/fuzz.sh
# Exported to the tests: DATABASE_URL, REDIS_URL, ARIA_TEST_QDRANT_URL,
# ARIA_TEST_QDRANT_GRPC_URL, QDRANT_BIN,
# APP_ENV=test,
# RUST_BACKTRACE (1 unless set).
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"
# shellcheck source-path=SCRIPTDIR source=lib/model.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/model.sh"
# shellcheck source-path=SCRIPTDIR source=lib/web.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/web.sh"

TEST_DIR=$NEXUS_ROOT/.run/test

# ---------------------------------------------------------------- packages
# gcc/libc6-dev/pkg-config: crates that compile C code (ring).
# bubblewrap + python3: the jail that runs students' code (shared/sandbox, docs/SANDBOX.md).
ensure_packages postgresql redis-server curl ca-certificates gcc libc6-dev pkg-config bubblewrap python3
if [[ ${SKIP_FUZZ:-0} != 1 ]] && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    ensure_packages python3-venv
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)"

# ---------------------------------------------------------------- servers
# Stop the private servers however we leave: success, failure, Ctrl-C.
# stop_private_services only touches servers whose state files are in
# .run/test, so with external DATABASE_URL/REDIS_URL it does nothing.
# shellcheck disable=SC2317  # invoked through the trap below
cleanup() {
    local rc=$?
    stop_model_server "$TEST_DIR"
    stop_qdrant "$TEST_DIR"
    stop_private_services "$TEST_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$TEST_DIR"
TEST=1 start_postgres "$TEST_DIR"
TEST=1 start_redis "$TEST_DIR"
export DATABASE_URL REDIS_URL
export APP_ENV=test
# ARIA's generation tests talk to a real OpenAI-compatible server (llama.cpp, small
# model), unless one is given.
if [[ -z ${ARIA_TEST_MODEL_URL:-} ]]; then
    start_model_server "$TEST_DIR"
fi
# ARIA's local embedding model (dense retrieval), unpacked once into .run/models.
ensure_embedding_model
# The mail tests' SMTP server (aiosmtpd), in a venv of its own.
ensure_smtp_sink
# A real Qdrant for ARIA's Qdrant backend tests (ARIA_TEST_QDRANT_URL), unless
# QDRANT_URL names one; without a binary those tests say they are skipped (and fail
# under CI when a binary is there: see find_qdrant_bin).
start_qdrant "$TEST_DIR"
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
info "DATABASE_URL=$(mask_url "$DATABASE_URL")"
info "REDIS_URL=$(mask_url "$REDIS_URL")"

# ---------------------------------------------------------------- lints
# Formatting and clippy are part of the suite: a submission that fails them is red.
cd "$NEXUS_ROOT"
lint_rc=skipped
if [[ ${SKIP_LINT:-0} != 1 ]]; then
    lint_rc=0
    info "cargo fmt --check"
    cargo fmt --all --check || lint_rc=$?
    info "cargo clippy --workspace --all-targets -- -D warnings"
    cargo clippy --workspace --all-targets --locked -- -D warnings || lint_rc=$?
    info "Dockerfile (hadolint) and compose files (docker-compose config)"
    bash "$NEXUS_ROOT/scripts/check-docker.sh" || lint_rc=$?
    # The pytest suites (tests/ops, tests/backup, tests/docker): Debian's pyflakes, for Debian's
    # interpreter (the one that runs them).
    info "pyflakes tests/"
    ensure_packages python3-pyflakes
    /usr/bin/python3 -m pyflakes tests/ || lint_rc=$?
fi

# ---------------------------------------------------------------- tests
info "cargo test --workspace --locked $*"
if cargo test --workspace --locked "$@"; then
    test_rc=0
else
    test_rc=$?
fi

# ---------------------------------------------------------------- operations
# Real nginx in front of the built services, real Prometheus scraping them and the
# exporters, every alert rule and dashboard query checked (scripts/test-ops.sh).
ops_rc=skipped
if [[ ${SKIP_OPS:-0} != 1 ]]; then
    if bash "$NEXUS_ROOT/scripts/test-ops.sh"; then
        ops_rc=0
    else
        ops_rc=$?
    fi
fi

# ---------------------------------------------------------------- backups
# Backup → wipe → restore → compare every table (scripts/test-backup.sh).
backup_rc=skipped
if [[ ${SKIP_BACKUP:-0} != 1 ]]; then
    if bash "$NEXUS_ROOT/scripts/test-backup.sh"; then
        backup_rc=0
    else
        backup_rc=$?
    fi
fi

# ---------------------------------------------------------------- fuzzing
# Run even when a test failed: its verdict is independent, and CI then shows
# every problem of a submission at once.
fuzz_rc=skipped
if [[ ${SKIP_FUZZ:-0} != 1 ]]; then
    if bash "$NEXUS_ROOT/scripts/fuzz.sh"; then
        fuzz_rc=0
    else
        fuzz_rc=$?
    fi
fi

# ---------------------------------------------------------------- web app
# Static checks, unit tests, build, then real browsers against the real services.
web_rc=skipped
if [[ ${SKIP_FRONTEND:-0} != 1 ]]; then
    web_started=$SECONDS
    info "frontend: cargo build --workspace --bins (the services the browser tests run)"
    if cargo build --workspace --bins --locked && run_web_tests; then
        web_rc=0
    else
        web_rc=$?
    fi
    info "frontend step: $((SECONDS - web_started)) s"
fi

# ---------------------------------------------------------------- verdict
echo
echo "==================== scripts/test.sh summary ===================="
case $lint_rc in
    skipped) echo "fmt + clippy + docker files: skipped (SKIP_LINT=1)" ;;
    0) echo "fmt + clippy + docker files: ok" ;;
    *) echo "fmt + clippy + docker files: FAILED (see above)" ;;
esac
if [[ $test_rc == 0 ]]; then
    echo "cargo test: ok"
else
    echo "cargo test: FAILED (exit $test_rc; see the test output above)"
fi
case $ops_rc in
    skipped) echo "nginx + prometheus (test-ops): skipped (SKIP_OPS=1)" ;;
    0) echo "nginx + prometheus (test-ops): ok" ;;
    *) echo "nginx + prometheus (test-ops): FAILED (exit $ops_rc)" ;;
esac
case $backup_rc in
    skipped) echo "backup/restore (test-backup): skipped (SKIP_BACKUP=1)" ;;
    0) echo "backup/restore (test-backup): ok" ;;
    *) echo "backup/restore (test-backup): FAILED (exit $backup_rc)" ;;
esac
case $fuzz_rc in
    skipped) echo "schemathesis: skipped (SKIP_FUZZ=1)" ;;
    0) echo "schemathesis: ok" ;;
    *) echo "schemathesis: FAILED (exit $fuzz_rc; see its summary above)" ;;
esac
case $web_rc in
    skipped) echo "web app (lint, tsc, vitest, next build, playwright): skipped (SKIP_FRONTEND=1)" ;;
    0) echo "web app (lint, tsc, vitest, next build, playwright): ok" ;;
    *) echo "web app (lint, tsc, vitest, next build, playwright): FAILED (exit $web_rc; see above)" ;;
esac

if [[ $test_rc != 0 ]]; then
    exit "$test_rc"
fi
if [[ $lint_rc != 0 && $lint_rc != skipped ]]; then
    exit "$lint_rc"
fi
if [[ $backup_rc != 0 && $backup_rc != skipped ]]; then
    exit "$backup_rc"
fi
if [[ $ops_rc != 0 && $ops_rc != skipped ]]; then
    exit "$ops_rc"
fi
if [[ $fuzz_rc != 0 && $fuzz_rc != skipped ]]; then
    exit "$fuzz_rc"
fi
if [[ $web_rc != 0 && $web_rc != skipped ]]; then
    exit "$web_rc"
fi
exit 0
