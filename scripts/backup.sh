#!/usr/bin/env bash
#
# scripts/backup.sh — back up what Nexus Réussite cannot rebuild.
#
#   scripts/backup.sh            one backup now, then prune the old ones
#   scripts/backup.sh --help
#
# A backup is ONE folder, BACKUP_DIR/nexus-<UTC timestamp>/, holding:
#   database.dump    pg_dump --format=custom --no-owner of DATABASE_URL: every
#                    table (accounts, courses, results, notifications, outbox,
#                    ARIA's sessions/messages and the vectors ARIA keeps in
#                    Postgres), taken in ONE snapshot
#   uploads.tar.gz   UPLOADS_DIR (absent or empty is fine: recorded as such)
#   qdrant/          one snapshot per Qdrant collection, only when QDRANT_URL
#                    is set (POST /collections/{name}/snapshots, then download)
#   manifest.json    what is in it: sizes and sha256 of every file, the schema
#                    version (_sqlx_migrations), the row count of every table
#                    (counted in the same snapshot as the dump, so they match
#                    it exactly), server and pg_dump versions
#   SHA256SUMS       the same checksums, for `sha256sum -c SHA256SUMS`
# It is written as .nexus-<timestamp>.partial and renamed only when complete:
# a folder named nexus-* is always a finished backup.
#
# NOT backed up, on purpose: the dev mailbox (MAILBOX_DIR: password-reset mails
# of a development machine, useless once read), Redis (rate-limit counters and
# the event stream: transient; clients reload notifications from the API).
#
# Then old backups are pruned: those older than BACKUP_RETENTION_DAYS go,
# except that the newest BACKUP_KEEP_MIN always stay (a backup job that broke
# two weeks ago must not leave you with nothing).
#
# Restore with scripts/restore.sh; schedule (cron, systemd): docs/OPERATIONS.md.
#
# Environment (all optional):
#   DATABASE_URL            the database (default: the services' default,
#                           postgres://nexus:nexus@127.0.0.1:5432/nexus)
#   BACKUP_DIR              where backups go (default: <repo>/var/backups)
#   UPLOADS_DIR             uploaded files (default: <repo>/var/uploads)
#   BACKUP_RETENTION_DAYS   14
#   BACKUP_KEEP_MIN         3
#   QDRANT_URL              e.g. http://127.0.0.1:6333; unset: no vector snapshot
#   QDRANT_API_KEY          sent as the api-key header when set
#   QDRANT_COLLECTIONS      comma-separated; default: every collection
#   BACKUP_PG_EXEC          run psql/pg_dump/pg_restore through this command
#                           prefix instead of the host's client, e.g.
#                           "docker compose --env-file .env -f docker/docker-compose.prod.yml exec -T postgres"
#                           (DATABASE_URL is then seen from inside that container)
# Needs: pg_dump/psql of the server's major version (installed with apt-get:
# postgresql-client-<major>), python3, tar, gzip; curl for Qdrant.
# Exit status: 0 done; 1 failed (nothing kept); 2 the database and uploads are
# backed up but the Qdrant snapshot failed (the folder is kept, see manifest).
#
# This file is also sourced by scripts/restore.sh for its helpers (bk_*);
# sourced, it only defines functions.

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"

BK_DEFAULT_DATABASE_URL=postgres://nexus:nexus@127.0.0.1:5432/nexus
# Backup folder names: nexus-YYYYmmddTHHMMSSZ (UTC); sorting by name is sorting by age.
BK_NAME_RE='^nexus-[0-9]{8}T[0-9]{6}Z$'

# Every table of the database with its exact row count, in one statement (so it
# runs inside one snapshot). Tables that belong to an extension are left out.
# Output: "schema.table<TAB>count" lines, sorted.
# shellcheck disable=SC2016  # SQL, not shell
BK_COUNTS_SQL='select format($f$%I.%I$f$, n.nspname, c.relname),
       (xpath($x$/row/c/text()$x$,
              query_to_xml(format($q$select count(*) as c from %I.%I$q$, n.nspname, c.relname),
                           false, true, $e$$e$)))[1]::text::bigint
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ($r$r$r$, $r$p$r$)
   and n.nspname not in ($s$pg_catalog$s$, $s$information_schema$s$)
   and n.nspname !~ $s$^pg_(toast|temp)$s$
   and not exists (select 1 from pg_depend d
                    where d.classid = $c$pg_class$c$::regclass and d.objid = c.oid and d.deptype = $d$e$d$)
 order by 1;'

