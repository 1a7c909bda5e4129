#!/usr/bin/env bash
#
# scripts/dev.sh — run the whole Nexus Réussite backend locally.
#
#   scripts/dev.sh [up]     build, start private Postgres + Redis, migrate,
#                           seed, start nexus-api / nexus-hub / nexus-aria,
#                           then the web app (frontend/: npm ci, next build,
#                           next start on WEB_PORT) — open the URL it prints
#   scripts/dev.sh down     stop the services and the private Postgres/Redis
#   scripts/dev.sh status   show what runs
#
# Works on a fresh Debian 12 clone (installs what it needs with apt-get).
# Everything it creates lives in .run/ (git-ignored):
#   .run/pg, .run/redis     private Postgres cluster and Redis data
#   .run/logs/<svc>.log     service logs (previous run's log: <svc>.log.prev)
#   .run/pids/<svc>.pid     service pids
#   .run/mailbox/           password-reset mails (MAILBOX_DIR)
#   .run/jwt_secret         dev JWT secret, generated once and reused
#   .run/seed.txt           output of `nexus-api seed` (demo credentials)
#   .run/env                the environment the services run with; `source` it
#                           to run a binary or a query by hand
#
# Environment (all optional):
#   DATABASE_URL, REDIS_URL   use these instead of starting private servers
#   API_PORT (5000), HUB_PORT (8080), ARIA_PORT (5001), WEB_PORT (3000)
#   CORS_ORIGINS              origins the hub accepts (default: the web app's,
#                             http://localhost:WEB_PORT,http://127.0.0.1:WEB_PORT)
#   NEXUS_SKIP_WEB=1          do not build nor start the web app
#   JWT_SECRET_KEY            overrides .run/jwt_secret
#   DEV_RELEASE=1             build and run the release profile
#   RUST_LOG (info), LOG_FORMAT (pretty), DEMO_PASSWORD (passed to seed)
#   NEXUS_SKIP_BUILD=1        do not run cargo build (binaries already built)
#   NEXUS_BIN_DIR             where the binaries are (default target/<profile>)
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"
# shellcheck source-path=SCRIPTDIR source=lib/web.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/web.sh"

RUN_DIR=$NEXUS_ROOT/.run
LOG_DIR=$RUN_DIR/logs
PID_DIR=$RUN_DIR/pids
SERVICES=(nexus-api nexus-hub nexus-aria)

if [[ ${DEV_RELEASE:-0} == 1 ]]; then
    PROFILE=release
else
    PROFILE=debug
fi
BIN_DIR=${NEXUS_BIN_DIR:-$(nexus_target_dir)/$PROFILE}

API_PORT=${API_PORT:-5000}
HUB_PORT=${HUB_PORT:-8080}
ARIA_PORT=${ARIA_PORT:-5001}
WEB_PORT=${WEB_PORT:-3000}
# The browser opens the web app on either name; the hub checks Origin against these.
CORS_ORIGINS=${CORS_ORIGINS:-http://localhost:$WEB_PORT,http://127.0.0.1:$WEB_PORT}

# port_of SERVICE — the port a service listens on.
port_of() {
    case $1 in
        nexus-api) printf '%s\n' "$API_PORT" ;;
        nexus-hub) printf '%s\n' "$HUB_PORT" ;;
        nexus-aria) printf '%s\n' "$ARIA_PORT" ;;
        *) die "unknown service $1" ;;
    esac
}

# args_of SERVICE — command-line arguments to start a service.
args_of() {
    case $1 in
        nexus-api) printf '%s\n' serve ;;
        *) ;;
    esac
}

stop_services() {
    local svc
    if [[ -f $PID_DIR/nexus-web.pid ]]; then
        info "stopping nexus-web (pid $(<"$PID_DIR/nexus-web.pid"))"
        stop_web "$PID_DIR/nexus-web.pid"
    fi
    for svc in "${SERVICES[@]}"; do
        if [[ -f $PID_DIR/$svc.pid ]]; then
            info "stopping $svc (pid $(<"$PID_DIR/$svc.pid"))"
            stop_pid_file "$PID_DIR/$svc.pid" "$svc"
        fi
    done
}

# Read the dev JWT secret, generating it on first use: a fixed secret keeps
# tokens (and logged-in browser sessions) valid across restarts.
load_jwt_secret() {
    if [[ -n ${JWT_SECRET_KEY:-} ]]; then
        return 0
    fi
    if [[ ! -s $RUN_DIR/jwt_secret ]]; then
        (
            umask 077
            rand_hex 64 >"$RUN_DIR/jwt_secret"
        )
    fi
    JWT_SECRET_KEY=$(<"$RUN_DIR/jwt_secret")
    export JWT_SECRET_KEY
}

