#!/usr/bin/env bash
#
# scripts/restore.sh — restore a backup made by scripts/backup.sh.
#
#   scripts/restore.sh [--force] [--no-uploads] BACKUP
#
# BACKUP is a backup folder (BACKUP_DIR/nexus-<timestamp>), its manifest.json,
# or `latest` (the newest finished backup in BACKUP_DIR).
#
# What it does, in this order:
#   1. verifies the sha256 of every file against manifest.json (and the
#      manifest against SHA256SUMS): a damaged backup is refused before
#      anything is touched
#   2. checks the target: the database DATABASE_URL must exist and be EMPTY,
#      and UPLOADS_DIR absent or empty — unless --force
#   3. restores the database in ONE transaction (pg_restore's SQL piped into
#      psql, committed only if pg_restore read the whole archive): on any
#      error nothing changes. With --force, the same transaction first drops
#      the public schema (every table, the unaccent extension, the nexus_fr
#      search configuration) and recreates it empty, so the result is exactly
#      the backup, not a merge. Then ANALYZE (statistics are not in dumps).
#   4. restores the uploads into UPLOADS_DIR; with --force an existing,
#      non-empty UPLOADS_DIR is moved aside to UPLOADS_DIR.before-restore-<ts>
#   5. Qdrant: when the backup holds collection snapshots and QDRANT_URL is
#      set, uploads each one (POST /collections/{name}/snapshots/upload
#      ?priority=snapshot), which replaces that collection; otherwise says so
#   6. compares the row count of every table with the manifest, and the
#      schema version, and prints the comparison. Exit 1 on any difference.
#
# Stop the services first (api, hub, aria): a restore under a running API
# competes with its writes. Migrations need not run afterwards unless the
# code is newer than the backup (the API applies them at start outside
# production; `nexus-api migrate` otherwise).
#
# Options:
#   --force        replace a non-empty database / uploads folder (see above)
#   --no-uploads   leave UPLOADS_DIR alone
# Environment: DATABASE_URL, BACKUP_DIR, UPLOADS_DIR, QDRANT_URL,
# QDRANT_API_KEY, BACKUP_PG_EXEC — as for scripts/backup.sh.
# The database itself is not created: `createdb`, or
# `psql postgres://…/postgres -c 'create database nexus'`.
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The helpers (bk_*) and provision.sh.
# shellcheck source-path=SCRIPTDIR source=backup.sh
source "$NEXUS_ROOT/scripts/backup.sh"

FORCE=0
UPLOADS=1
BACKUP=""
while (($#)); do
    case $1 in
        --force) FORCE=1 ;;
        --no-uploads) UPLOADS=0 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
            exit 0
            ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *)
            [[ -z $BACKUP ]] || die "one backup at a time (got '$BACKUP' and '$1')"
            BACKUP=$1
            ;;
    esac
    shift
done
[[ -n $BACKUP ]] || die "usage: scripts/restore.sh [--force] [--no-uploads] BACKUP|latest"

DATABASE_URL=${DATABASE_URL:-$BK_DEFAULT_DATABASE_URL}
BACKUP_DIR=${BACKUP_DIR:-$NEXUS_ROOT/var/backups}
UPLOADS_DIR=${UPLOADS_DIR:-$NEXUS_ROOT/var/uploads}
_ensure_python3

# ---------------------------------------------------------------- the backup
if [[ $BACKUP == latest ]]; then
    latest=$(bk_list_backups "$BACKUP_DIR" | head -n 1)
    [[ -n $latest ]] || die "no finished backup in $BACKUP_DIR"
    BACKUP=$BACKUP_DIR/$latest
