#!/usr/bin/env bash
#
# scripts/test-backup.sh — proof that a backup restores: back up a populated
# platform, destroy it, restore it, and compare.
#
#   1. a database of its own (backup_test_<random>) on DATABASE_URL's server,
#      or on a private Postgres started in .run/backup-test when DATABASE_URL
#      is not set; the same for Redis (private, or REDIS_URL with a key prefix
#      of its own)
#   2. the real API binary: `nexus-api migrate`, `nexus-api seed`, then
#      `nexus-api serve` and real activity through HTTP (a quiz attempt
#      submitted and graded → notifications and outbox rows, course progress,
#      a pairing code), plus rows written by SQL (a notification with unusual
#      text, an ARIA session and messages, a pending outbox event) and files
#      in the uploads folder (binary, accented name, empty file, empty folder)
#   3. records the row count of every table (listed independently of the
#      scripts under test) and fingerprints (md5 over ordered rows) of users,
#      courses (title, content and the generated search vector),
#      assessment_results, notifications, outbox, aria_messages, auth_tokens,
#      _sqlx_migrations, every sequence's position, and an accent-insensitive
#      French search; and the sha256 of every uploaded file
#   4. scripts/backup.sh (with four fake old backups beside it, to check
#      retention: newest 3 kept, those older than 14 days pruned)
#   5. scripts/restore.sh must REFUSE the still-populated database without
#      --force, and must refuse a copy of the backup with one byte changed,
#      in both cases leaving the database untouched
#   6. WIPE: drop the database, delete the uploads folder; create an empty
#      database; scripts/restore.sh latest
#   7. compares everything from step 3: every count, every fingerprint, the
#      files; then restores once more with --force over the restored data
#      (the replace path) and compares again
#   8. starts the API on the restored database with migrations OFF (the
#      schema must come from the backup), signs in as the demo student,
#      reads /api/auth/me and the notifications, and starts a new quiz attempt
#      (an insert: identity sequences must continue after the restored ids)
# Exits non-zero on any difference. A trap stops the API, drops the database,
# removes the Redis keys and stops the private servers, whatever happens.
#
# Environment (optional): DATABASE_URL, REDIS_URL (servers to use),
# NEXUS_API_BIN (default target/debug/nexus-api; this script never builds),
# DEMO_PASSWORD (NexusDemo2026!).
# Files: .run/backup-test/run/ (logs, backups; removed on success).
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"

WORK=$NEXUS_ROOT/.run/backup-test
RUN=$WORK/run
API_BIN=${NEXUS_API_BIN:-$(nexus_target_dir)/debug/nexus-api}
DEMO_PASSWORD=${DEMO_PASSWORD:-'NexusDemo2026!'}
STUDENT=student@nexus-reussite.fr

[[ -x $API_BIN ]] || die "$API_BIN not found (build it, or set NEXUS_API_BIN)"
ensure_packages postgresql-client curl ca-certificates
_ensure_python3