# Save the services' environment so that a developer can `source .run/env`.
write_env_file() {
    (
        umask 077
        {
            echo "# Written by scripts/dev.sh up — the environment of the dev services."
            local var
            for var in APP_ENV DATABASE_URL REDIS_URL JWT_SECRET_KEY MAILBOX_DIR \
                RUST_LOG LOG_FORMAT API_PORT HUB_PORT ARIA_PORT ARIA_EMBEDDING_MODEL_DIR \
                CORS_ORIGINS WEB_PORT; do
                printf 'export %s=%q\n' "$var" "${!var}"
            done
        } >"$RUN_DIR/env"
    )
}

cmd_up() {
    mkdir -p "$RUN_DIR" "$LOG_DIR" "$PID_DIR"

    # curl for the readiness checks; gcc/libc6-dev/pkg-config for crates that
    # compile C (ring). Postgres and Redis are installed by start_* when needed.
    ensure_packages curl ca-certificates gcc libc6-dev pkg-config bubblewrap python3

    if [[ ${NEXUS_SKIP_BUILD:-0} != 1 ]]; then
        command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)"
        local -a build=(cargo build --workspace)
        if [[ $PROFILE == release ]]; then
            build+=(--release)
        fi
        info "building: ${build[*]}"
        (cd "$NEXUS_ROOT" && "${build[@]}")
    fi
    local svc
    for svc in "${SERVICES[@]}"; do
        [[ -x $BIN_DIR/$svc ]] || die "$BIN_DIR/$svc not found (did the build succeed?)"
    done

    # The web app: Node.js, dependencies from the lock file, a production build
    # that proxies /api/* to this API and connects the browser to this hub.
    if [[ ${NEXUS_SKIP_WEB:-0} != 1 ]]; then
        ensure_node
        web_npm_ci || die "npm ci failed in frontend/"
        API_PORT=$API_PORT ARIA_PORT=$ARIA_PORT HUB_PORT=$HUB_PORT web_build || die "next build failed in frontend/"
    fi

    # Re-running `up` restarts the services: stop the old ones before
    # migrating, so that nothing runs against a half-migrated schema and the
    # ports are free again.
    stop_services

    start_postgres "$RUN_DIR"
    start_redis "$RUN_DIR"

    export APP_ENV=development
    export MAILBOX_DIR=$RUN_DIR/mailbox
    export RUST_LOG=${RUST_LOG:-info}
    export LOG_FORMAT=${LOG_FORMAT:-pretty}
    export API_PORT HUB_PORT ARIA_PORT CORS_ORIGINS
    # ARIA's local embedding model (dense retrieval), unpacked once into .run/models.
    ensure_embedding_model
    mkdir -p "$MAILBOX_DIR"
    load_jwt_secret
    write_env_file

    for svc in "${SERVICES[@]}"; do
        if port_in_use "$(port_of "$svc")"; then
            die "port $(port_of "$svc") for $svc is already in use by another program (choose another with API_PORT/HUB_PORT/ARIA_PORT)"
        fi
    done
    if [[ ${NEXUS_SKIP_WEB:-0} != 1 ]] && port_in_use "$WEB_PORT"; then
        die "port $WEB_PORT for the web app is already in use by another program (choose another with WEB_PORT)"
    fi

    info "running migrations"
    "$BIN_DIR/nexus-api" migrate
    info "seeding demo data"
    "$BIN_DIR/nexus-api" seed | tee "$RUN_DIR/seed.txt"

    local -a args
    for svc in "${SERVICES[@]}"; do
        local log=$LOG_DIR/$svc.log
        if [[ -f $log ]]; then
            mv -f "$log" "$log.prev"
        fi
        mapfile -t args < <(args_of "$svc")
        info "starting $svc on port $(port_of "$svc")"
        # nohup + no stdin: the services outlive this script and the terminal.
        nohup "$BIN_DIR/$svc" "${args[@]}" >"$log" 2>&1 </dev/null &
        echo $! >"$PID_DIR/$svc.pid"
    done

    for svc in "${SERVICES[@]}"; do
        local url pid
        url="http://127.0.0.1:$(port_of "$svc")/ready"
        pid=$(<"$PID_DIR/$svc.pid")
        if ! wait_http "$url" 60 "$pid"; then
            echo "----- last lines of $LOG_DIR/$svc.log -----" >&2
            tail -n 40 "$LOG_DIR/$svc.log" >&2 || true
            echo "-------------------------------------------" >&2
            stop_services
            die "$svc did not become ready at $url (services stopped; Postgres/Redis left running)"
        fi
        info "$svc is ready"
    done

    local web_line="  Web app   not started (NEXUS_SKIP_WEB=1)"
    if [[ ${NEXUS_SKIP_WEB:-0} != 1 ]]; then
        local web_log=$LOG_DIR/nexus-web.log
        if [[ -f $web_log ]]; then
            mv -f "$web_log" "$web_log.prev"
        fi
        info "starting nexus-web (next start) on port $WEB_PORT"
        if ! start_web "$WEB_PORT" "$web_log" "$PID_DIR/nexus-web.pid"; then
            stop_services
            die "the web app did not start (services stopped; Postgres/Redis left running)"
        fi
        info "nexus-web is ready"
        web_line="  Web app   http://localhost:$WEB_PORT       (also http://127.0.0.1:$WEB_PORT; log: .run/logs/nexus-web.log)"
    fi

    local rel=${RUN_DIR#"$NEXUS_ROOT"/}
    cat <<EOF

Nexus Réussite dev environment is up ($PROFILE build, APP_ENV=development).

$web_line
  API       http://127.0.0.1:$API_PORT        API docs: http://127.0.0.1:$API_PORT/api/docs
  Hub       ws://127.0.0.1:$HUB_PORT          (websockets; health: http://127.0.0.1:$HUB_PORT/health)
  ARIA      http://127.0.0.1:$ARIA_PORT        (AI tutor)
            every service also serves /health, /ready and /metrics

  Database  $(mask_url "$DATABASE_URL")
  Redis     $(mask_url "$REDIS_URL")
  Logs      $rel/logs/<service>.log     (e.g. tail -f $rel/logs/nexus-api.log)
  Mailbox   $rel/mailbox/               (password-reset mails)
  Accounts  printed by the seed above, saved in $rel/seed.txt
  Env       source $rel/env             (to run a binary or psql by hand)

  Status:   scripts/dev.sh status
  Stop:     scripts/dev.sh down
EOF
    if [[ ${NEXUS_SKIP_WEB:-0} != 1 ]]; then
        printf '\nOpen http://localhost:%s in a browser (demo accounts above).\n' "$WEB_PORT"
    fi
}