# The applied migrations ("version<TAB>description<TAB>checksum"), nothing when
# the database has never been migrated.
BK_MIGRATIONS_SQL="select version, description, encode(checksum, 'hex')
  from _sqlx_migrations where success order by version;"
BK_HAS_MIGRATIONS_SQL="select to_regclass('public._sqlx_migrations') is not null;"

# bk_psql_base: the psql command line (array BK_PSQL) for DATABASE_URL.
# bk_pg_tools URL — choose psql/pg_dump/pg_restore of the server's major
# version; sets the arrays BK_PSQL, BK_PG_DUMP, BK_PG_RESTORE and
# BK_SERVER_VERSION ("15.18"), BK_SERVER_MAJOR.
bk_pg_tools() {
    local url=$1 prefix=() bindir="" major num
    if [[ -n ${BACKUP_PG_EXEC:-} ]]; then
        read -r -a prefix <<<"$BACKUP_PG_EXEC"
        BK_PSQL=("${prefix[@]}" psql)
        BK_PG_DUMP=("${prefix[@]}" pg_dump)
        BK_PG_RESTORE=("${prefix[@]}" pg_restore)
    else
        command -v psql >/dev/null 2>&1 || ensure_packages postgresql-client
        BK_PSQL=(psql)
    fi
    num=$("${BK_PSQL[@]}" "$url" -X -A -t -q -v ON_ERROR_STOP=1 -c 'show server_version_num' 2>&1) ||
        die "cannot connect to $(mask_url "$url"): ${num:0:300}"
    [[ $num =~ ^[0-9]+$ ]] || die "unexpected server_version_num from $(mask_url "$url"): ${num:0:100}"
    major=$((num / 10000))
    # shellcheck disable=SC2034  # read by scripts/restore.sh
    BK_SERVER_MAJOR=$major
    BK_SERVER_VERSION=$("${BK_PSQL[@]}" "$url" -X -A -t -q -c 'show server_version' | awk '{print $1}')
    if [[ -n ${BACKUP_PG_EXEC:-} ]]; then
        return 0
    fi
    # The client tools of the server's major version: pg_dump refuses a newer
    # server, and a dump is best restored by the pg_restore of its own version.
    bindir=/usr/lib/postgresql/$major/bin
    if [[ ! -x $bindir/pg_dump ]]; then
        # In a subshell: ensure_packages exits on failure, and a version
        # Debian does not ship (PGDG only) is handled below.
        (ensure_packages "postgresql-client-$major") || true
    fi
    if [[ ! -x $bindir/pg_dump ]]; then
        # A newer pg_dump also dumps an older server.
        local d v
        bindir=""
        while read -r d; do
            v=${d#/usr/lib/postgresql/}
            v=${v%%/*}
            if [[ $v =~ ^[0-9]+$ ]] && ((v >= major)) && [[ -x $d/pg_dump ]]; then
                bindir=$d
                break
            fi
        done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V)
        [[ -n $bindir ]] || die "no pg_dump for PostgreSQL $major: install postgresql-client-$major (from apt.postgresql.org when Debian does not ship it)"
        warn "postgresql-client-$major is not installable; using the newer $bindir/pg_dump"
    fi
    BK_PSQL=("$bindir/psql")
    BK_PG_DUMP=("$bindir/pg_dump")
    BK_PG_RESTORE=("$bindir/pg_restore")
}

# bk_query URL SQL — run one statement, print unaligned tab-separated rows.
bk_query() {
    "${BK_PSQL[@]}" "$1" -X -A -t -q -F $'\t' -v ON_ERROR_STOP=1 -c "$2"
}

# bk_human BYTES — 1.2M style.
bk_human() {
    numfmt --to=iec --suffix=B --format='%.1f' "$1" 2>/dev/null || printf '%sB' "$1"
}

# bk_curl ARGS... — curl against Qdrant with its API key, failing on HTTP errors.
bk_curl() {
    local -a auth=()
    if [[ -n ${QDRANT_API_KEY:-} ]]; then
        auth=(-H "api-key: $QDRANT_API_KEY")
    fi
    curl -fsS --max-time "${BK_CURL_TIMEOUT:-600}" "${auth[@]}" "$@"
}

# bk_urlencode STRING
bk_urlencode() {
    python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# ---------------------------------------------------------------------------
# Backup steps
# ---------------------------------------------------------------------------

# bk_dump_database URL DIR — the dump, the row counts and the migrations, all
# from one snapshot: a psql session exports its snapshot, pg_dump uses it
# (--snapshot), and the counts are taken in that same transaction.
# Writes DIR/database.dump, DIR/.counts.tsv, DIR/.migrations.tsv,
# DIR/.db.env (facts for the manifest).
bk_dump_database() {
    local url=$1 dir=$2 snapshot line has_migrations pgdump_version dbname dbsize
    local end_marker=__nexus_backup_end__

    # The snapshot holder. Its stdout is read line by line; ON_ERROR_STOP makes
    # it exit (EOF for us) on any error.
    coproc BK_SNAP { "${BK_PSQL[@]}" "$url" -X -A -t -q -F $'\t' -v ON_ERROR_STOP=1 2>&1; }
    # Duplicate the coprocess' descriptors: bash closes BK_SNAP[*] when it ends.
    local snap_in snap_out
    exec {snap_in}<&"${BK_SNAP[0]}" {snap_out}>&"${BK_SNAP[1]}"

    # bk__ask SQL — send SQL followed by an end marker, print what came back.
    bk__ask() {
        printf '%s\nselect %s;\n' "$1" "'$end_marker'" >&"$snap_out"
        local l
        while IFS= read -r -t 3600 l <&"$snap_in"; do
            if [[ $l == "$end_marker" ]]; then
                return 0
            fi
            printf '%s\n' "$l"
        done
        return 1
    }

    snapshot=$(bk__ask "begin transaction isolation level repeatable read, read only; select pg_export_snapshot();") ||
        die "could not open a snapshot on $(mask_url "$url"): $snapshot"
    [[ $snapshot =~ ^[0-9A-F-]+$ ]] || die "unexpected snapshot id: ${snapshot:0:300}"

    info "dumping $(mask_url "$url") (PostgreSQL $BK_SERVER_VERSION, snapshot $snapshot)"
    # --lock-wait-timeout: fail rather than queue behind (and block) an
    # exclusive lock, e.g. a migration.
    if ! "${BK_PG_DUMP[@]}" --dbname="$url" --format=custom --no-owner \
        --snapshot="$snapshot" --lock-wait-timeout=60000 >"$dir/database.dump" 2>"$dir/.pg_dump.err"; then
        cat "$dir/.pg_dump.err" >&2
        die "pg_dump failed"
    fi
    rm -f "$dir/.pg_dump.err"

    bk__ask "$BK_COUNTS_SQL" >"$dir/.counts.tsv" || die "counting rows failed: $(tail -n 5 "$dir/.counts.tsv")"
    if grep -q -E '^(ERROR|FATAL|psql):' "$dir/.counts.tsv"; then
        die "counting rows failed: $(head -n 5 "$dir/.counts.tsv")"
    fi
    has_migrations=$(bk__ask "$BK_HAS_MIGRATIONS_SQL") || die "reading _sqlx_migrations failed"
    if [[ $has_migrations == t ]]; then
        bk__ask "$BK_MIGRATIONS_SQL" >"$dir/.migrations.tsv" || die "reading _sqlx_migrations failed"
    else
        warn "the database has no _sqlx_migrations table (never migrated?)"
        : >"$dir/.migrations.tsv"
    fi
    dbname=$(bk__ask "select current_database();") || die "query failed"
    dbsize=$(bk__ask "select pg_database_size(current_database());") || die "query failed"
    printf 'commit;\n\\q\n' >&"$snap_out"
    exec {snap_out}>&- {snap_in}<&-
    wait "$BK_SNAP_PID" 2>/dev/null || true
    unset -f bk__ask

    pgdump_version=$("${BK_PG_DUMP[@]}" --version 2>/dev/null || echo unknown)
    # Readable back? (catches a truncated file at once, not on restore day)
    "${BK_PG_RESTORE[@]}" --list <"$dir/database.dump" >/dev/null ||
        die "the dump just written cannot be read back by pg_restore"
    {
        printf 'BK_DB_NAME=%q\n' "$dbname"
        printf 'BK_DB_SIZE=%q\n' "$dbsize"
        printf 'BK_SNAPSHOT=%q\n' "$snapshot"
        printf 'BK_PG_DUMP_VERSION=%q\n' "$pgdump_version"
    } >"$dir/.db.env"
    line=$(wc -l <"$dir/.counts.tsv")
    info "database: $(bk_human "$(stat -c %s "$dir/database.dump")") dump, $line tables counted"
}

# bk_archive_uploads SRC DIR — DIR/uploads.tar.gz from SRC (relative paths),
# and DIR/.uploads.env. An absent SRC is recorded, not an error.
bk_archive_uploads() {
    local src=$1 dir=$2 files=0 bytes=0 present=false
    if [[ -d $src ]]; then
        present=true
        files=$(find "$src" -type f | wc -l)
        bytes=$(find "$src" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
        tar -C "$src" -czf "$dir/uploads.tar.gz" . || die "tar of $src failed"
        info "uploads: $files files, $(bk_human "$bytes") from $src"
    else
        info "uploads: $src does not exist; nothing to archive (recorded in the manifest)"
    fi
    {
        printf 'BK_UPLOADS_PRESENT=%q\n' "$present"
        printf 'BK_UPLOADS_FILES=%q\n' "$files"
        printf 'BK_UPLOADS_BYTES=%q\n' "$bytes"
    } >"$dir/.uploads.env"
}

# bk_snapshot_qdrant DIR — one snapshot per collection into DIR/qdrant/.
# Writes DIR/.qdrant.env (status) and DIR/qdrant/.collections.tsv.
# Returns 1 when Qdrant is configured but a step failed.
bk_snapshot_qdrant() {
    local dir=$1 base names name enc reply snap sum actual
    if [[ -z ${QDRANT_URL:-} ]]; then
        info "qdrant: QDRANT_URL is not set; no vector snapshot (ARIA's vectors in Postgres are in the dump)"
        printf 'BK_QDRANT_STATUS=skipped\nBK_QDRANT_REASON=%q\n' "QDRANT_URL not set" >"$dir/.qdrant.env"
        return 0
    fi
    command -v curl >/dev/null 2>&1 || ensure_packages curl ca-certificates
    base=${QDRANT_URL%/}
    mkdir -p "$dir/qdrant"
    : >"$dir/qdrant/.collections.tsv"
    bk__qdrant_fail() {
        warn "qdrant: $1"
        printf 'BK_QDRANT_STATUS=failed\nBK_QDRANT_REASON=%q\n' "$1" >"$dir/.qdrant.env"
        return 1
    }
    if [[ -n ${QDRANT_COLLECTIONS:-} ]]; then
        names=$(tr ',' '\n' <<<"$QDRANT_COLLECTIONS" | sed -e 's/^ *//' -e 's/ *$//' -e '/^$/d')
    else
        reply=$(bk_curl "$base/collections") || { bk__qdrant_fail "GET $base/collections failed"; return 1; }
        names=$(python3 -c 'import json, sys
for c in json.load(sys.stdin)["result"]["collections"]:
    print(c["name"])' <<<"$reply") || { bk__qdrant_fail "unexpected answer from GET /collections"; return 1; }
    fi
    if [[ -z $names ]]; then
        info "qdrant: no collection to snapshot"
    fi
    while IFS= read -r name; do
        [[ -n $name ]] || continue
        enc=$(bk_urlencode "$name")
        # Qdrant writes the snapshot on its own disk, answers its name (and,
        # in recent versions, its sha256), and serves it for download.
        reply=$(bk_curl -X POST "$base/collections/$enc/snapshots?wait=true") ||
            { bk__qdrant_fail "creating a snapshot of $name failed"; return 1; }
        snap=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["result"]["name"])' <<<"$reply") ||
            { bk__qdrant_fail "unexpected answer creating a snapshot of $name"; return 1; }
        sum=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["result"].get("checksum") or "")' <<<"$reply")
        bk_curl -o "$dir/qdrant/$name.snapshot" "$base/collections/$enc/snapshots/$(bk_urlencode "$snap")" ||
            { bk__qdrant_fail "downloading snapshot $snap of $name failed"; return 1; }
        actual=$(sha256sum "$dir/qdrant/$name.snapshot" | awk '{print $1}')
        if [[ -n $sum && $sum != "$actual" ]]; then
            bk__qdrant_fail "snapshot $snap of $name: downloaded sha256 $actual, Qdrant said $sum"
            return 1
        fi
        # The copy is ours now; do not let snapshots pile up on Qdrant's disk.
        bk_curl -X DELETE "$base/collections/$enc/snapshots/$(bk_urlencode "$snap")" >/dev/null ||
            warn "qdrant: could not delete snapshot $snap of $name on the server"
        printf '%s\t%s\t%s\n' "$name" "$snap" "$sum" >>"$dir/qdrant/.collections.tsv"
        info "qdrant: $name → qdrant/$name.snapshot ($(bk_human "$(stat -c %s "$dir/qdrant/$name.snapshot")"))"
    done <<<"$names"
    unset -f bk__qdrant_fail
    printf 'BK_QDRANT_STATUS=ok\nBK_QDRANT_REASON=\n' >"$dir/.qdrant.env"
}

# bk_write_manifest DIR NAME STARTED — manifest.json and SHA256SUMS from the
# facts the steps left in DIR/.*; removes those.
bk_write_manifest() {
    local dir=$1 name=$2 started=$3 commit
    commit=$(git -C "$NEXUS_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    # shellcheck disable=SC1091
    (
        source "$dir/.db.env"
        source "$dir/.uploads.env"
        source "$dir/.qdrant.env"
        BK_DIR=$dir BK_NAME=$name BK_STARTED=$started BK_COMMIT=$commit \
            BK_URL=$(mask_url "$DATABASE_URL") BK_UPLOADS_SRC=$UPLOADS_DIR \
            BK_QDRANT_URL=$(mask_url "${QDRANT_URL:-}") BK_SERVER_VERSION=$BK_SERVER_VERSION \
            BK_DB_NAME=$BK_DB_NAME BK_DB_SIZE=$BK_DB_SIZE BK_SNAPSHOT=$BK_SNAPSHOT \
            BK_PG_DUMP_VERSION=$BK_PG_DUMP_VERSION BK_UPLOADS_PRESENT=$BK_UPLOADS_PRESENT \
            BK_UPLOADS_FILES=$BK_UPLOADS_FILES BK_UPLOADS_BYTES=$BK_UPLOADS_BYTES \
            BK_QDRANT_STATUS=$BK_QDRANT_STATUS BK_QDRANT_REASON=$BK_QDRANT_REASON \
            python3 - <<'PY'
import datetime, hashlib, json, os, socket

e = os.environ
d = e["BK_DIR"]

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

tables = {}
with open(os.path.join(d, ".counts.tsv"), encoding="utf-8") as f:
    for line in f:
        line = line.rstrip("\n")
        if line:
            table, count = line.split("\t")
            tables[table] = int(count)
migrations = []
with open(os.path.join(d, ".migrations.tsv"), encoding="utf-8") as f:
    for line in f:
        line = line.rstrip("\n")
        if line:
            version, description, checksum = line.split("\t")
            migrations.append({"version": int(version), "description": description, "checksum": checksum})

files = []
for root, dirs, names in os.walk(d):
    dirs.sort()
    for n in sorted(names):
        if n.startswith(".") or (root == d and n in ("manifest.json", "SHA256SUMS")):
            continue
        p = os.path.join(root, n)
        files.append({"path": os.path.relpath(p, d), "bytes": os.path.getsize(p), "sha256": sha256(p)})

qdrant = {"status": e["BK_QDRANT_STATUS"]}
if e["BK_QDRANT_REASON"]:
    qdrant["reason"] = e["BK_QDRANT_REASON"]
if e["BK_QDRANT_URL"]:
    qdrant["url"] = e["BK_QDRANT_URL"]
tsv = os.path.join(d, "qdrant", ".collections.tsv")
if os.path.exists(tsv):
    qdrant["collections"] = []
    with open(tsv, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                name, snap, checksum = line.split("\t")
                qdrant["collections"].append({"name": name, "file": f"qdrant/{name}.snapshot",
                                              "serverSnapshot": snap, "serverChecksum": checksum or None})

uploads = {"source": e["BK_UPLOADS_SRC"], "present": e["BK_UPLOADS_PRESENT"] == "true",
           "files": int(e["BK_UPLOADS_FILES"]), "bytes": int(e["BK_UPLOADS_BYTES"])}
if uploads["present"]:
    uploads["file"] = "uploads.tar.gz"

manifest = {
    "format": "nexus-backup/1",
    "name": e["BK_NAME"],
    "startedAt": e["BK_STARTED"],
    "finishedAt": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "host": socket.gethostname(),
    "codeVersion": e["BK_COMMIT"],
    "database": {
        "url": e["BK_URL"],
        "name": e["BK_DB_NAME"],
        "serverVersion": e["BK_SERVER_VERSION"],
        "pgDump": e["BK_PG_DUMP_VERSION"],
        "snapshot": e["BK_SNAPSHOT"],
        "sizeBytes": int(e["BK_DB_SIZE"]),
        "file": "database.dump",
        "schemaVersion": migrations[-1]["version"] if migrations else None,
        "schemaDescription": migrations[-1]["description"] if migrations else None,
        "migrations": migrations,
        "tables": tables,
        "totalRows": sum(tables.values()),
    },
    "uploads": uploads,
    "qdrant": qdrant,
    "notBackedUp": [
        "dev mailbox (MAILBOX_DIR): development-only password-reset mails",
        "Redis: rate-limit counters and the event stream (transient; clients reload notifications from the API)",
    ],
    "files": files,
}
with open(os.path.join(d, "manifest.json"), "w", encoding="utf-8") as f:
    json.dump(manifest, f, indent=2, ensure_ascii=False)
    f.write("\n")
with open(os.path.join(d, "SHA256SUMS"), "w", encoding="utf-8") as f:
    for x in files:
        f.write(f"{x['sha256']}  {x['path']}\n")
    f.write(f"{sha256(os.path.join(d, 'manifest.json'))}  manifest.json\n")
PY
    ) || die "writing the manifest failed"
    rm -f "$dir"/.counts.tsv "$dir"/.migrations.tsv "$dir"/.db.env "$dir"/.uploads.env "$dir"/.qdrant.env
    rm -f "$dir/qdrant/.collections.tsv"
}

# bk_list_backups DIR — finished backups in DIR, newest first (names only).
bk_list_backups() {
    local dir=$1 d
    [[ -d $dir ]] || return 0
    for d in "$dir"/nexus-*; do
        [[ -d $d && -f $d/manifest.json ]] || continue
        d=${d##*/}
        [[ $d =~ $BK_NAME_RE ]] && printf '%s\n' "$d"
    done | sort -r
}

# bk_age_seconds NAME — age of a backup from the timestamp in its name.
bk_age_seconds() {
    local ts=${1#nexus-} epoch
    epoch=$(date -u -d "${ts:0:4}-${ts:4:2}-${ts:6:2} ${ts:9:2}:${ts:11:2}:${ts:13:2}" +%s) || return 1
    printf '%s\n' $(($(date -u +%s) - epoch))
}

# bk_prune DIR DAYS KEEP_MIN — delete backups older than DAYS, keeping the
# newest KEEP_MIN whatever their age; also leftovers of crashed runs.
bk_prune() {
    local dir=$1 days=$2 keep=$3 i=0 name age removed=0 kept=0
    while IFS= read -r name; do
        i=$((i + 1))
        if ((i <= keep)); then
            kept=$((kept + 1))
            continue
        fi
        age=$(bk_age_seconds "$name") || continue
        if ((age > days * 86400)); then
            rm -rf -- "${dir:?}/$name"
            info "pruned $name ($((age / 86400)) days old)"
            removed=$((removed + 1))
        else
            kept=$((kept + 1))
        fi
    done < <(bk_list_backups "$dir")
    # Partial folders of runs that were killed (a live run holds the lock).
    find "$dir" -maxdepth 1 -name '.nexus-*.partial' -type d -mmin +60 -exec rm -rf {} + 2>/dev/null || true
    info "retention: $kept kept, $removed pruned (older than $days days, newest $keep always kept)"
}

bk_main() {
    set -euo pipefail
    case ${1:-} in
        -h | --help)
            sed -n '2,/^# sourced, it only/p' "${BASH_SOURCE[0]}" | sed -e 's/^# \{0,1\}//'
            return 0
            ;;
        "") ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac

    DATABASE_URL=${DATABASE_URL:-$BK_DEFAULT_DATABASE_URL}
    BACKUP_DIR=${BACKUP_DIR:-$NEXUS_ROOT/var/backups}
    UPLOADS_DIR=${UPLOADS_DIR:-$NEXUS_ROOT/var/uploads}
    local days=${BACKUP_RETENTION_DAYS:-14} keep=${BACKUP_KEEP_MIN:-3}
    [[ $days =~ ^[0-9]+$ ]] || die "BACKUP_RETENTION_DAYS must be a number of days (got '$days')"
    [[ $keep =~ ^[0-9]+$ ]] || die "BACKUP_KEEP_MIN must be a number (got '$keep')"
    _ensure_python3

    # Backups hold password hashes and minors' results: owner-only.
    umask 077
    mkdir -p "$BACKUP_DIR"
    BACKUP_DIR=$(cd "$BACKUP_DIR" && pwd)
    local lock_fd
    exec {lock_fd}>"$BACKUP_DIR/.backup.lock"
    flock -n "$lock_fd" || die "another backup is running in $BACKUP_DIR"

    local started name work final status=0
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    name=nexus-$(date -u +%Y%m%dT%H%M%SZ)
    final=$BACKUP_DIR/$name
    work=$BACKUP_DIR/.$name.partial
    [[ ! -e $final ]] || die "$final already exists (two backups in the same second?)"
    BK_WORK=$work
    # shellcheck disable=SC2317  # invoked through the trap
    bk__cleanup() {
        local rc=$?
        if [[ -n ${BK_WORK:-} && -d $BK_WORK ]]; then
            rm -rf -- "$BK_WORK"
            warn "backup failed; partial files removed"
        fi
        exit "$rc"
    }
    trap bk__cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$work"

    info "backup $name → $BACKUP_DIR"
    bk_pg_tools "$DATABASE_URL"
    bk_dump_database "$DATABASE_URL" "$work"
    bk_archive_uploads "$UPLOADS_DIR" "$work"
    bk_snapshot_qdrant "$work" || status=2
    bk_write_manifest "$work" "$name" "$started"
    mv -- "$work" "$final"
    BK_WORK=""

    bk_prune "$BACKUP_DIR" "$days" "$keep"

    # What was done.
    python3 - "$final" <<'PY'
import json, sys
d = sys.argv[1]
m = json.load(open(f"{d}/manifest.json", encoding="utf-8"))
def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
db = m["database"]
print(f"\nbackup {m['name']} complete: {d}")
print(f"  database  {db['name']} (PostgreSQL {db['serverVersion']}), schema version {db['schemaVersion']} "
      f"({db['schemaDescription']}), {len(db['tables'])} tables, {db['totalRows']} rows")
u = m["uploads"]
print(f"  uploads   " + (f"{u['files']} files, {human(u['bytes'])} from {u['source']}" if u["present"]
                        else f"none ({u['source']} absent)"))
q = m["qdrant"]
print(f"  qdrant    {q['status']}" + (f": {q.get('reason')}" if q.get("reason") else
                                      f" ({len(q.get('collections', []))} collections)"))
print("  files")
for f in m["files"]:
    print(f"    {f['path']:<28} {human(f['bytes']):>10}  sha256 {f['sha256'][:16]}…")
print("  not backed up: dev mailbox, Redis (transient)")
PY
    if ((status != 0)); then
        warn "the Qdrant snapshot failed (see above); database and uploads are backed up"
    fi
    return "$status"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    bk_main "$@"
fi
