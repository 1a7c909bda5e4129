#!/usr/bin/env bash
#
# scripts/test-ops.sh — tests the operations files against the REAL services:
# nginx routing, Prometheus scraping, alert rules and Grafana dashboards.
# Called by scripts/test.sh after `cargo test` (the binaries exist then); runs
# alone as well. A minute or two on 2 cores.
#
# This script only installs, starts and stops things; every check is a pytest
# test in tests/ops/ (helpers: tests/ops/ops_helpers.py, order of the modules:
# tests/ops/conftest.py), where a failure names the check.
#
#   1. installs what it needs (apt-get): nginx, prometheus (+ promtool), the
#      postgres / redis / nginx / node exporters, python3-pytest,
#      python3-pyflakes, python3-websocket, python3-yaml, curl, openssl
#   2. a fresh database (random name) on a private Postgres in .run/ops — or
#      on the server of DATABASE_URL when given — and a unique
#      REDIS_KEY_PREFIX on a private Redis (or REDIS_URL); migrate + seed
#   3. nexus-api, nexus-hub, nexus-aria on free ports (ARIA generating with the
#      llama.cpp server of ARIA_TEST_MODEL_URL, started here when not given),
#      trusting 127.0.0.1 as a proxy (TRUSTED_PROXIES),
#      RATE_LIMIT_REGISTER_IP_PER_HOUR=2; the web app (frontend/: npm ci when
#      needed, next build into .next-test with the hub at /ws as behind nginx,
#      next start on a free port — scripts/lib/web.sh)
#   4. real nginx, twice, each under a private prefix in .run/ops (`nginx -t`
#      first):
#        dev   nginx/nginx.conf + nginx/dev.conf.template (plain HTTP), which
#              includes the production routing nginx/snippets/nexus-locations.conf
#        prod  nginx/nginx.conf + nginx/templates/nexus.conf.template as the
#              image renders it, with only upstream addresses, listen ports
#              and certificate paths (self-signed) rewritten
#   5. the exporters, and Prometheus with monitoring/prometheus/prometheus.yml
#      (tests/ops/prom_config.py: targets rewritten to the local ports, job
#      names kept, 2 s scrapes)
#   6. `/usr/bin/python3 -m pytest tests/ops -rs -v` with the addresses in
#      OPS_* variables; its exit code is this script's. The modules, in order:
#        test_nginx_dev.py   HTTP through nginx: auth, routing to ARIA, security
#                            headers, gzip, 413, X-Forwarded-For and the API's
#                            per-IP limit, /metrics refused
#        test_web.py         the web app at /: pages with one CSP carrying a
#                            fresh nonce, not cacheable; /_next/static/
#                            immutable; its own 404 page; /session/login
#        test_websockets.py  the hub (ready, ping → pong), ARIA's websocket
#                            (tokens streamed by a real model) and SSE
#        test_nginx_prod.py  HTTP → HTTPS, ACME webroot, TLS, wss, stub_status,
#                            the web app at https://DOMAIN/ (secure cookie)
#        test_prometheus.py  traffic (logins, courses, a quiz, a websocket held
#                            open — tests/ops/ws_hold.py —, 404s), then: every
#                            target up; promtool check config / check rules /
#                            test rules on the real files; every alert rule
#                            loaded and evaluated; every metric the rules and
#                            dashboards name exists; EVERY query of every Grafana
#                            dashboard returns data — except those naming a
#                            metric listed in monitoring/grafana/pending-metrics.txt,
#                            skipped as "PENDING: …" (-rs prints every reason)
#        test_nginx_ratelimit.py  nginx's own rate limit (429 JSON, Retry-After)
#        test_web_down.py    stops the web app: nginx's French 503 page
#   7. stops everything it started (also on failure or Ctrl-C), drops the
#      database, deletes its Redis keys
#
# Environment (all optional):
#   NEXUS_BIN_DIR       where nexus-api/-hub/-aria are (default target/debug)
#   DATABASE_URL        Postgres server to create the test database on
#   REDIS_URL           Redis to use (keys under a unique prefix, deleted after)
#   OPS_HOLD=1          after the checks, keep everything running until Ctrl-C
#                       (prints the URLs: nginx, Prometheus…)
#   OPS_PYTEST_ARGS     more arguments for pytest (e.g. "-x", or "-k prometheus"
#                       — the modules' order and fixtures still hold)
#
# Note: on a machine whose apt starts services on install (systemd, no
# policy-rc.d), installing nginx/prometheus/the exporters also starts their
# system instances on the standard ports; this script never uses those ports.
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"
# shellcheck source-path=SCRIPTDIR source=lib/model.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/model.sh"
# shellcheck source-path=SCRIPTDIR source=lib/web.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/web.sh"
cd "$NEXUS_ROOT"

