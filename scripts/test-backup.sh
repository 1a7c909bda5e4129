#!/usr/bin/env bash
#
# scripts/test-backup.sh — proof that a backup restores: back up a populated
# platform, destroy it, restore it, and compare.
#
# This script only starts and stops things; every check is a pytest test in
# tests/backup/test_backup_restore.py (helpers: tests/backup/backup_helpers.py),
# where a failure names what differs (the table, the fingerprint, the file).
#
# Here:
#   - a database of its own (backup_test_<random>) on DATABASE_URL's server,
#     or on a private Postgres started in .run/backup-test when DATABASE_URL
#     is not set; the same for Redis (private, or REDIS_URL with a key prefix
#     of its own)
#   - the real API binary: `nexus-api migrate`, `nexus-api seed`
#   - then `/usr/bin/python3 -m pytest tests/backup` (Debian's python3-pytest),
#     whose exit code is this script's.
# The tests, in order (each step a fixture; when a step cannot be carried out,
# the tests that need it error with its reason):
#   1. `nexus-api serve` and real activity through HTTP (a quiz attempt
#      submitted and graded → notifications and outbox rows, course progress,
#      a pairing code), plus rows written by SQL (a notification with unusual
#      text, an ARIA session and messages, a pending outbox event) and files
#      in the uploads folder (binary, accented name, empty file, empty folder)
#   2. records the row count of every table (listed from the catalog,
#      independently of the scripts under test) and fingerprints (md5 over
#      ordered rows) of users, courses (title, content and the generated search
#      vector), assessment_results, notifications, outbox, aria_messages,
#      auth_tokens, _sqlx_migrations, every sequence's position, and an
#      accent-insensitive French search; and the sha256 of every uploaded file
#   3. scripts/backup.sh (with four fake old backups beside it, to check
#      retention: newest 3 kept, those older than 14 days pruned): private
#      folder, checksums, manifest counts equal the database (per table)
#   4. with ARIA_TEST_QDRANT_URL: a backup with QDRANT_URL holds a scratch
#      collection's snapshot (skipped without it, failed under CI)
#   5. scripts/restore.sh must REFUSE the still-populated database without
#      --force, and must refuse a copy of the backup with one byte changed,
#      in both cases leaving the database untouched
#   6. WIPE: drop the database, delete the uploads folder; create an empty
#      database; scripts/restore.sh latest; compares every count, every
#      fingerprint, the files; then restores once more with --force over the
#      restored data (the replace path) and compares again
#   7. starts the API on the restored database with migrations OFF (the
#      schema must come from the backup), signs in as the demo student,
#      reads /api/auth/me and the notifications, and starts a new quiz attempt
#      (an insert: identity sequences must continue after the restored ids)
# Exits non-zero on any failed test. A trap stops the API, drops the database,
# removes the Redis keys and stops the private servers, whatever happens.
#
# Environment (optional): DATABASE_URL, REDIS_URL (servers to use),
# NEXUS_API_BIN (default target/debug/nexus-api; this script never builds),
# DEMO_PASSWORD (NexusDemo2026!), ARIA_TEST_QDRANT_URL, CI.
# Files: .run/backup-test/run/ (logs, backups; removed on success).
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"

WORK=$NEXUS_ROOT/.run/backup-test
RUN=$WORK/run
API_BIN=${NEXUS_API_BIN:-$(nexus_target_dir)/debug/nexus-api}
DEMO_PASSWORD=${DEMO_PASSWORD:-'NexusDemo2026!'}
# Debian's interpreter: the apt-installed pytest is not visible to another
# python3 that may come first on PATH (pyenv).
PYTHON=/usr/bin/python3

[[ -x $API_BIN ]] || die "$API_BIN not found (build it, or set NEXUS_API_BIN)"
# psql: the tests' SQL; curl: the scripts under test talk to Qdrant with it.
ensure_packages postgresql-client curl ca-certificates python3 python3-pytest
_ensure_python3

# ---------------------------------------------------------------- cleanup
DB_NAME=backup_test_$(rand_hex 10)
DB_CREATED=0
PRIVATE_PG=0
PRIVATE_REDIS=0
REDIS_KEY_PREFIX="backup-test:$(rand_hex 8):"
# The tests write the pid of the API they run here, so that it is stopped
# even if pytest itself is killed.
API_PIDFILE=$RUN/api.pid

