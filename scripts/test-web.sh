#!/usr/bin/env bash
#
# scripts/test-web.sh — only the web app's step of scripts/test.sh (lint, types,
# Vitest, next build, Playwright against the real API, hub and ARIA), with its own
# throw-away Postgres, Redis and llama.cpp server in .run/test-web/. For working on the
# web app; scripts/test.sh runs the same step after the Rust tests.
#
#   scripts/test-web.sh                                   everything
#   E2E_ARGS="tests/e2e/courses.spec.ts" scripts/test-web.sh   one browser test file
#   E2E_ARGS="--grep @phone" scripts/test-web.sh
#   NEXUS_BIN_DIR=/other/checkout/target/debug scripts/test-web.sh   (no cargo build)
#   ARIA_TEST_MODEL_URL=http://127.0.0.1:PORT/v1 scripts/test-web.sh  (a running model)
#
# Builds the services (cargo build --workspace --bins) unless NEXUS_BIN_DIR is given.
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"
# shellcheck source-path=SCRIPTDIR source=lib/model.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/model.sh"
# shellcheck source-path=SCRIPTDIR source=lib/web.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/web.sh"

DIR=$NEXUS_ROOT/.run/test-web
ensure_packages postgresql redis-server curl ca-certificates bubblewrap python3
# shellcheck disable=SC2317  # invoked through the trap below
cleanup() {
    local rc=$?
    stop_model_server "$DIR"
    stop_private_services "$DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$DIR"
TEST=1 start_postgres "$DIR"
TEST=1 start_redis "$DIR"
export DATABASE_URL REDIS_URL
if [[ -z ${ARIA_TEST_MODEL_URL:-} ]]; then
    start_model_server "$DIR"
fi
ensure_embedding_model
cd "$NEXUS_ROOT"
# NEXUS_BIN_DIR: services already built elsewhere (another checkout of the same tree).
if [[ -z ${NEXUS_BIN_DIR:-} ]]; then
    cargo build --workspace --bins --locked
fi
run_web_tests
