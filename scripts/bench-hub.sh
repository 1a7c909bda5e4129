#!/usr/bin/env bash
#
# scripts/bench-hub.sh — load test of nexus-hub (release builds), one command:
# 10,000 websocket connections held, the hub's memory per connection, broadcast of one
# event to a 10,000-member class channel (p50/p99 delivery), and sustained per-user
# notifications. Private Postgres and Redis in .run/bench-hub/ unless DATABASE_URL /
# REDIS_URL are given.
#
# Environment: HUB_LOAD_CONNECTIONS (10000), HUB_LOAD_BROADCASTS (10),
# HUB_LOAD_RATE (2000 notifications/s), HUB_LOAD_SECONDS (10).
# When ../shared/peers/ exists (the seed's Flask-SocketIO hub, one eventlet worker), and
# unless HUB_PEERS=0: at HUB_PEER_CLIENTS (1000 5000) clients each, our hub (the load tool
# at that many connections) then the peer (its bench_broadcast.py), alternated, same
# number of broadcasts; both outputs are printed (latency p50/p99, server RSS).
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"

DIR=$NEXUS_ROOT/.run/bench-hub
mkdir -p "$DIR"
ensure_packages postgresql redis-server curl gcc libc6-dev pkg-config
# Each process (the hub, the load tool) holds one socket per connection: raise the
# soft limit on open files to the hard one, and say so if even that is too low.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < ${HUB_LOAD_CONNECTIONS:-10000} + 500 )); then
    warn "open-files limit $(ulimit -n) is below the connections asked for; expect fewer to connect"
fi

info "building release nexus-api, nexus-hub and the load tool"
(cd "$NEXUS_ROOT" && cargo build --release -p nexus-api -p nexus-hub -p nexus-hub-load)
BIN=$(nexus_target_dir)/release

HUB_PID=""
PEER_PID=""
DB=""
# shellcheck disable=SC2317  # invoked through the trap below
cleanup() {
    local rc=$?
    [[ -n $HUB_PID ]] && kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
    [[ -n $PEER_PID ]] && kill "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null
    [[ -n $DB ]] && drop_database "$DATABASE_URL" "$DB"
    stop_private_services "$DIR"
    exit "$rc"
}
trap cleanup EXIT

start_postgres "$DIR"
start_redis "$DIR"
DB=hubload_$(rand_hex 8)
create_database "$DATABASE_URL" "$DB"
DB_URL=$(url_with_db "$DATABASE_URL" "$DB")
SECRET=$(rand_hex 64)
PREFIX="hubload:$(rand_hex 6):"
PORT=$(free_port)
DATABASE_URL=$DB_URL "$BIN/nexus-api" migrate >/dev/null

info "starting release nexus-hub on 127.0.0.1:$PORT"
env APP_ENV=development DATABASE_URL="$DB_URL" DATABASE_MAX_CONNECTIONS=20 REDIS_URL="$REDIS_URL" \
    REDIS_KEY_PREFIX="$PREFIX" JWT_SECRET_KEY="$SECRET" HUB_PORT="$PORT" BIND_ADDR=127.0.0.1 \
    RUST_LOG=warn "$BIN/nexus-hub" >"$DIR/nexus-hub.log" 2>&1 &
HUB_PID=$!
wait_http "http://127.0.0.1:$PORT/ready" 30 "$HUB_PID" || die "nexus-hub did not become ready"

echo
echo "==================== nexus-hub load test ===================="
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "commit:  $(git -C "$NEXUS_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "cpu:     $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores (load tool, hub, Postgres and Redis share them)"
"$BIN/nexus-hub-load" \
    --hub "127.0.0.1:$PORT" --hub-pid "$HUB_PID" \
    --database-url "$DB_URL" --redis-url "$REDIS_URL" --redis-prefix "$PREFIX" --jwt-secret "$SECRET" \
    --connections "${HUB_LOAD_CONNECTIONS:-10000}" --broadcasts "${HUB_LOAD_BROADCASTS:-10}" \
    --rate "${HUB_LOAD_RATE:-2000}" --seconds "${HUB_LOAD_SECONDS:-10}" | tee "$DIR/results-$(date -u +%Y%m%dT%H%M%SZ).txt"

# ---------------------------------------------------------------- the seed's Socket.IO hub
PEERS_SRC=$(cd "$NEXUS_ROOT/.." && pwd)/shared/peers
if [[ ${HUB_PEERS:-auto} != 0 && -d $PEERS_SRC ]]; then
    rm -rf "$DIR/peers" && cp -r "$PEERS_SRC" "$DIR/peers"
    PEER_VENV=$NEXUS_ROOT/.run/peers-venv
    if [[ ! -x $PEER_VENV/bin/gunicorn ]]; then
        python3 -m venv "$PEER_VENV"
        "$PEER_VENV/bin/pip" install -q -r "$DIR/peers/requirements.txt"
    fi
    for clients in ${HUB_PEER_CLIENTS:-1000 5000}; do
        echo
        echo "==================== $clients clients: nexus-hub, then the seed's Flask-SocketIO ===================="
        "$BIN/nexus-hub-load" \
            --hub "127.0.0.1:$PORT" --hub-pid "$HUB_PID" \
            --database-url "$DB_URL" --redis-url "$REDIS_URL" --redis-prefix "$PREFIX" --jwt-secret "$SECRET" \
            --connections "$clients" --broadcasts "${HUB_LOAD_BROADCASTS:-10}" \
            --rate "${HUB_LOAD_RATE:-2000}" --seconds 2 | tee "$DIR/results-ours-$clients.txt"
        PEER_PORT=$(free_port)
        PORT=$PEER_PORT VENV=$PEER_VENV "$DIR/peers/socketio_hub/run.sh" >"$DIR/peer-hub.log" 2>&1 </dev/null &
        PEER_PID=$!
        wait_http "http://127.0.0.1:$PEER_PORT/stats" 30 "$PEER_PID" || die "the Socket.IO peer did not start"
        "$PEER_VENV/bin/python" "$DIR/peers/socketio_hub/bench_broadcast.py" --url "http://127.0.0.1:$PEER_PORT" \
            --clients "$clients" --broadcasts "${HUB_LOAD_BROADCASTS:-10}" | tee "$DIR/results-peer-$clients.txt"
        kill "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null
        PEER_PID=""
    done
fi