FAILURES=0
fail() {
    printf '[nexus] FAIL: %s\n' "$*" >&2
    FAILURES=$((FAILURES + 1))
}
pass() { printf '[nexus] ok: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- cleanup
API_PID=""
DB_NAME=backup_test_$(rand_hex 10)
DB_CREATED=0
PRIVATE_PG=0
PRIVATE_REDIS=0
REDIS_KEY_PREFIX="backup-test:$(rand_hex 8):"

stop_api() {
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
    API_PID=""
}

# shellcheck disable=SC2317  # invoked through the trap below
cleanup() {
    local rc=$?
    stop_api
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

sql() { psql "$DB_URL" -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }

# ---------------------------------------------------------------- the API
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
UPLOADS=$RUN/uploads
BACKUPS=$RUN/backups
api_env=(
    APP_ENV=test
    "DATABASE_URL=$DB_URL"
    "REDIS_URL=$REDIS_URL"
    "REDIS_KEY_PREFIX=$REDIS_KEY_PREFIX"
    "API_PORT=$PORT"
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

start_api() {
    local log=$1
    env "${api_env[@]}" "$API_BIN" serve >"$log" 2>&1 </dev/null &
    API_PID=$!
    if ! wait_http "$BASE/ready" 60 "$API_PID"; then
        tail -n 40 "$log" >&2 || true
        die "nexus-api did not become ready"
    fi
}

# http METHOD PATH TOKEN [BODY] — sets HTTP_STATUS and HTTP_BODY.
http() {
    local method=$1 path=$2 token=$3 body=${4:-} out
    local -a args=(-sS --max-time 30 -X "$method" -w '\n%{http_code}' -H 'content-type: application/json')
    if [[ -n $token ]]; then
        args+=(-H "authorization: Bearer $token")
    fi
    if [[ -n $body ]]; then
        args+=(--data-binary "$body")
    fi
    out=$(curl "${args[@]}" "$BASE$path") || die "$method $path: no answer"
    HTTP_STATUS=${out##*$'\n'}
    HTTP_BODY=${out%$'\n'*}
}
expect() {
    local want=$1 what=$2
    [[ $HTTP_STATUS == "$want" ]] || die "$what: HTTP $HTTP_STATUS (expected $want): ${HTTP_BODY:0:400}"
}
json() { python3 -c 'import json, sys; v = eval(sys.argv[1], {"j": json.load(sys.stdin)}); print(v)' "$1"; }

# ---------------------------------------------------------------- 1-2. populate
info "migrating and seeding with $API_BIN"
env "${api_env[@]}" "$API_BIN" migrate >"$RUN/migrate.log" 2>&1 || {
    cat "$RUN/migrate.log" >&2
    die "nexus-api migrate failed"
}
env "${api_env[@]}" "$API_BIN" seed >"$RUN/seed.log" 2>&1 || {
    cat "$RUN/seed.log" >&2
    die "nexus-api seed failed"
}

info "activity through the API (port $PORT)"
start_api "$RUN/api-before.log"
TOKEN=$(login_token "$BASE" "$STUDENT" "$DEMO_PASSWORD") || die "login as $STUDENT failed"
QUIZ=$(sql "select a.id from assessments a
    join assessment_classes ac on ac.assessment_id = a.id
    join class_members cm on cm.class_id = ac.class_id
    join users u on u.id = cm.student_id
    where u.email = '$STUDENT' and a.is_published order by a.id limit 1")
[[ -n $QUIZ ]] || die "the seed published no quiz to $STUDENT"
http POST "/api/assessments/$QUIZ/attempts" "$TOKEN"
[[ $HTTP_STATUS == 200 || $HTTP_STATUS == 201 ]] || die "starting an attempt: HTTP $HTTP_STATUS: ${HTTP_BODY:0:400}"
ATTEMPT=$(json 'j["attempt"]["id"]' <<<"$HTTP_BODY")
http POST "/api/attempts/$ATTEMPT/submit" "$TOKEN" '{"answers": {}}'
expect 200 "submitting attempt $ATTEMPT"
COURSE=$(sql "select id from courses where is_published order by id limit 1")
http PUT "/api/courses/$COURSE/progress" "$TOKEN" '{"progressPercentage": 40, "timeSpentSeconds": 600}'
expect 200 "recording progress on course $COURSE"
http POST /api/me/pairing-code "$TOKEN"
[[ $HTTP_STATUS == 200 || $HTTP_STATUS == 201 ]] || die "pairing code: HTTP $HTTP_STATUS: ${HTTP_BODY:0:400}"
stop_api

info "activity through SQL"
sql "insert into notifications (user_id, kind, title, body, data)
     select id, 'backup_test', 'Sauvegarde : « élève » ''quote'' 🎓', E'ligne 1\nligne 2\ttab \\\\ backslash',
            '{\"nested\": {\"é\": [1, 2.5, null, true]}}'
       from users where email = '$STUDENT';
     insert into aria_sessions (user_id, session_id, title, context)
     select id, 'sess-backup-test', 'Récursivité', '{\"currentCourse\": 1}' from users where email = '$STUDENT';
     insert into aria_messages (session_id, message_type, content, metadata) values
       ('sess-backup-test', 'user', 'Qu''est-ce qu''une fonction récursive ?', '{}'),
       ('sess-backup-test', 'assistant', 'Une fonction qui s''appelle elle-même…', '{\"model\": \"extractive\"}');
     insert into outbox (event_id, topic, payload) values (gen_random_uuid(), 'notification', '{\"pending\": true}');" >/dev/null

info "files in the uploads folder"
mkdir -p "$UPLOADS/courses/12" "$UPLOADS/avatars" "$UPLOADS/empty-folder"
head -c 300000 /dev/urandom >"$UPLOADS/courses/12/schéma de l'arbre.png"
printf 'Bonjour « NSI »\n' >"$UPLOADS/avatars/42.txt"
: >"$UPLOADS/avatars/empty.bin"

# ---------------------------------------------------------------- 3. record
# Tables listed from the catalog here, independently of backup.sh's query.
list_tables() {
    sql "select table_schema || '.' || table_name from information_schema.tables
         where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
         order by 1"
}
record_state() {
    local out=$1 t
    {
        while IFS= read -r t; do
            printf 'count %s %s\n' "$t" "$(sql "select count(*) from $t")"
        done < <(list_tables)
        printf 'md5 users %s\n' "$(sql "select md5(coalesce(string_agg(concat_ws('|', id, email, password_hash, first_name, last_name, role, phone, is_active, is_verified, last_login_at, created_at, updated_at), E'\n' order by id), '')) from users")"
        printf 'md5 courses %s\n' "$(sql "select md5(coalesce(string_agg(concat_ws('|', id, title, description, level, category, content::text, prerequisites::text, objectives::text, is_published, published_at, created_by, search::text, search_head::text), E'\n' order by id), '')) from courses")"
        printf 'md5 assessment_results %s\n' "$(sql "select md5(coalesce(string_agg(concat_ws('|', id, assessment_id, student_id, answers::text, score, max_score, status, breakdown::text, attempt_number, started_at, submitted_at, completed_at, is_late), E'\n' order by id), '')) from assessment_results")"
        printf 'md5 notifications %s\n' "$(sql "select md5(coalesce(string_agg(concat_ws('|', id, event_id, user_id, kind, title, body, data::text, created_at, read_at), E'\n' order by id), '')) from notifications")"
        printf 'md5 outbox %s\n' "$(sql "select md5(coalesce(string_agg(concat_ws('|', id, event_id, topic, payload::text, created_at, relayed_at), E'\n' order by id), '')) from outbox")"
        printf 'md5 aria_messages %s\n' "$(sql "select md5(coalesce(string_agg(concat_ws('|', id, session_id, message_type, content, metadata::text, created_at), E'\n' order by id), '')) from aria_messages")"
        printf 'md5 auth_tokens %s\n' "$(sql "select md5(coalesce(string_agg(concat_ws('|', id, user_id, token_hash, token_type, family_id, expires_at, used_at, revoked_at), E'\n' order by id), '')) from auth_tokens")"
        printf 'md5 migrations %s\n' "$(sql "select md5(string_agg(concat_ws('|', version, description, success, encode(checksum, 'hex')), E'\n' order by version)) from _sqlx_migrations")"
        printf 'sequences %s\n' "$(sql "select string_agg(format('%s.%s=%s', schemaname, sequencename, coalesce(last_value::text, 'unset')), ',' order by schemaname, sequencename) from pg_sequences")"
        printf 'search-recursivite %s\n' "$(sql "select count(*) from courses where search @@ websearch_to_tsquery('nexus_fr', 'recursivite')")"
    } >"$out"
}
record_files() {
    local out=$1
    if [[ -d $UPLOADS ]]; then
        (cd "$UPLOADS" && find . -mindepth 1 -type d -printf 'dir %P\n' | sort &&
            find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
    else
        echo "absent"
    fi >"$out"
}

record_state "$RUN/before.txt"
record_files "$RUN/files-before.txt"
TABLES=$(grep -c '^count ' "$RUN/before.txt")
ROWS=$(awk '$1 == "count" {s += $3} END {print s + 0}' "$RUN/before.txt")
STUDENT_NOTIFICATIONS=$(sql "select count(*) from notifications n join users u on u.id = n.user_id where u.email = '$STUDENT'")
MAX_RESULT_ID=$(sql "select max(id) from assessment_results")
[[ $(awk '$1 == "search-recursivite" {print $2}' "$RUN/before.txt") -gt 0 ]] ||
    die "the accent-insensitive search finds nothing before the backup (test data wrong?)"
info "recorded: $TABLES tables, $ROWS rows, $(grep -c . "$RUN/files-before.txt") upload entries"

# ---------------------------------------------------------------- 4. backup
# Four fake old backups: with BACKUP_KEEP_MIN=3 and 14 days, the real one and
# the two newest fakes stay, the two oldest go.
mkdir -p "$BACKUPS"
for days in 20 21 22 23; do
    fake=$BACKUPS/nexus-$(date -u -d "$days days ago" +%Y%m%dT%H%M%SZ)
    mkdir -p "$fake"
    echo '{"format": "fake"}' >"$fake/manifest.json"
done
KEEP_20=nexus-$(date -u -d "20 days ago" +%Y%m%d)
KEEP_21=nexus-$(date -u -d "21 days ago" +%Y%m%d)

backup_env=(
    "DATABASE_URL=$DB_URL"
    "BACKUP_DIR=$BACKUPS"
    "UPLOADS_DIR=$UPLOADS"
    BACKUP_RETENTION_DAYS=14
    BACKUP_KEEP_MIN=3
)
info "scripts/backup.sh"
if ! env -u QDRANT_URL "${backup_env[@]}" bash "$NEXUS_ROOT/scripts/backup.sh" 2>&1 | tee "$RUN/backup.log"; then
    die "backup.sh failed"
fi
mapfile -t remaining < <(find "$BACKUPS" -mindepth 1 -maxdepth 1 -name 'nexus-*' -printf '%f\n' | sort -r)
REAL=${remaining[0]:-}
[[ -n $REAL && -f $BACKUPS/$REAL/database.dump && $REAL == "nexus-$(date -u +%Y%m%d)"* ]] ||
    die "backup.sh left no backup folder of today (found: ${remaining[*]})"
if ((${#remaining[@]} == 3)) && [[ ${remaining[0]} == "$REAL" && ${remaining[1]} == "$KEEP_20"* && ${remaining[2]} == "$KEEP_21"* ]]; then
    pass "retention: kept $REAL and the two newest old backups, pruned the two older than 14 days beyond the minimum of 3"
else
    fail "retention: left ${remaining[*]}"
fi
if [[ -n $(find "$BACKUPS" -maxdepth 1 -name '.nexus-*') ]]; then
    fail "a partial folder was left behind"
fi
[[ $(stat -c %a "$BACKUPS/$REAL") == 700 ]] || fail "the backup folder is not private (mode $(stat -c %a "$BACKUPS/$REAL"))"
(cd "$BACKUPS/$REAL" && sha256sum --quiet -c SHA256SUMS) || fail "sha256sum -c SHA256SUMS"
# The manifest's counts must be the ones recorded here.
python3 - "$BACKUPS/$REAL/manifest.json" "$RUN/before.txt" <<'PY' || fail "manifest counts differ from the recorded state"
import json, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
mine = {}
for line in open(sys.argv[2], encoding="utf-8"):
    parts = line.split()
    if parts[0] == "count":
        mine[parts[1]] = int(parts[2])
theirs = m["database"]["tables"]
if mine != theirs:
    for t in sorted(set(mine) | set(theirs)):
        if mine.get(t) != theirs.get(t):
            print(f"  {t}: recorded {mine.get(t)}, manifest {theirs.get(t)}", file=sys.stderr)
    sys.exit(1)
assert m["qdrant"]["status"] == "skipped", m["qdrant"]
assert m["uploads"]["present"] and m["uploads"]["files"] == 3, m["uploads"]
assert m["database"]["schemaVersion"], m["database"]["schemaVersion"]
assert not any("mailbox" in f["path"] for f in m["files"]), "the mailbox must not be backed up"
PY
pass "backup $REAL: manifest counts equal the database, checksums verify"

# ---------------------------------------------------------------- 4b. Qdrant snapshots
# The backup above runs without Qdrant (a deployment on the embedded store). With
# one, every collection's snapshot is downloaded and checked: here against the real
# Qdrant the test command started, on a scratch collection, into a folder of its own.
if [[ -z ${ARIA_TEST_QDRANT_URL:-} ]]; then
    if [[ -n ${CI:-} ]]; then
        fail "no Qdrant for the snapshot check (ARIA_TEST_QDRANT_URL is unset under CI)"
    else
        info "qdrant snapshot check: SKIPPED (no Qdrant: ARIA_TEST_QDRANT_URL is unset)"
    fi
else
    QDRANT=${ARIA_TEST_QDRANT_URL%/}
    COLLECTION=backup_test_$(rand_hex 6)
    qdrant_put() {
        curl -fsS -X PUT -H 'content-type: application/json' "$QDRANT/$1" -d "$2" >/dev/null
    }
    if qdrant_put "collections/$COLLECTION" '{"vectors": {"size": 4, "distance": "Cosine"}}' &&
        qdrant_put "collections/$COLLECTION/points?wait=true" \
            '{"points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4], "payload": {"course": "graphes"}}]}'; then
        info "scripts/backup.sh with QDRANT_URL (collection $COLLECTION)"
        if env "${backup_env[@]}" "BACKUP_DIR=$RUN/with-qdrant" "QDRANT_URL=$QDRANT" \
            "QDRANT_COLLECTIONS=$COLLECTION" bash "$NEXUS_ROOT/scripts/backup.sh" >"$RUN/backup-qdrant.log" 2>&1; then
            folder=$(find "$RUN/with-qdrant" -mindepth 1 -maxdepth 1 -name 'nexus-*' -print -quit)
            if [[ -n $folder ]] && (cd "$folder" && sha256sum --quiet -c SHA256SUMS) &&
                python3 - "$folder" "$COLLECTION" <<'PY'
import json, os, sys
folder, name = sys.argv[1], sys.argv[2]
q = json.load(open(os.path.join(folder, "manifest.json"), encoding="utf-8"))["qdrant"]
assert q["status"] == "ok", q
assert [c["name"] for c in q["collections"]] == [name], q
snapshot = os.path.join(folder, q["collections"][0]["file"])
assert os.path.getsize(snapshot) > 0, snapshot
PY
            then
                pass "qdrant: the snapshot of $COLLECTION is in the backup, listed in its manifest, checksums verify"
            else
                fail "qdrant: the backup's snapshot or manifest is wrong (log: $RUN/backup-qdrant.log)"
            fi
        else
            tail -n 20 "$RUN/backup-qdrant.log" >&2
            fail "backup.sh failed with QDRANT_URL set"
        fi
    else
        fail "could not create the scratch collection on $QDRANT"
    fi
    curl -fsS -X DELETE "$QDRANT/collections/$COLLECTION" >/dev/null || true
    rm -rf "$RUN/with-qdrant"
fi

restore_env=(
    "DATABASE_URL=$DB_URL"
    "BACKUP_DIR=$BACKUPS"
    "UPLOADS_DIR=$UPLOADS"
)

# ---------------------------------------------------------------- 5. refusals
info "restore.sh must refuse a non-empty database without --force"
if env "${restore_env[@]}" bash "$NEXUS_ROOT/scripts/restore.sh" latest >"$RUN/refuse.log" 2>&1; then
    fail "restore.sh restored over a non-empty database without --force"
elif grep -q 'not empty' "$RUN/refuse.log"; then
    pass "refused: $(grep -m1 'not empty' "$RUN/refuse.log" | sed 's/^\[nexus\] ERROR: //')"
else
    fail "restore.sh failed for another reason: $(tail -n 3 "$RUN/refuse.log")"
fi

info "restore.sh must refuse a damaged backup (even with --force)"
cp -a "$BACKUPS/$REAL" "$RUN/damaged"
python3 - "$RUN/damaged/database.dump" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x01]))
PY
if env "${restore_env[@]}" bash "$NEXUS_ROOT/scripts/restore.sh" --force "$RUN/damaged" >"$RUN/damaged.log" 2>&1; then
    fail "restore.sh accepted a damaged backup"
elif grep -q 'MISMATCH' "$RUN/damaged.log"; then
    pass "refused: $(grep -m1 'MISMATCH' "$RUN/damaged.log" | sed 's/^ *//')"
else
    fail "restore.sh failed on the damaged backup for another reason: $(tail -n 3 "$RUN/damaged.log")"
fi
rm -rf "$RUN/damaged"
record_state "$RUN/after-refusals.txt"
if diff -q "$RUN/before.txt" "$RUN/after-refusals.txt" >/dev/null; then
    pass "the refused restores left the database untouched"
else
    fail "the refused restores changed the database"
fi

# ---------------------------------------------------------------- 6. wipe + restore
info "WIPE: dropping $DB_NAME and deleting the uploads folder"
drop_database "$SERVER_URL" "$DB_NAME"
rm -rf "$UPLOADS"
create_database "$SERVER_URL" "$DB_NAME"
[[ $(sql "select count(*) from information_schema.tables where table_schema = 'public'") == 0 ]] ||
    die "the recreated database is not empty"

compare() {
    local label=$1
    record_state "$RUN/after-$label.txt"
    record_files "$RUN/files-after-$label.txt"
    if diff -u "$RUN/before.txt" "$RUN/after-$label.txt" >"$RUN/diff-$label.txt"; then
        pass "$label: $TABLES tables, $ROWS rows: every count, fingerprint, sequence and the search identical"
    else
        cat "$RUN/diff-$label.txt" >&2
        fail "$label: the database differs from before the backup"
    fi
    if diff -u "$RUN/files-before.txt" "$RUN/files-after-$label.txt" >"$RUN/files-diff-$label.txt"; then
        pass "$label: uploads identical ($(grep -c '^[0-9a-f]\{64\}' "$RUN/files-before.txt") files by sha256, folders)"
    else
        cat "$RUN/files-diff-$label.txt" >&2
        fail "$label: the uploads differ"
    fi
}

info "scripts/restore.sh latest (into the empty database)"
env "${restore_env[@]}" bash "$NEXUS_ROOT/scripts/restore.sh" latest 2>&1 | tee "$RUN/restore.log" ||
    die "restore.sh failed"
compare restore

info "scripts/restore.sh --force (over the restored data)"
env "${restore_env[@]}" bash "$NEXUS_ROOT/scripts/restore.sh" --force "$BACKUPS/$REAL" >"$RUN/restore-force.log" 2>&1 || {
    tail -n 30 "$RUN/restore-force.log" >&2
    die "restore.sh --force failed"
}
aside=$(find "$RUN" -maxdepth 1 -name 'uploads.before-restore-*' -print -quit)
if [[ -n $aside ]]; then
    pass "--force moved the existing uploads aside (${aside##*/})"
    rm -rf "$aside"
else
    fail "--force did not keep the previous uploads folder aside"
fi
compare restore-force

# ---------------------------------------------------------------- 8. the API
info "the API on the restored database (migrations off)"
start_api "$RUN/api-after.log"
if TOKEN=$(login_token "$BASE" "$STUDENT" "$DEMO_PASSWORD"); then
    pass "POST /api/auth/login as $STUDENT: 200"
else
    fail "login as $STUDENT after the restore"
    TOKEN=""
fi
if [[ -n $TOKEN ]]; then
    http GET /api/auth/me "$TOKEN"
    if [[ $HTTP_STATUS == 200 && $(json 'j["user"]["email"]' <<<"$HTTP_BODY") == "$STUDENT" ]]; then
        pass "GET /api/auth/me: 200, $STUDENT"
    else
        fail "GET /api/auth/me: HTTP $HTTP_STATUS ${HTTP_BODY:0:200}"
    fi
    http GET "/api/notifications?limit=1" "$TOKEN"
    total=$(json 'j["pagination"]["total"]' <<<"$HTTP_BODY" 2>/dev/null || echo "?")
    if [[ $HTTP_STATUS == 200 && $total == "$STUDENT_NOTIFICATIONS" ]]; then
        pass "GET /api/notifications: $total, as before the backup"
    else
        fail "GET /api/notifications: HTTP $HTTP_STATUS, total $total (expected $STUDENT_NOTIFICATIONS)"
    fi
    http POST "/api/assessments/$QUIZ/attempts" "$TOKEN"
    if [[ $HTTP_STATUS == 200 || $HTTP_STATUS == 201 ]]; then
        new_id=$(json 'j["attempt"]["id"]' <<<"$HTTP_BODY")
        if ((new_id > MAX_RESULT_ID)); then
            pass "a new attempt (id $new_id > $MAX_RESULT_ID): the identity sequences continue"
        else
            fail "new attempt id $new_id is not above the restored maximum $MAX_RESULT_ID"
        fi
    else
        fail "starting a new attempt after the restore: HTTP $HTTP_STATUS ${HTTP_BODY:0:300}"
    fi
fi
stop_api

echo
echo "==================== scripts/test-backup.sh ===================="
echo "populated: $TABLES tables, $ROWS rows, $(grep -c '^[0-9a-f]\{64\}' "$RUN/files-before.txt") uploaded files"
echo "backup:    $REAL ($(du -sh "$BACKUPS/$REAL" | cut -f1))"
if ((FAILURES > 0)); then
    echo "RESULT:    $FAILURES check(s) FAILED (see above)"
    exit 1
fi
echo "RESULT:    backup → wipe → restore: identical; login works"
