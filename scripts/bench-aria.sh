#!/usr/bin/env bash
#
# scripts/bench-aria.sh — ARIA's measurements, one command (release builds):
#   1. retrieval quality on the evaluation set (services/aria/eval/questions.json):
#      recall@5, MRR@10, off-topic rejection — lexical, dense, fused (nexus-aria eval)
#   2. retrieval latency over 10,000 and 100,000 chunks, with its parts (nexus-aria
#      bench-retrieval), on the embedded store and on a real Qdrant (start_qdrant)
#   3. per chat request over the websocket, against a real llama.cpp server (small
#      model): ARIA's own time (the request's time minus the model's), the model's
#      first token as ARIA saw it and as the client saw it (the difference is what
#      ARIA adds between the two); and the same request without a model (extractive)
# Private Postgres and Redis in .run/bench-aria/, a fresh database, the seeded demo.
#
# Environment: BENCH_ARIA_CHUNKS ("10000 100000": the sizes), BENCH_ARIA_QUESTIONS (40),
# BENCH_ARIA_CHAT_ONLY=1 (only part 3).
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"
# shellcheck source-path=SCRIPTDIR source=lib/model.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/model.sh"

DIR=$NEXUS_ROOT/.run/bench-aria
mkdir -p "$DIR"
ensure_packages postgresql redis-server curl gcc libc6-dev pkg-config python3-websocket
info "building release nexus-api and nexus-aria"
(cd "$NEXUS_ROOT" && cargo build --release -p nexus-api -p nexus-aria)
BIN=$(nexus_target_dir)/release

PIDS=()
DB=""
# shellcheck disable=SC2317  # invoked through the trap below
cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    [[ -n $DB ]] && drop_database "$BASE_URL" "$DB"
    stop_model_server "$DIR"
    stop_qdrant "$DIR"
    stop_private_services "$DIR"
    exit "$rc"
}
trap cleanup EXIT

start_postgres "$DIR"
start_redis "$DIR"
ensure_embedding_model
start_model_server "$DIR"
BASE_URL=$DATABASE_URL
DB=bencharia_$(rand_hex 8)
create_database "$BASE_URL" "$DB"
export DATABASE_URL
DATABASE_URL=$(url_with_db "$BASE_URL" "$DB")
export APP_ENV=development BIND_ADDR=127.0.0.1 RUST_LOG=warn REDIS_KEY_PREFIX
REDIS_KEY_PREFIX="bencharia:$(rand_hex 6):"
export JWT_SECRET_KEY
JWT_SECRET_KEY=$(rand_hex 64)
export RATE_LIMIT_ARIA_PER_MIN=1000000 RATE_LIMIT_API_PER_MIN=1000000 ARIA_DAILY_TOKENS_PER_STUDENT=1000000000 \
    ARIA_DAILY_TOKENS_PER_CLASS=1000000000
"$BIN/nexus-api" migrate >/dev/null
"$BIN/nexus-api" seed >/dev/null

echo
echo "==================== ARIA benchmarks ===================="
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "commit:  $(git -C "$NEXUS_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "cpu:     $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores (shared with Postgres, Redis, the model server)"
if [[ ${BENCH_ARIA_CHAT_ONLY:-0} != 1 ]]; then
    echo
    echo "---- 1. retrieval quality (evaluation set, seeded curriculum: 96 sections)"
    "$BIN/nexus-aria" eval 2>/dev/null
    # Both backends at each size: the embedded store, then a real Qdrant (when a
    # binary is there: QDRANT_BIN, PATH, ../shared/bin/qdrant), one collection a size.
    start_qdrant "$DIR"
    for chunks in ${BENCH_ARIA_CHUNKS:-10000 100000}; do
        echo
        echo "---- 2. retrieval latency over $chunks chunks, embedded store (5 rounds of the evaluation questions)"
        "$BIN/nexus-aria" bench-retrieval "$chunks" 2>/dev/null
        if [[ -n ${ARIA_TEST_QDRANT_URL:-} ]]; then
            echo
            echo "---- 2. retrieval latency over $chunks chunks, Qdrant ($ARIA_TEST_QDRANT_URL)"
            QDRANT_URL=$ARIA_TEST_QDRANT_URL QDRANT_GRPC_URL=$ARIA_TEST_QDRANT_GRPC_URL \
                QDRANT_COLLECTION=bench_$chunks \
                "$BIN/nexus-aria" bench-retrieval "$chunks" 2>/dev/null
        else
            echo "(no Qdrant binary: the Qdrant backend is not measured)"
        fi
    done
    stop_qdrant "$DIR"
fi