OPS_DIR=$NEXUS_ROOT/.run/ops
PID_DIR=$OPS_DIR/pids
LOG_DIR=$OPS_DIR/logs
WORK=$OPS_DIR/work
BIN_DIR=${NEXUS_BIN_DIR:-$(nexus_target_dir)/debug}
# Debian's interpreter: python3-pytest, python3-websocket and python3-yaml are
# installed for it (a pyenv python3 earlier on PATH would not see them).
PY=/usr/bin/python3
SCRAPE_INTERVAL=2s
DEMO_PASSWORD=${DEMO_PASSWORD:-NexusDemo2026!}
PROD_DOMAIN=ops.test

STARTED_AT=$SECONDS

section() { printf '\n[ops] ---- %s\n' "$*" >&2; }

# ==================================================================== processes
# start_bg NAME CMD... — start CMD in the background, log in LOG_DIR/NAME.log,
# pid in PID_DIR/NAME.pid (stopped by cleanup, in reverse order of start).
STARTED=()
start_bg() {
    local name=$1
    shift
    "$@" >"$LOG_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$PID_DIR/$name.pid"
    STARTED+=("$name")
}

# The string stop_pid_file looks for in /proc/PID/cmdline before signalling
# (a stale pid file never makes us kill an unrelated process).
proc_marker() {
    case $1 in
        api) echo nexus-api ;;
        hub) echo nexus-hub ;;
        aria) echo nexus-aria ;;
        nginx-*) echo nginx ;;
        prometheus) echo "$OPS_DIR/prometheus" ;;
        exporter-*) echo prometheus- ;;
        ws-hold) echo ws_hold.py ;;
        web) echo "$WEB_PROC_MARKER" ;;
        *) echo "$1" ;;
    esac
}

stop_started() {
    local i name
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
        name=${STARTED[i]}
        stop_pid_file "$PID_DIR/$name.pid" "$(proc_marker "$name")"
    done
    STARTED=()
}