cmd_down() {
    stop_services
    stop_private_services "$RUN_DIR"
    info "stopped"
}

cmd_status() {
    local svc pid state code port
    # Report the ports the services were started with, not today's defaults.
    if [[ -f $RUN_DIR/env ]]; then
        eval "$(grep -E '^export (API|HUB|ARIA|WEB)_PORT=[0-9]+$' "$RUN_DIR/env" || true)"
    fi
    printf '%-11s %-8s %-6s %s\n' SERVICE PID PORT STATE
    for svc in "${SERVICES[@]}"; do
        port=$(port_of "$svc")
        pid=-
        state=stopped
        if [[ -f $PID_DIR/$svc.pid ]]; then
            pid=$(<"$PID_DIR/$svc.pid")
            if kill -0 "$pid" 2>/dev/null; then
                code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/ready" || true)
                if [[ $code == 200 ]]; then
                    state="running, ready"
                else
                    state="running, /ready answered ${code:-nothing}"
                fi
            else
                state="dead (see .run/logs/$svc.log)"
            fi
        fi
        printf '%-11s %-8s %-6s %s\n' "$svc" "$pid" "$port" "$state"
    done
    pid=-
    state=stopped
    if [[ -f $PID_DIR/nexus-web.pid ]]; then
        pid=$(<"$PID_DIR/nexus-web.pid")
        if kill -0 "$pid" 2>/dev/null; then
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$WEB_PORT/connexion" || true)
            state="running, /connexion answered ${code:-nothing} (http://localhost:$WEB_PORT)"
        else
            state="dead (see .run/logs/nexus-web.log)"
        fi
    fi
    printf '%-11s %-8s %-6s %s\n' nexus-web "$pid" "$WEB_PORT" "$state"

    local datadir port
    if [[ -f $RUN_DIR/pg.datadir && -f $RUN_DIR/pg.port ]]; then
        datadir=$(<"$RUN_DIR/pg.datadir")
        port=$(<"$RUN_DIR/pg.port")
        if [[ -f $datadir/postmaster.pid ]] && port_in_use "$port"; then
            echo "postgres    running on 127.0.0.1:$port (data: $datadir)"
        else
            echo "postgres    stopped (data: $datadir)"
        fi
    else
        echo "postgres    no private cluster in .run"
    fi
    if [[ -f $RUN_DIR/redis.port ]]; then
        port=$(<"$RUN_DIR/redis.port")
        if [[ -f $RUN_DIR/redis/redis.pid ]] && port_in_use "$port"; then
            echo "redis       running on 127.0.0.1:$port"
        else
            echo "redis       stopped"
        fi
    else
        echo "redis       no private instance in .run"
    fi
}

case ${1:-up} in
    up) cmd_up ;;
    down | stop) cmd_down ;;
    status) cmd_status ;;
    -h | --help | help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
        ;;
    *) die "unknown command '$1' (use: up | down | status)" ;;
esac