# ------------------------------------------------------------- 3. chat requests
API_PORT=$(free_port)
env API_PORT="$API_PORT" "$BIN/nexus-api" serve >"$DIR/nexus-api.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$API_PORT/ready" 60 "${PIDS[-1]}" || die "nexus-api did not become ready"
TOKEN=$(login_token "http://127.0.0.1:$API_PORT" student@nexus-reussite.fr "${DEMO_PASSWORD:-NexusDemo2026!}")

# start_aria NAME PORT_VAR [ENV...] — a release nexus-aria; its port goes into
# PORT_VAR (no command substitution: the process must be this shell's child).
start_aria() {
    local name=$1 port
    port=$(free_port)
    printf -v "$2" '%s' "$port"
    shift 2
    env ARIA_PORT="$port" "$@" "$BIN/nexus-aria" >"$DIR/$name.log" 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$port/ready" 120 "${PIDS[-1]}" || die "nexus-aria ($name) did not become ready"
}
start_aria aria-model WITH_MODEL OPENAI_BASE_URL="$ARIA_TEST_MODEL_URL" ARIA_MODEL="$ARIA_TEST_MODEL" ARIA_MAX_TOKENS=48 \
    ARIA_PRICE_PROMPT_EUR_PER_MTOK=0 ARIA_PRICE_COMPLETION_EUR_PER_MTOK=0
start_aria aria-extractive WITHOUT_MODEL
start_aria aria-lexical LEXICAL_ONLY ARIA_EMBEDDINGS=off

cat >"$DIR/chat_bench.py" <<'PY'
import json, sys, time, uuid
import websocket
port, token, n, questions_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
questions = [q["question"] for q in json.load(open(questions_file))["questions"]]
own, first_aria, first_client, total = [], [], [], []
for i in range(n):
    # A new session each time: the history stays the same size.
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws/aria/bench-{uuid.uuid4().hex}?token={token}",
                                     timeout=120, suppress_origin=True)
    json.loads(ws.recv())
    sent = time.perf_counter()
    ws.send(json.dumps({"type": "user_message", "content": questions[i % len(questions)]}))
    first = None
    while True:
        frame = json.loads(ws.recv())
        if frame["type"] == "ai_chunk" and first is None:
            first = (time.perf_counter() - sent) * 1000
        if frame["type"] == "ai_response":
            meta = frame["metadata"]
        if frame == {"type": "typing", "isTyping": False}:
            break
    total.append((time.perf_counter() - sent) * 1000)
    ws.close()
    # Everything the client waited for that was not the model.
    own.append(total[-1] - (meta.get("modelMs") or 0))
    if first is not None and meta.get("firstTokenMs") is not None:
        first_aria.append(meta["firstTokenMs"])
        first_client.append(first)
def pct(xs, p):
    xs = sorted(xs)
    return xs[round((len(xs) - 1) * p)] if xs else float("nan")
def line(name, xs):
    print(f"{name:<52} n={len(xs):<4} p50 {pct(xs, .5):8.2f} ms  p99 {pct(xs, .99):8.2f} ms")
line("ARIA's own time per request (client total - model)", own)
if first_aria:
    line("model's first token, as ARIA received it", first_aria)
    line("model's first token, as the client received it", first_client)
    line("  difference (ARIA → client)", [c - a for a, c in zip(first_aria, first_client)])
line("whole answer, as the client saw it", total)
PY
N=${BENCH_ARIA_QUESTIONS:-40}
echo
echo "---- 3a. chat over the websocket, llama.cpp SmolLM2-135M streaming ($N questions, 48 tokens max)"
/usr/bin/python3 "$DIR/chat_bench.py" "$WITH_MODEL" "$TOKEN" "$N" "$NEXUS_ROOT/services/aria/eval/questions.json"
echo
echo "---- 3b. chat over the websocket, no model (answers from the courses) ($N questions)"
/usr/bin/python3 "$DIR/chat_bench.py" "$WITHOUT_MODEL" "$TOKEN" "$N" "$NEXUS_ROOT/services/aria/eval/questions.json"
echo
echo "---- 3c. chat over the websocket, no model, no embedding model (lexical retrieval only) ($N questions)"
/usr/bin/python3 "$DIR/chat_bench.py" "$LEXICAL_ONLY" "$TOKEN" "$N" "$NEXUS_ROOT/services/aria/eval/questions.json"
echo
echo "---- resident memory of nexus-aria after the questions (seeded index: 96 chunks; with model / extractive / lexical only)"
for pid in "${PIDS[@]:1}"; do
    echo "pid $pid: $(awk '/^VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$pid/status")"
done