# shellcheck disable=SC2317  # invoked through the trap below
cleanup() {
    local rc=$?
    stop_pid_file "$API_PIDFILE" "$API_BIN"
    if [[ $DB_CREATED == 1 ]]; then
        drop_database "$SERVER_URL" "$DB_NAME"
    fi
    if [[ $PRIVATE_REDIS == 0 && -n ${REDIS_URL:-} ]] && command -v redis-cli >/dev/null 2>&1; then
        redis-cli -u "$REDIS_URL" --no-auth-warning --scan --pattern "${REDIS_KEY_PREFIX}*" 2>/dev/null |
            xargs -r -n 500 redis-cli -u "$REDIS_URL" --no-auth-warning del >/dev/null 2>&1 || true
    fi
    if [[ $PRIVATE_PG == 1 || $PRIVATE_REDIS == 1 ]]; then
        stop_private_services "$WORK"
    fi
    if [[ $rc == 0 ]]; then
        rm -rf "$RUN"
    else
        warn "test-backup failed; logs and backups kept in ${RUN#"$NEXUS_ROOT"/}/"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$RUN"
mkdir -p "$RUN"

# ---------------------------------------------------------------- servers
if [[ -z ${DATABASE_URL:-} ]]; then
    PRIVATE_PG=1
    TEST=1 start_postgres "$WORK"
fi
if [[ -z ${REDIS_URL:-} ]]; then
    PRIVATE_REDIS=1
    TEST=1 start_redis "$WORK"
fi
SERVER_URL=$DATABASE_URL
DB_URL=$(url_with_db "$SERVER_URL" "$DB_NAME")
info "database $DB_NAME on $(mask_url "$SERVER_URL")"
create_database "$SERVER_URL" "$DB_NAME"
DB_CREATED=1

# Timestamps print the same way in every session.
export PGTZ=UTC

# ---------------------------------------------------------------- the API
# Its environment, also used by the tests to run `nexus-api serve` (they add
# API_PORT). Migrations OFF at start: after the restore, the schema must come
# from the backup.
api_env=(
    APP_ENV=test
    "DATABASE_URL=$DB_URL"
    "REDIS_URL=$REDIS_URL"
    "REDIS_KEY_PREFIX=$REDIS_KEY_PREFIX"
    BIND_ADDR=127.0.0.1
    "JWT_SECRET_KEY=$(rand_hex 64)"
    "MAILBOX_DIR=$RUN/mailbox"
    "DEMO_PASSWORD=$DEMO_PASSWORD"
    "SEED_CONTENT_DIR=$NEXUS_ROOT/database/seed/courses"
    MIGRATE_ON_START=false
    RUN_WORKER=true
    RUST_LOG=warn
    LOG_FORMAT=json
)
(umask 077 && printf '%s\n' "${api_env[@]}" >"$RUN/api.env")

info "migrating and seeding with $API_BIN"
env "${api_env[@]}" "$API_BIN" migrate >"$RUN/migrate.log" 2>&1 || {
    cat "$RUN/migrate.log" >&2
    die "nexus-api migrate failed"
}
env "${api_env[@]}" "$API_BIN" seed >"$RUN/seed.log" 2>&1 || {
    cat "$RUN/seed.log" >&2
    die "nexus-api seed failed"
}

# ---------------------------------------------------------------- the tests
info "pytest tests/backup"
rc=0
(
    cd "$NEXUS_ROOT" &&
        env PYTHONDONTWRITEBYTECODE=1 \
            "NEXUS_ROOT=$NEXUS_ROOT" \
            "BACKUP_TEST_RUN=$RUN" \
            "BACKUP_TEST_SERVER_URL=$SERVER_URL" \
            "BACKUP_TEST_DB_NAME=$DB_NAME" \
            "BACKUP_TEST_DB_URL=$DB_URL" \
            "BACKUP_TEST_API_BIN=$API_BIN" \
            "BACKUP_TEST_API_ENV=$RUN/api.env" \
            "BACKUP_TEST_API_PIDFILE=$API_PIDFILE" \
            "DEMO_PASSWORD=$DEMO_PASSWORD" \
            "$PYTHON" -m pytest tests/backup -rfEs -v --tb=short -p no:cacheprovider
) || rc=$?

echo
echo "==================== scripts/test-backup.sh ===================="
if ((rc != 0)); then
    echo "RESULT:    FAILED (pytest exit $rc; the failed checks are named above)"
    exit "$rc"
fi
echo "RESULT:    backup → wipe → restore: identical; login works"