fi
if [[ -f $BACKUP && ${BACKUP##*/} == manifest.json ]]; then
    BACKUP=$(dirname "$BACKUP")
fi
[[ -d $BACKUP ]] || die "$BACKUP is not a backup folder"
BACKUP=$(cd "$BACKUP" && pwd)
MANIFEST=$BACKUP/manifest.json
[[ -f $MANIFEST ]] || die "$BACKUP has no manifest.json (not a finished backup)"

# manifest_get EXPR — a value of the manifest (python expression over m).
manifest_get() {
    python3 - "$MANIFEST" "$1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
v = eval(sys.argv[2], {"m": m})
print("" if v is None else v)
PY
}

info "restoring $BACKUP"
info "verifying checksums"
python3 - "$BACKUP" <<'PY' || die "the backup is damaged or incomplete: nothing was restored"
import hashlib, json, os, sys
d = sys.argv[1]
def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
bad = 0
sums = os.path.join(d, "SHA256SUMS")
if os.path.exists(sums):
    for line in open(sums, encoding="utf-8"):
        digest, _, path = line.rstrip("\n").partition("  ")
        if path == "manifest.json" and sha256(os.path.join(d, path)) != digest:
            print("  manifest.json: does not match SHA256SUMS", file=sys.stderr)
            bad += 1
m = json.load(open(os.path.join(d, "manifest.json"), encoding="utf-8"))
if m.get("format") != "nexus-backup/1":
    print(f"  unknown manifest format {m.get('format')!r}", file=sys.stderr)
    sys.exit(1)
for f in m["files"]:
    p = os.path.join(d, f["path"])
    if not os.path.exists(p):
        print(f"  {f['path']}: MISSING", file=sys.stderr)
        bad += 1
    elif os.path.getsize(p) != f["bytes"] or sha256(p) != f["sha256"]:
        print(f"  {f['path']}: sha256 MISMATCH", file=sys.stderr)
        bad += 1
    else:
        print(f"  {f['path']}: ok ({f['bytes']} bytes)", file=sys.stderr)
sys.exit(1 if bad else 0)
PY

BACKUP_SCHEMA=$(manifest_get 'm["database"]["schemaVersion"]')
UPLOADS_PRESENT=$(manifest_get 'm["uploads"]["present"]')

# ---------------------------------------------------------------- the target
bk_pg_tools "$DATABASE_URL"
info "target database: $(mask_url "$DATABASE_URL") (PostgreSQL $BK_SERVER_VERSION)"

# shellcheck disable=SC2016  # SQL
EXISTING=$(bk_query "$DATABASE_URL" "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'")
if ((EXISTING > 0)); then
    current=$(bk_query "$DATABASE_URL" "select case when to_regclass('public._sqlx_migrations') is null then 'none'
        else (select coalesce(max(version)::text, 'none') from public._sqlx_migrations) end")
    if ((FORCE == 0)); then
        die "the target database is not empty ($EXISTING relations; schema version $current). Stop the services and re-run with --force to replace its contents."
    fi
    warn "the target database is not empty ($EXISTING relations, schema version $current): --force, its contents will be replaced"
fi
OTHERS=$(bk_query "$DATABASE_URL" "select coalesce(string_agg(coalesce(nullif(application_name, ''), '?') || ' (pid ' || pid || ')', ', '), '')
    from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()")
if [[ -n $OTHERS ]]; then
    warn "other sessions are connected to this database: $OTHERS — stop the services (api, hub, aria) before restoring"
fi

if ((UPLOADS == 1)) && [[ $UPLOADS_PRESENT == True ]] && [[ -d $UPLOADS_DIR ]] &&
    [[ -n $(find "$UPLOADS_DIR" -mindepth 1 -print -quit) ]]; then
    if ((FORCE == 0)); then
        die "$UPLOADS_DIR is not empty. Re-run with --force (it is then moved aside, not deleted), or with --no-uploads."
    fi
fi

# ---------------------------------------------------------------- database
# The SQL stream: (with --force) empty the public schema, then the dump as SQL,
# then COMMIT only if pg_restore succeeded. psql stops at the first error
# (ON_ERROR_STOP) and a transaction left open at the end is rolled back.
restore_sql() {
    printf 'begin;\n'
    if ((FORCE == 1)); then
        # Back to a new database's public schema. From PostgreSQL 15 it is
        # owned by pg_database_owner and PUBLIC may only use it.
        if ((BK_SERVER_MAJOR >= 15)); then
            printf 'drop schema if exists public cascade;\ncreate schema public authorization pg_database_owner;\ngrant usage on schema public to public;\n'
        else
            printf 'drop schema if exists public cascade;\ncreate schema public;\ngrant all on schema public to public;\n'
        fi
    fi
    local -a args=(--no-owner --no-privileges --file=-)
    if [[ -n ${BACKUP_PG_EXEC:-} ]]; then
        "${BK_PG_RESTORE[@]}" "${args[@]}" <"$BACKUP/database.dump" || return 1
    else
        "${BK_PG_RESTORE[@]}" "${args[@]}" "$BACKUP/database.dump" || return 1
    fi
    printf 'commit;\n'
}
info "restoring the database (one transaction)"
started=$SECONDS
psql_log=$(mktemp "${TMPDIR:-/tmp}/nexus-restore.XXXXXX")
if ! restore_sql | "${BK_PSQL[@]}" "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 >"$psql_log" 2>&1; then
    tail -n 20 "$psql_log" >&2
    rm -f "$psql_log"
    die "the database restore failed and was rolled back: the database is as it was"
fi
if grep -q -E '^(ERROR|FATAL)' "$psql_log"; then
    tail -n 20 "$psql_log" >&2
    rm -f "$psql_log"
    die "the database restore reported errors"
fi
rm -f "$psql_log"
bk_query "$DATABASE_URL" "analyze" >/dev/null
info "database restored in $((SECONDS - started))s, statistics refreshed (ANALYZE)"

# ---------------------------------------------------------------- uploads
if ((UPLOADS == 0)); then
    info "uploads: skipped (--no-uploads)"
elif [[ $UPLOADS_PRESENT != True ]]; then
    info "uploads: the backup has none (the source folder was absent); $UPLOADS_DIR left alone"
else
    if [[ -d $UPLOADS_DIR && -n $(find "$UPLOADS_DIR" -mindepth 1 -print -quit) ]]; then
        aside=$UPLOADS_DIR.before-restore-$(date -u +%Y%m%dT%H%M%SZ)
        mv -- "$UPLOADS_DIR" "$aside"
        warn "uploads: the existing $UPLOADS_DIR was moved to $aside"
    fi
    mkdir -p "$UPLOADS_DIR"
    tar -C "$UPLOADS_DIR" -xzf "$BACKUP/uploads.tar.gz" || die "extracting the uploads failed"
    files=$(find "$UPLOADS_DIR" -type f | wc -l)
    bytes=$(find "$UPLOADS_DIR" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    want_files=$(manifest_get 'm["uploads"]["files"]')
    want_bytes=$(manifest_get 'm["uploads"]["bytes"]')
    if [[ $files != "$want_files" || $bytes != "$want_bytes" ]]; then
        die "uploads: restored $files files / $bytes bytes, the backup recorded $want_files / $want_bytes"
    fi
    info "uploads: $files files, $(bk_human "$bytes") restored into $UPLOADS_DIR"
fi

# ---------------------------------------------------------------- qdrant
QDRANT_STATUS=$(manifest_get 'm["qdrant"]["status"]')
if [[ $QDRANT_STATUS != ok ]]; then
    info "qdrant: the backup holds no vector snapshot ($QDRANT_STATUS: $(manifest_get 'm["qdrant"].get("reason")'))"
elif [[ -z ${QDRANT_URL:-} ]]; then
    warn "qdrant: the backup holds collection snapshots but QDRANT_URL is not set; not restored (ARIA can re-index published courses)"
else
    command -v curl >/dev/null 2>&1 || ensure_packages curl ca-certificates
    while IFS=$'\t' read -r cname cfile; do
        [[ -n $cname ]] || continue
        info "qdrant: recovering collection $cname from $cfile"
        BK_CURL_TIMEOUT=3600 bk_curl -X POST \
            "${QDRANT_URL%/}/collections/$(bk_urlencode "$cname")/snapshots/upload?priority=snapshot&wait=true" \
            -F "snapshot=@$BACKUP/$cfile" >/dev/null ||
            die "qdrant: recovering $cname failed (the database and uploads ARE restored)"
    done < <(python3 - "$MANIFEST" <<'PY'
import json, sys
for c in json.load(open(sys.argv[1], encoding="utf-8"))["qdrant"].get("collections", []):
    print(f"{c['name']}\t{c['file']}")
PY
    )
fi

# ---------------------------------------------------------------- compare
info "comparing with the manifest"
counts=$(mktemp "${TMPDIR:-/tmp}/nexus-counts.XXXXXX")
bk_query "$DATABASE_URL" "$BK_COUNTS_SQL" >"$counts"
if [[ $(bk_query "$DATABASE_URL" "$BK_HAS_MIGRATIONS_SQL") == t ]]; then
    RESTORED_SCHEMA=$(bk_query "$DATABASE_URL" "select max(version) from _sqlx_migrations where success")
else
    RESTORED_SCHEMA=""
fi
compare_rc=0
python3 - "$MANIFEST" "$counts" "$RESTORED_SCHEMA" <<'PY' || compare_rc=$?
import json, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
want = m["database"]["tables"]
got = {}
for line in open(sys.argv[2], encoding="utf-8"):
    line = line.rstrip("\n")
    if line:
        t, c = line.split("\t")
        got[t] = int(c)
diff = 0
width = max([len(t) for t in set(want) | set(got)] + [5])
print(f"\n  {'table':<{width}}  {'backup':>9}  {'restored':>9}")
for t in sorted(set(want) | set(got)):
    w, g = want.get(t), got.get(t)
    mark = "" if w == g else "   <-- DIFFERENT"
    diff += w != g
    print(f"  {t:<{width}}  {'-' if w is None else w:>9}  {'-' if g is None else g:>9}{mark}")
ws, gs = m["database"]["schemaVersion"], sys.argv[3] or None
gs = int(gs) if gs else None
print(f"\n  schema version: backup {ws}, restored {gs}" + ("" if ws == gs else "   <-- DIFFERENT"))
diff += ws != gs
print(f"  tables: {len(want)} in the backup, {len(got)} restored; rows: {sum(want.values())} / {sum(got.values())}")
sys.exit(1 if diff else 0)
PY
rm -f "$counts"
if ((compare_rc != 0)); then
    die "the restored database differs from the manifest (see above)"
fi

cat <<EOF

restore of $(basename "$BACKUP") complete: row counts and schema version ($BACKUP_SCHEMA) match the manifest.
After a restore to an earlier point in time:
  - sessions opened after the backup are gone (their refresh tokens are unknown): users sign in again;
  - the Redis stream still holds events newer than the backup; to drop them:
      redis-cli -u "\$REDIS_URL" DEL "\${REDIS_KEY_PREFIX:-nexus:}stream:events"
    (hub clients then resume with complete=false and reload GET /api/notifications);
  - start the services; the API applies newer migrations at start outside production,
    in production run \`nexus-api migrate\` (the compose file's migrate service) first.
EOF