# Leftovers of a run that was killed (-9) before its cleanup.
stop_leftovers() {
    local f name
    for f in "$PID_DIR"/*.pid; do
        [[ -e $f ]] || continue
        name=$(basename "$f" .pid)
        warn "stopping $name left over by a previous run"
        stop_pid_file "$f" "$(proc_marker "$name")"
    done
}

DB_CREATED=""
BASE_DATABASE_URL=""
ACME_DIR=""
# shellcheck disable=SC2317  # invoked through the trap below
cleanup() {
    local rc=$?
    trap - EXIT
    set +e
    if ((${#STARTED[@]})); then
        info "stopping what this run started"
    fi
    stop_started
    if [[ -n $DB_CREATED ]]; then
        drop_database "$BASE_DATABASE_URL" "$DB_CREATED"
    fi
    if [[ -n ${REDIS_URL:-} && -n ${REDIS_KEY_PREFIX:-} ]] && command -v redis-cli >/dev/null 2>&1; then
        redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_KEY_PREFIX}*" 2>/dev/null |
            xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1
    fi
    stop_model_server "$OPS_DIR"
    stop_private_services "$OPS_DIR"
    [[ -n $ACME_DIR ]] && rm -rf "$ACME_DIR"
    exit "$rc"
}

# ============================================================== nginx configs
# nginx_conf_for DIR — nginx/nginx.conf with its four "test-ops:" lines
# pointed into DIR; fails if a line is missing (the file changed shape).
nginx_conf_for() {
    local dir=$1 user_line
    if [[ $EUID -eq 0 ]]; then
        # The image runs workers as "nginx"; Debian's unprivileged user is www-data.
        user_line="user www-data;"
    else
        user_line="# user: not root, workers run as the current user"
    fi
    local marker
    for marker in user pid error_log access_log; do
        if [[ $(grep -c "# test-ops: $marker\$" "$NEXUS_ROOT/nginx/nginx.conf") != 1 ]]; then
            die "nginx/nginx.conf: the line marked '# test-ops: $marker' is missing or repeated"
        fi
    done
    sed -E \
        -e "s|^user .*# test-ops: user\$|$user_line|" \
        -e "s|^pid .*# test-ops: pid\$|pid $dir/nginx.pid;|" \
        -e "s|^error_log .*# test-ops: error_log\$|error_log $dir/logs/error.log info;|" \
        -e "s|access_log [^ ]+ (.*# test-ops: access_log)\$|access_log $dir/logs/access.log \\1|" \
        "$NEXUS_ROOT/nginx/nginx.conf" >"$dir/nginx.conf"
    # Every rewritten line must now point into DIR.
    local n
    n=$(grep -cE "^(pid|error_log) $dir/|access_log $dir/" "$dir/nginx.conf" || true)
    [[ $n == 3 ]] || die "could not rewrite nginx/nginx.conf for the test (rewrote $n of 3 paths)"
}

# nginx_prefix DIR — a private prefix: nginx.conf, mime.types, snippets (the
# repository's, linked), conf.d/, logs/, tmp/ (writable by the workers).
nginx_prefix() {
    local dir=$1
    rm -rf "$dir"
    mkdir -p "$dir/conf.d" "$dir/logs" "$dir/tmp"
    cp /etc/nginx/mime.types "$dir/mime.types"
    ln -sfn "$NEXUS_ROOT/nginx/snippets" "$dir/snippets"
    nginx_conf_for "$dir"
    if [[ $EUID -eq 0 ]]; then
        chown www-data "$dir/tmp"
    fi
}

# render_dev_nginx DIR — conf.d/nexus.conf from nginx/dev.conf.template.
render_dev_nginx() {
    local dir=$1
    # shellcheck disable=SC2016  # the names are for envsubst, not the shell
    NGINX_LISTEN=127.0.0.1:$NGINX_PORT NGINX_STATUS_LISTEN=127.0.0.1:$NGINX_STATUS_PORT \
        API_UPSTREAM=127.0.0.1:$API_PORT HUB_UPSTREAM=127.0.0.1:$HUB_PORT \
        ARIA_UPSTREAM=127.0.0.1:$ARIA_PORT WEB_UPSTREAM=127.0.0.1:$WEB_PORT NGINX_TEMP_DIR=$dir/tmp \
        envsubst '${NGINX_LISTEN} ${NGINX_STATUS_LISTEN} ${API_UPSTREAM} ${HUB_UPSTREAM} ${ARIA_UPSTREAM} ${WEB_UPSTREAM} ${NGINX_TEMP_DIR}' \
        <"$NEXUS_ROOT/nginx/dev.conf.template" >"$dir/conf.d/nexus.conf"
}

# render_prod_nginx DIR — conf.d/nexus.conf as the nginx image renders
# nginx/templates/nexus.conf.template (envsubst of DOMAIN only), then only
# addresses rewritten: upstream servers, listen ports, certificate and ACME
# paths. Each rewrite must apply exactly once.
render_prod_nginx() {
    # The ACME webroot is read by nginx's workers (www-data when run as root): outside
    # the checkout, whose folder may be private (a clone in `mktemp -d` is 0700).
    ACME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nexus-ops-acme.XXXXXX")
    chmod 755 "$ACME_DIR"
    local dir=$1 out=$1/conf.d/nexus.conf
    # shellcheck disable=SC2016  # for envsubst, not the shell
    DOMAIN=$PROD_DOMAIN envsubst '${DOMAIN}' <"$NEXUS_ROOT/nginx/templates/nexus.conf.template" >"$out"
    local -a rewrites=(
        "server api:5000;|server 127.0.0.1:$API_PORT;"
        "server hub:8080;|server 127.0.0.1:$HUB_PORT;"
        "server aria:5001;|server 127.0.0.1:$ARIA_PORT;"
        "server web:3000;|server 127.0.0.1:$WEB_PORT;"
        "server grafana:3000;|server 127.0.0.1:$GRAFANA_DEAD_PORT;"
        "listen 8080;|listen 127.0.0.1:$PROD_STATUS_PORT;"
        "listen 80 default_server;|listen 127.0.0.1:$PROD_HTTP_PORT default_server;"
        "listen 443 ssl default_server;|listen 127.0.0.1:$PROD_HTTPS_PORT ssl default_server;"
        "/etc/letsencrypt/live/$PROD_DOMAIN/fullchain.pem|$dir/tls/fullchain.pem"
        "/etc/letsencrypt/live/$PROD_DOMAIN/privkey.pem|$dir/tls/privkey.pem"
        "root /var/www/certbot;|root $ACME_DIR;"
    )
    local r from to n
    for r in "${rewrites[@]}"; do
        from=${r%%|*}
        to=${r#*|}
        n=$(grep -cF -- "$from" "$out" || true)
        [[ $n == 1 ]] || die "nginx/templates/nexus.conf.template: expected '$from' once, found it $n times"
        FROM=$from TO=$to perl -pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/' "$out"
    done
    # `http2 on;` exists from nginx 1.25.1 (the image); older local nginx: drop it.
    local version
    version=$(nginx -v 2>&1 | sed -E 's|.*nginx/([0-9.]+).*|\1|')
    if [[ $(printf '%s\n1.25.1\n' "$version" | sort -V | head -n 1) != 1.25.1 ]]; then
        sed -i -E 's/^( *)http2 on;/\1# http2 on;  (removed by test-ops: local nginx '"$version"' < 1.25.1)/' "$out"
    fi
    printf '%s\n' "client_body_temp_path $dir/tmp/client_body;" "proxy_temp_path $dir/tmp/proxy;" \
        "fastcgi_temp_path $dir/tmp/fastcgi;" "uwsgi_temp_path $dir/tmp/uwsgi;" \
        "scgi_temp_path $dir/tmp/scgi;" >>"$out"
    mkdir -p "$dir/tls" "$ACME_DIR/.well-known/acme-challenge"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$PROD_DOMAIN" \
        -keyout "$dir/tls/privkey.pem" -out "$dir/tls/fullchain.pem" >/dev/null 2>&1 ||
        die "openssl could not make a self-signed certificate"
}

# start_nginx NAME DIR — check the config, start nginx in the foreground
# (daemon off) as a background job of ours, wait for its status listener.
start_nginx() {
    local name=$1 dir=$2 status_port=$3
    if ! nginx -t -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log" 2>"$LOG_DIR/$name.t.log"; then
        cat "$LOG_DIR/$name.t.log" >&2
        die "nginx -t failed for $name ($dir)"
    fi
    start_bg "$name" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log" -g 'daemon off;'
    wait_http "http://127.0.0.1:$status_port/stub_status" 20 "$(<"$PID_DIR/$name.pid")" ||
        die "$name did not start (see $dir/logs/error.log)"
}

# ======================================================================= main
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OPS_DIR" "$PID_DIR" "$LOG_DIR"
stop_leftovers
rm -rf "$WORK" "${LOG_DIR:?}"/*
mkdir -p "$WORK"

section "packages"
ensure_packages nginx prometheus prometheus-postgres-exporter prometheus-redis-exporter \
    prometheus-nginx-exporter prometheus-node-exporter python3 python3-pytest python3-pyflakes \
    python3-websocket python3-yaml curl ca-certificates openssl gettext-base postgresql-client \
    redis-tools perl
for svc in nexus-api nexus-hub nexus-aria; do
    [[ -x $BIN_DIR/$svc ]] || die "$BIN_DIR/$svc not found: build the workspace first (cargo build), or set NEXUS_BIN_DIR"
done

section "Postgres, Redis, database"
TEST=1 start_postgres "$OPS_DIR"
TEST=1 start_redis "$OPS_DIR"
BASE_DATABASE_URL=$DATABASE_URL
db_name=nexus_ops_$(rand_hex 10)
create_database "$BASE_DATABASE_URL" "$db_name" || die "could not create database $db_name"
DB_CREATED=$db_name
DATABASE_URL=$(url_with_db "$BASE_DATABASE_URL" "$db_name")
REDIS_KEY_PREFIX="nexus-ops-$(rand_hex 10):"
info "database $db_name on $(mask_url "$BASE_DATABASE_URL"); Redis $(mask_url "$REDIS_URL") prefix $REDIS_KEY_PREFIX"

API_PORT=$(free_port)
HUB_PORT=$(free_port)
ARIA_PORT=$(free_port)
export APP_ENV=test BIND_ADDR=127.0.0.1 DATABASE_URL REDIS_URL REDIS_KEY_PREFIX
export JWT_SECRET_KEY=${JWT_SECRET_KEY:-$(rand_hex 64)}
# nginx runs on 127.0.0.1: the services believe its X-Forwarded-For.
export TRUSTED_PROXIES=127.0.0.1,::1
export CORS_ORIGINS=${CORS_ORIGINS:-http://localhost:3000}
# The front end's origin, sent by the websocket clients like a browser would.
ORIGIN=${CORS_ORIGINS%%,*}
export MAILBOX_DIR=$OPS_DIR/mailbox
export RUST_LOG=${RUST_LOG:-info} LOG_FORMAT=${LOG_FORMAT:-json}
# tests/ops/test_nginx_dev.py shows two forwarded client addresses with a
# budget of their own each.
export RATE_LIMIT_REGISTER_IP_PER_HOUR=2
export API_PORT HUB_PORT ARIA_PORT DEMO_PASSWORD
mkdir -p "$MAILBOX_DIR"

info "migrate + seed"
"$BIN_DIR/nexus-api" migrate >"$LOG_DIR/migrate.log" 2>&1 || {
    tail -n 30 "$LOG_DIR/migrate.log" >&2
    die "nexus-api migrate failed"
}
"$BIN_DIR/nexus-api" seed >"$LOG_DIR/seed.log" 2>&1 || {
    tail -n 30 "$LOG_DIR/seed.log" >&2
    die "nexus-api seed failed"
}

section "services"
# ARIA generates with a real OpenAI-compatible server: the one scripts/test.sh
# started, or one of our own.
if [[ -z ${ARIA_TEST_MODEL_URL:-} ]]; then
    start_model_server "$OPS_DIR"
fi
ensure_embedding_model
export OPENAI_BASE_URL=$ARIA_TEST_MODEL_URL ARIA_MODEL=${ARIA_TEST_MODEL:-smollm2} ARIA_MAX_TOKENS=64
start_bg api "$BIN_DIR/nexus-api" serve
start_bg hub "$BIN_DIR/nexus-hub"
start_bg aria "$BIN_DIR/nexus-aria"
for svc in api:$API_PORT hub:$HUB_PORT aria:$ARIA_PORT; do
    name=${svc%%:*}
    if ! wait_http "http://127.0.0.1:${svc#*:}/ready" 60 "$(<"$PID_DIR/$name.pid")"; then
        tail -n 30 "$LOG_DIR/$name.log" >&2
        die "nexus-$name did not become ready"
    fi
done
info "api :$API_PORT  hub :$HUB_PORT  aria :$ARIA_PORT"
API=http://127.0.0.1:$API_PORT
HUB=http://127.0.0.1:$HUB_PORT
ARIA=http://127.0.0.1:$ARIA_PORT

section "web app (frontend/: next build, next start)"
# Built as the image builds it for nginx: the browser reaches the hub on the
# page's own origin (/ws). Into .next-test, the test build directory (the
# browser tests of scripts/test.sh rebuild it with their own ports; the build
# scripts/dev.sh serves, .next, is left alone). NEXUS_TRUST_PROXY=1 as in the
# prod compose file: the /session/* handlers pass nginx's X-Forwarded-For on.
WEB_PORT=$(free_port)
ensure_node
web_npm_ci >"$LOG_DIR/web-npm-ci.log" 2>&1 || {
    tail -n 30 "$LOG_DIR/web-npm-ci.log" >&2
    die "npm ci failed in frontend/"
}
web_build_started=$SECONDS
# (niced: the services are already serving on these two cores)
(renice -n 10 "$BASHPID" >/dev/null 2>&1 || true
    NEXT_DIST_DIR=.next-test NEXUS_API_URL=$API NEXUS_ARIA_URL=$ARIA NEXT_PUBLIC_HUB_URL=/ws web_build) >"$LOG_DIR/web-build.log" 2>&1 || {
    tail -n 40 "$LOG_DIR/web-build.log" >&2
    die "next build failed in frontend/ (log: $LOG_DIR/web-build.log)"
}
STARTED+=(web)
NEXT_DIST_DIR=.next-test NEXUS_API_URL=$API NEXUS_TRUST_PROXY=1 WEB_HOST=127.0.0.1 \
    start_web "$WEB_PORT" "$LOG_DIR/web.log" "$PID_DIR/web.pid" || die "the web app did not start (log: $LOG_DIR/web.log)"
info "web :$WEB_PORT (next build + start: $((SECONDS - web_build_started)) s)"

section "nginx (dev server: nginx.conf + dev.conf.template + snippets/nexus-locations.conf)"
NGINX_PORT=$(free_port)
NGINX_STATUS_PORT=$(free_port)
NGINX_DIR=$OPS_DIR/nginx-dev
nginx_prefix "$NGINX_DIR"
render_dev_nginx "$NGINX_DIR"
start_nginx nginx-dev "$NGINX_DIR" "$NGINX_STATUS_PORT"
N=http://127.0.0.1:$NGINX_PORT
info "nginx on $N (status :$NGINX_STATUS_PORT)"


section "nginx (prod server: nginx.conf + templates/nexus.conf.template, self-signed certificate)"
PROD_HTTP_PORT=$(free_port)
PROD_HTTPS_PORT=$(free_port)
PROD_STATUS_PORT=$(free_port)
# The grafana upstream points at a free port nobody listens on: an upstream
# that is down (test_nginx_prod.py expects nginx's 503 JSON).
GRAFANA_DEAD_PORT=$(free_port)
PROD_DIR=$OPS_DIR/nginx-prod
nginx_prefix "$PROD_DIR"
render_prod_nginx "$PROD_DIR"
start_nginx nginx-prod "$PROD_DIR" "$PROD_STATUS_PORT"
info "nginx (prod) on http://127.0.0.1:$PROD_HTTP_PORT, https://127.0.0.1:$PROD_HTTPS_PORT ($PROD_DOMAIN)"

section "exporters + Prometheus with monitoring/prometheus/prometheus.yml"
PROM_PORT=$(free_port)
PGX_PORT=$(free_port)
RDX_PORT=$(free_port)
NGX_PORT=$(free_port)
NODE_PORT=$(free_port)
pg_dsn=$DATABASE_URL
[[ $pg_dsn == *sslmode=* ]] || pg_dsn+=$([[ $pg_dsn == *\?* ]] && echo '&' || echo '?')sslmode=disable
start_bg exporter-postgres env DATA_SOURCE_NAME="$pg_dsn" prometheus-postgres-exporter \
    --web.listen-address="127.0.0.1:$PGX_PORT"
start_bg exporter-redis prometheus-redis-exporter --redis.addr="$REDIS_URL" \
    --web.listen-address="127.0.0.1:$RDX_PORT"
start_bg exporter-nginx prometheus-nginx-exporter \
    --nginx.scrape-uri="http://127.0.0.1:$NGINX_STATUS_PORT/stub_status" \
    --web.listen-address="127.0.0.1:$NGX_PORT"
start_bg exporter-node prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_PORT"
for e in postgres:$PGX_PORT redis:$RDX_PORT nginx:$NGX_PORT node:$NODE_PORT; do
    wait_http "http://127.0.0.1:${e#*:}/metrics" 30 "$(<"$PID_DIR/exporter-${e%%:*}.pid")" ||
        die "exporter ${e%%:*} did not start (log: $LOG_DIR/exporter-${e%%:*}.log)"
done

# The test config: the real file with every job's targets replaced by a local
# one (every job of prometheus.yml must be mapped here, and only those).
PROM_DIR=$OPS_DIR/prometheus
rm -rf "$PROM_DIR"
mkdir -p "$PROM_DIR/data"
PROM_CONFIG=$PROM_DIR/prometheus.yml
jobs=$("$PY" tests/ops/prom_config.py monitoring/prometheus/prometheus.yml "$PROM_CONFIG" "$SCRAPE_INTERVAL" \
    "nexus-api=127.0.0.1:$API_PORT" "nexus-hub=127.0.0.1:$HUB_PORT" "nexus-aria=127.0.0.1:$ARIA_PORT" \
    "postgres=127.0.0.1:$PGX_PORT" "redis=127.0.0.1:$RDX_PORT" "nginx=127.0.0.1:$NGX_PORT" \
    "node=127.0.0.1:$NODE_PORT" "prometheus=127.0.0.1:$PROM_PORT") ||
    die "cannot generate the test Prometheus config (tests/ops/prom_config.py, see above)"
info "Prometheus jobs: $jobs"
start_bg prometheus prometheus --config.file="$PROM_CONFIG" --storage.tsdb.path="$PROM_DIR/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --storage.tsdb.retention.time=1h --log.level=warn
PROM=http://127.0.0.1:$PROM_PORT
wait_http "$PROM/-/ready" 60 "$(<"$PID_DIR/prometheus.pid")" || die "prometheus did not start (log: $LOG_DIR/prometheus.log)"
info "Prometheus on $PROM"

# ====================================================================== tests
# The traffic fixture of test_prometheus.py holds a websocket open
# (tests/ops/ws_hold.py, pid in PID_DIR/ws-hold.pid): stopped by the cleanup
# too if pytest is killed.
STARTED+=(ws-hold)
section "pytest tests/ops"
# shellcheck disable=SC2206  # OPS_PYTEST_ARGS: words on purpose
extra_args=(${OPS_PYTEST_ARGS:-})
rc=0
env PYTHONDONTWRITEBYTECODE=1 \
    "OPS_ROOT=$NEXUS_ROOT" "OPS_WORK=$WORK" "OPS_LOG_DIR=$LOG_DIR" "OPS_PID_DIR=$PID_DIR" \
    "OPS_NGINX_URL=$N" "OPS_NGINX_DEV_DIR=$NGINX_DIR" "OPS_NGINX_STATUS_PORT=$NGINX_STATUS_PORT" \
    "OPS_API_URL=$API" "OPS_HUB_URL=$HUB" "OPS_ARIA_URL=$ARIA" "OPS_ORIGIN=$ORIGIN" \
    "OPS_PROD_DOMAIN=$PROD_DOMAIN" "OPS_PROD_DIR=$PROD_DIR" "OPS_PROD_HTTP_PORT=$PROD_HTTP_PORT" \
    "OPS_PROD_HTTPS_PORT=$PROD_HTTPS_PORT" "OPS_PROD_STATUS_PORT=$PROD_STATUS_PORT" "OPS_ACME_DIR=$ACME_DIR" \
    "OPS_PROM_URL=$PROM" "OPS_PROM_CONFIG=$PROM_CONFIG" "OPS_SCRAPE_INTERVAL=$SCRAPE_INTERVAL" \
    "OPS_WEB_PROC_MARKER=$WEB_PROC_MARKER" "DEMO_PASSWORD=$DEMO_PASSWORD" \
    "$PY" -m pytest tests/ops -rs -v -p no:cacheprovider "${extra_args[@]}" || rc=$?

echo >&2
echo "==================== scripts/test-ops.sh ====================" >&2
if ((rc == 0)); then
    echo "RESULT: nginx, TLS, websockets, Prometheus, alert rules, Grafana queries: all passed ($((SECONDS - STARTED_AT)) s; skips, if any, listed above as PENDING)" >&2
else
    echo "RESULT: FAILED (pytest exit $rc; the failed checks are named above) ($((SECONDS - STARTED_AT)) s)" >&2
fi

# ======================================================================= hold
if [[ ${OPS_HOLD:-0} == 1 ]]; then
    cat >&2 <<HOLD

[ops] OPS_HOLD=1 — everything keeps running until Ctrl-C (but the web app, if test_web_down.py ran):
  nginx (dev)   $N            status http://127.0.0.1:$NGINX_STATUS_PORT/stub_status
  nginx (prod)  http://127.0.0.1:$PROD_HTTP_PORT  https://127.0.0.1:$PROD_HTTPS_PORT (self-signed, $PROD_DOMAIN)
  Prometheus    $PROM
  api $API   hub $HUB   aria $ARIA
  logs          $LOG_DIR, $NGINX_DIR/logs
HOLD
    while :; do sleep 3600; done
fi

exit "$rc"
