#!/usr/bin/env bash
#
# scripts/test-ops.sh — tests the operations files against the REAL services:
# nginx routing, Prometheus scraping, alert rules and Grafana dashboards.
# Called by scripts/test.sh after `cargo test` (the binaries exist then); runs
# alone as well. About a minute on 2 cores.
#
#   1. installs what it needs (apt-get): nginx, prometheus (+ promtool), the
#      postgres / redis / nginx / node exporters, python3-websocket,
#      python3-yaml, curl, jq, openssl
#   2. a fresh database (random name) on a private Postgres in .run/ops — or
#      on the server of DATABASE_URL when given — and a unique
#      REDIS_KEY_PREFIX on a private Redis (or REDIS_URL); migrate + seed
#   3. nexus-api, nexus-hub, nexus-aria on free ports (ARIA generating with the
#      llama.cpp server of ARIA_TEST_MODEL_URL, started here when not given),
#      trusting 127.0.0.1 as a
#      proxy (TRUSTED_PROXIES), RATE_LIMIT_REGISTER_IP_PER_HOUR=2; the web app
#      (frontend/: npm ci when needed, next build into .next-ops with the hub
#      at /ws as behind nginx, next start on a free port — scripts/lib/web.sh)
#   4. real nginx, twice, each under a private prefix in .run/ops:
#        dev   nginx/nginx.conf + nginx/dev.conf.template (plain HTTP), which
#              includes the production routing nginx/snippets/nexus-locations.conf
#        prod  nginx/nginx.conf + nginx/templates/nexus.conf.template as the
#              image renders it, with only upstream addresses, listen ports
#              and certificate paths (self-signed) rewritten
#      (a) HTTP through nginx: auth, routing to ARIA, security headers, gzip,
#          413, X-Forwarded-For and the API's per-IP limit, /metrics refused
#      (f) the web app at / through nginx: pages with one CSP carrying a fresh
#          nonce, not cacheable; /_next/static/ immutable; its own 404 page for
#          unknown paths; sign-in through its /session/login handler
#      (b) websocket through nginx to the hub: ready, ping → pong (ws and wss)
#      (c) /ws/aria/{id} through nginx to ARIA: a question answered with the
#          contract's frames, tokens streamed by a real model (llama.cpp, the
#          one scripts/test.sh starts, or its own); /api/aria/chat/stream too
#      (e) prod server: HTTP → HTTPS redirect, ACME webroot, TLS, stub_status,
#          the web app at https://DOMAIN/ (page, secure session cookie)
#   5. (d) the exporters and Prometheus with monitoring/prometheus/prometheus.yml
#      (targets rewritten to the local ports, job names kept, 2 s scrapes),
#      traffic (logins, courses, a quiz, a websocket held open, 404s), then:
#      every target up; promtool check config / check rules on the real
#      files; every alert rule loaded and evaluated without error; every
#      metric the rules and dashboards name exists; EVERY query of every
#      Grafana dashboard returns data — except those naming a metric listed in
#      monitoring/grafana/pending-metrics.txt, reported PENDING
#   6. nginx's own rate limit (429 JSON with Retry-After) on /api/auth/
#   7. stops everything it started (also on failure or Ctrl-C), drops the
#      database, deletes its Redis keys; prints a summary; exit 1 on failure
#
# Environment (all optional):
#   NEXUS_BIN_DIR       where nexus-api/-hub/-aria are (default target/debug)
#   DATABASE_URL        Postgres server to create the test database on
#   REDIS_URL           Redis to use (keys under a unique prefix, deleted after)
#   OPS_HOLD=1          after the checks, keep everything running until Ctrl-C
#                       (prints the URLs: nginx, Prometheus…)
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
# Debian's interpreter: python3-websocket and python3-yaml are installed for it
# (a pyenv python3 earlier on PATH would not see them).
PY=/usr/bin/python3
SCRAPE_INTERVAL=2s
DEMO_PASSWORD=${DEMO_PASSWORD:-NexusDemo2026!}
PROD_DOMAIN=ops.test

STARTED_AT=$SECONDS

# ====================================================================== results
RESULTS=$OPS_DIR/results.tsv
ok() {
    printf 'ok\t%s\n' "$*" >>"$RESULTS"
    printf '  ok       %s\n' "$*" >&2
}
ko() {
    printf 'FAIL\t%s\n' "$*" >>"$RESULTS"
    printf '  FAIL     %s\n' "$*" >&2
}
pending() {
    printf 'PENDING\t%s\n' "$*" >>"$RESULTS"
    printf '  PENDING  %s\n' "$*" >&2
}
section() { printf '\n[ops] ---- %s\n' "$*" >&2; }

# expect LABEL ACTUAL EXPECTED — ok when equal.
expect() {
    if [[ $2 == "$3" ]]; then
        ok "$1"
    else
        ko "$1 (got '${2:0:300}', expected '$3')"
    fi
}

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

# ===================================================================== helpers
# metric_sum URL NAME [label=value | label!=value]... — sum of the samples of
# NAME in the text exposition at URL/metrics whose labels match.
metric_sum() {
    local url=$1 name=$2
    shift 2
    { curl -s --max-time 10 "$url/metrics" || true; } | awk -v name="$name" -v filters="$*" '
        BEGIN { n = split(filters, f, " ") }
        index($0, name "{") == 1 || index($0, name " ") == 1 {
            keep = 1
            for (i = 1; i <= n; i++) {
                if (f[i] ~ /!=/) {
                    split(f[i], kv, "!=")
                    if (index($0, kv[1] "=\"" kv[2] "\"") > 0) keep = 0
                } else {
                    split(f[i], kv, "=")
                    if (index($0, kv[1] "=\"" kv[2] "\"") == 0) keep = 0
                }
            }
            if (keep) sum += $NF
        }
        END { printf "%d\n", sum }'
}

# http NAME CURL_ARGS... — run curl; the status goes to CODE, the body and
# the headers to the files $WORK/NAME.body and $WORK/NAME.headers.
CODE=""
http() {
    local name=$1
    shift
    CODE=$(curl -s --max-time 20 -o "$WORK/$name.body" -D "$WORK/$name.headers" -w '%{http_code}' "$@" || true)
    CODE=${CODE:-000}
}

# header FILE NAME — the value of the (last) header NAME in a curl -D file.
header() {
    tr -d '\r' <"$1" | awk -v h="$(tr '[:upper:]' '[:lower:]' <<<"$2")" -F': ' '
        tolower($1) == h { sub(/^[^:]*: /, ""); v = $0 } END { print v }'
}
# header_count FILE NAME — how many times header NAME appears.
header_count() {
    tr -d '\r' <"$1" | awk -v h="$(tr '[:upper:]' '[:lower:]' <<<"$2")" -F': ' '
        tolower($1) == h { n++ } END { print n + 0 }'
}

json_get() { jq -r "$1" <"$2" 2>/dev/null || echo "<not json>"; }

# content_type FILE — the media type of a curl -D file, without parameters.
content_type() { header "$1" Content-Type | cut -d';' -f1 | tr -d ' '; }

# page_facts NAME — what makes an answer the web app's HTML page, in one word
# each: status, media type, how many CSP headers, whether it is the app's root
# layout (<html lang="fr">).
page_facts() {
    local f=$WORK/$1
    printf '%s %s csp×%s %s' "$CODE" "$(content_type "$f.headers")" \
        "$(header_count "$f.headers" Content-Security-Policy)" \
        "$(grep -q '<html lang="fr"' "$f.body" && echo app-layout || echo other-html)"
}

# csp_nonce FILE — the nonce of the CSP header of a curl -D file ("" if none).
csp_nonce() {
    { header "$1" Content-Security-Policy | grep -o "'nonce-[^']*'" || true; } | head -n 1 | sed -e "s/^'nonce-//" -e "s/'\$//"
}

# cookie_facts FILE NAME — the attributes of the Set-Cookie NAME of a curl -D
# file: "NAME httponly samesite=… path=… secure|not-secure", or "no NAME cookie".
cookie_facts() {
    tr -d '\r' <"$1" | awk -v name="$2" -F': ' '
        tolower($1) == "set-cookie" && index($2, name "=") == 1 {
            n = split($2, a, /; */); http = "not-httponly"; ss = "samesite=?"; p = "path=?"; sec = "not-secure"
            for (i = 2; i <= n; i++) {
                k = tolower(a[i])
                if (k == "httponly") http = "httponly"
                else if (k == "secure") sec = "secure"
                else if (k ~ /^samesite=/) ss = k
                else if (k ~ /^path=/) p = "path=" substr(a[i], 6)
            }
            print name, http, ss, p, sec; found = 1; exit
        }
        END { if (!found) print "no " name " cookie" }'
}

login_via() {
    login_token "$1" "$2" "$DEMO_PASSWORD"
}

# =============================================================== python helpers
write_python_helpers() {
    mkdir -p "$OPS_DIR/py"

    # ws_check.py URL ORIGIN [--insecure] — connect as a browser of the front
    # end would (Origin: ORIGIN, which the hub checks against CORS_ORIGINS),
    # expect "ready" first, send a ping, expect a pong. Prints JSON; exit 0
    # on success.
    cat >"$OPS_DIR/py/ws_check.py" <<'PY'
import json, ssl, sys, time
import websocket
url, origin, insecure = sys.argv[1], sys.argv[2], "--insecure" in sys.argv
out = {"ready": False, "pong": False}
try:
    ws = websocket.create_connection(url, timeout=10, origin=origin,
                                     sslopt={"cert_reqs": ssl.CERT_NONE} if insecure else None)
    first = json.loads(ws.recv())
    out["first"] = first.get("type")
    out["ready"] = first.get("type") == "ready"
    ws.send(json.dumps({"type": "ping"}))
    deadline = time.time() + 10
    while time.time() < deadline:
        frame = json.loads(ws.recv())
        if frame.get("type") == "pong":
            out["pong"] = True
            break
    ws.close()
except Exception as e:  # reported, not raised: the caller prints the JSON
    out["error"] = f"{type(e).__name__}: {e}"
print(json.dumps(out))
sys.exit(0 if out["ready"] and out["pong"] else 1)
PY

    # aria_ws.py URL ORIGIN [--insecure] — ask ARIA one question over its
    # websocket; prints the frame types received and checks the contract's
    # sequence: connected, typing true, ai_chunk…, ai_response, typing false.
    cat >"$OPS_DIR/py/aria_ws.py" <<'PY'
import json, ssl, sys
import websocket
url, origin, insecure = sys.argv[1], sys.argv[2], "--insecure" in sys.argv
out = {"frames": []}
try:
    ws = websocket.create_connection(url, timeout=120, origin=origin,
                                     sslopt={"cert_reqs": ssl.CERT_NONE} if insecure else None)
    out["frames"].append(json.loads(ws.recv()).get("type"))
    ws.send(json.dumps({"type": "user_message", "content": "Comment fonctionne une pile ?",
                        "timestamp": "2026-11-22T10:00:00Z"}))
    chunks, answer = "", None
    while True:
        frame = json.loads(ws.recv())
        kind = frame.get("type")
        if not out["frames"] or out["frames"][-1] != kind or kind != "ai_chunk":
            out["frames"].append(kind)
        if kind == "ai_chunk":
            chunks += frame["content"]
        if kind == "ai_response":
            answer = frame
        if frame == {"type": "typing", "isTyping": False}:
            break
    ws.close()
    out["generation"] = answer["metadata"]["generation"] if answer else None
    out["streamed_equals_answer"] = bool(answer) and answer["content"] == chunks.strip()
except Exception as e:  # reported, not raised: the caller prints the JSON
    out["error"] = f"{type(e).__name__}: {e}"
print(json.dumps(out))
good = (out["frames"] == ["connected", "typing", "ai_chunk", "ai_response", "typing"]
        and out.get("generation") == "enabled" and out.get("streamed_equals_answer"))
sys.exit(0 if good else 1)
PY

    # ws_hold.py URL ORIGIN FILE SECONDS — hold a connection open
    # (hub_connections > 0), answer the hub's pings, send a ping every 2 s,
    # append every frame's type to FILE (first line "ready" once connected).
    cat >"$OPS_DIR/py/ws_hold.py" <<'PY'
import json, signal, sys, time
import websocket
url, origin, path, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ws = websocket.create_connection(url, timeout=10, origin=origin)
ws.settimeout(1)
end, next_ping = time.time() + seconds, 0
with open(path, "a", buffering=1) as out:
    while time.time() < end:
        if time.time() >= next_ping:
            ws.send(json.dumps({"type": "ping"}))
            next_ping = time.time() + 2
        try:
            text = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        if not text:
            break
        try:
            out.write(str(json.loads(text).get("type")) + "\n")
        except ValueError:
            out.write("non-json\n")
ws.close()
PY

    # prom_config.py SRC DST INTERVAL job=host:port... — the test config:
    # SRC with every job's targets replaced by the given static target (every
    # job must be given, and only those), intervals set, rule_files absolute.
    cat >"$OPS_DIR/py/prom_config.py" <<'PY'
import os, sys, yaml
src, dst, interval = sys.argv[1], sys.argv[2], sys.argv[3]
targets = dict(a.split("=", 1) for a in sys.argv[4:])
with open(src) as f:
    cfg = yaml.safe_load(f)
g = cfg.setdefault("global", {})
g["scrape_interval"] = g["evaluation_interval"] = g["scrape_timeout"] = interval
base = os.path.dirname(os.path.abspath(src))
cfg["rule_files"] = [p if os.path.isabs(p) else os.path.join(base, p) for p in cfg.get("rule_files", [])]
jobs, errors = [], []
for sc in cfg["scrape_configs"]:
    job = sc["job_name"]
    jobs.append(job)
    if job not in targets:
        errors.append(f"job {job!r} of {src} has no local target in scripts/test-ops.sh")
        continue
    for key in [k for k in sc if k == "static_configs" or k.endswith("_sd_configs")]:
        del sc[key]
    sc.pop("scrape_interval", None)
    sc.pop("scrape_timeout", None)
    sc["static_configs"] = [{"targets": [targets[job]]}]
for job in targets:
    if job not in jobs:
        errors.append(f"scripts/test-ops.sh maps job {job!r}, which {src} does not have")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
with open(dst, "w") as f:
    yaml.safe_dump(cfg, f, sort_keys=False)
print(" ".join(jobs))
PY

    # prom_checks.py PROM_URL RESULTS — the Prometheus side of the test: targets,
    # rules, metric names, dashboard queries. Appends "status<TAB>label" lines
    # to RESULTS (ok / FAIL / PENDING) and prints them.
    cat >"$OPS_DIR/py/prom_checks.py" <<'PY'
import glob, json, os, re, sys, urllib.parse, urllib.request
import yaml

prom, results_path, root = sys.argv[1], sys.argv[2], sys.argv[3]
results = open(results_path, "a", buffering=1)

def record(status, label):
    results.write(f"{status}\t{label}\n")
    print(f"  {('ok' if status == 'ok' else status):<8} {label}", file=sys.stderr)

def api(path, **params):
    data = urllib.parse.urlencode(params).encode() if params else None
    with urllib.request.urlopen(prom + path, data=data, timeout=30) as r:
        return json.load(r)

def query(expr):
    try:
        body = api("/api/v1/query", query=expr)
    except urllib.error.HTTPError as e:
        try:
            return None, json.load(e).get("error", str(e))
        except ValueError:
            return None, str(e)
    if body.get("status") != "success":
        return None, body.get("error", "query failed")
    return body["data"]["result"], None

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan", "atan2"}

def metric_names(expr):
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"'(?:[^'\\]|\\.)*'", "''", s)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", s):
        tok = m.group(0)
        if s[m.end():].lstrip().startswith("(") or tok.lower() in KEYWORDS:
            continue
        names.add(tok)
    return names

GRAFANA_VARS = [("$__rate_interval", "1m"), ("${__rate_interval}", "1m"), ("$__interval_ms", "15000"),
                ("$__interval", "15s"), ("${__interval}", "15s"), ("$__range_s", "300"),
                ("$__range", "5m"), ("${__range}", "5m")]

def grafana_expr(expr):
    for var, value in GRAFANA_VARS:
        expr = expr.replace(var, value)
    return expr

pending = []
with open(os.path.join(root, "monitoring/grafana/pending-metrics.txt")) as f:
    for line in f:
        line = line.split("#", 1)[0].strip()
        if line:
            pending.append(line)
pending = set(pending)

exported = set(api("/api/v1/label/__name__/values")["data"])

# ---------------------------------------------------------------- targets
targets = api("/api/v1/targets")["data"]["activeTargets"]
with open(os.path.join(os.environ["OPS_PROM_CONFIG"])) as f:
    jobs = [sc["job_name"] for sc in yaml.safe_load(f)["scrape_configs"]]
seen = {}
for t in targets:
    seen.setdefault(t["labels"]["job"], []).append(t)
for job in jobs:
    ts = seen.get(job, [])
    if ts and all(t["health"] == "up" for t in ts):
        record("ok", f"prometheus target {job} is up ({', '.join(t['scrapeUrl'] for t in ts)})")
    else:
        detail = "; ".join(f"{t['scrapeUrl']}: {t['health']} {t.get('lastError', '')}" for t in ts) or "no target"
        record("FAIL", f"prometheus target {job} is not up ({detail})")

# ---------------------------------------------------------------- pending list
for name in sorted(pending):
    if name in exported:
        record("FAIL", f"pending-metrics.txt lists {name}, which is now exported: remove it from the list")

# ---------------------------------------------------------------- rules
groups = api("/api/v1/rules")["data"]["groups"]
rule_files = sorted(glob.glob(os.path.join(root, "monitoring/prometheus/rules/*.yml")))
defined = 0
for path in rule_files:
    with open(path) as f:
        for g in yaml.safe_load(f).get("groups", []):
            defined += len(g.get("rules", []))
loaded = [r for g in groups for r in g["rules"]]
if len(loaded) == defined and defined > 0:
    record("ok", f"prometheus loaded all {defined} rules of monitoring/prometheus/rules/")
else:
    record("FAIL", f"prometheus loaded {len(loaded)} rules, the files define {defined}")
for r in loaded:
    name = r.get("name")
    if r.get("health") != "ok":
        record("FAIL", f"rule {name}: evaluation health {r.get('health')}: {r.get('lastError', '')}")
        continue
    result, err = query(r["query"])
    if err:
        record("FAIL", f"rule {name}: query error: {err}")
        continue
    names = metric_names(r["query"])
    unknown = sorted(n for n in names if n not in exported and n not in pending)
    waiting = sorted(n for n in names if n in pending)
    if unknown:
        record("FAIL", f"rule {name}: metric(s) not exported by anything: {', '.join(unknown)}")
    elif waiting:
        record("PENDING", f"rule {name}: evaluates (health ok), uses metric(s) not exported yet: {', '.join(waiting)}")
    else:
        for annotation in ("summary", "description", "runbook"):
            if not r.get("annotations", {}).get(annotation):
                record("FAIL", f"rule {name}: no {annotation} annotation")
                break
        else:
            state = r.get("state", "inactive")
            record("ok", f"rule {name}: evaluates, metrics exist ({', '.join(sorted(names))}), state {state}")
# Runbook anchors: every rule's runbook points into docs/OPERATIONS.md; once
# that file exists, each anchor must be one of its headings (GitHub's slugs)
# or an explicit id="…"/name="…".
runbooks = sorted({r.get("annotations", {}).get("runbook", "") for r in loaded} - {""})
ops_doc = os.path.join(root, "docs/OPERATIONS.md")
if not os.path.exists(ops_doc):
    record("PENDING", f"docs/OPERATIONS.md not written yet: runbook anchors unchecked ({', '.join(a.split('#')[-1] for a in runbooks)})")
else:
    with open(ops_doc, encoding="utf-8") as f:
        text = f.read()
    anchors = set(re.findall(r'(?:id|name)="([^"]+)"', text))
    for heading in re.findall(r"(?m)^#{1,6}\s+(.+?)\s*#*\s*$", text):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    for rb in runbooks:
        path, _, anchor = rb.partition("#")
        if path != "docs/OPERATIONS.md" or anchor not in anchors:
            record("FAIL", f"runbook {rb}: no such anchor in docs/OPERATIONS.md")
        else:
            record("ok", f"runbook {rb} exists")
firing = [f"{a['labels'].get('alertname')}({a['state']})" for a in api("/api/v1/alerts")["data"]["alerts"]]
if firing:
    print(f"  info     alerts pending/firing now: {', '.join(firing)}", file=sys.stderr)

# ---------------------------------------------------------------- dashboards
with open(os.path.join(root, "monitoring/grafana/provisioning/datasources/prometheus.yml")) as f:
    ds_uids = {d.get("uid") for d in yaml.safe_load(f)["datasources"]}
with open(os.path.join(root, "monitoring/grafana/provisioning/dashboards/nexus.yml")) as f:
    provider_paths = [p["options"]["path"] for p in yaml.safe_load(f)["providers"]]
if provider_paths == ["/var/lib/grafana/dashboards"]:
    record("ok", "grafana dashboard provider reads /var/lib/grafana/dashboards (where compose mounts them)")
else:
    record("FAIL", f"grafana dashboard provider paths {provider_paths}")

def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))

uids = set()
for path in sorted(glob.glob(os.path.join(root, "monitoring/grafana/dashboards/*.json"))):
    fname = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
    except ValueError as e:
        record("FAIL", f"{fname}: not valid JSON: {e}")
        continue
    problems = []
    if not dash.get("uid") or dash["uid"] in uids:
        problems.append("missing or duplicate uid")
    uids.add(dash.get("uid"))
    if not dash.get("title"):
        problems.append("no title")
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        problems.append(f"schemaVersion {dash.get('schemaVersion')} < 36")
    ids = [p.get("id") for p in walk(dash.get("panels", []))]
    if len(ids) != len(set(ids)) or None in ids:
        problems.append("panel ids missing or not unique")
    n_queries = 0
    for panel in walk(dash.get("panels", [])):
        if panel.get("type") == "row":
            continue
        title = panel.get("title", "?")
        if "gridPos" not in panel:
            problems.append(f"panel {title!r} has no gridPos")
        if not panel.get("targets"):
            problems.append(f"panel {title!r} has no query")
        for t in panel.get("targets", []):
            ds = t.get("datasource") or panel.get("datasource") or {}
            if ds.get("type") != "prometheus" or ds.get("uid") not in ds_uids:
                problems.append(f"panel {title!r} {t.get('refId')}: datasource {ds} is not the provisioned prometheus")
            expr = t.get("expr", "")
            label = f"{fname} / {title} / {t.get('refId')}"
            n_queries += 1
            q = grafana_expr(expr)
            if "$" in q:
                record("FAIL", f"{label}: unknown Grafana variable in {expr!r}")
                continue
            result, err = query(q)
            names = metric_names(q)
            unknown = sorted(n for n in names if n not in exported and n not in pending)
            waiting = sorted(n for n in names if n in pending)
            if err:
                record("FAIL", f"{label}: query error: {err} — {q}")
            elif unknown:
                record("FAIL", f"{label}: metric(s) not exported by anything: {', '.join(unknown)} — {q}")
            elif not result:
                if waiting:
                    record("PENDING", f"{label}: no data, metric not exported yet ({', '.join(waiting)})")
                else:
                    record("FAIL", f"{label}: empty result — {q}")
            else:
                values = [s["value"][1] for s in result]
                note = " (NaN: no observation in the window)" if all(v == "NaN" for v in values) else ""
                record("ok", f"{label}: {len(result)} series{note}")
    if problems:
        for p in problems:
            record("FAIL", f"{fname}: {p}")
    else:
        record("ok", f"{fname}: valid dashboard (schemaVersion {dash['schemaVersion']}, {n_queries} queries, datasource uid prometheus)")
PY

    # flood.py URL N — N sequential GETs on one keepalive connection; prints
    # "status count" lines, then the headers and body of the first 429.
    cat >"$OPS_DIR/py/flood.py" <<'PY'
import collections, http.client, json, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
n = int(sys.argv[2])
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
counts, first429 = collections.Counter(), None
for i in range(n):
    conn.request("GET", f"{u.path}?i={i}")
    r = conn.getresponse()
    body = r.read()
    counts[r.status] += 1
    if r.status == 429 and first429 is None:
        first429 = {"headers": {k.lower(): v for k, v in r.getheaders()}, "body": body.decode("utf-8", "replace")}
print(json.dumps({"counts": counts, "first429": first429}))
PY
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
    ok "nginx -t accepts the $name configuration ($(nginx -v 2>&1 | sed 's/.*version: //'))"
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
: >"$RESULTS"

section "packages"
ensure_packages nginx prometheus prometheus-postgres-exporter prometheus-redis-exporter \
    prometheus-nginx-exporter prometheus-node-exporter python3 python3-websocket python3-yaml \
    curl ca-certificates jq openssl gettext-base postgresql-client redis-tools perl
for svc in nexus-api nexus-hub nexus-aria; do
    [[ -x $BIN_DIR/$svc ]] || die "$BIN_DIR/$svc not found: build the workspace first (cargo build), or set NEXUS_BIN_DIR"
done
write_python_helpers

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
# (a) shows two forwarded client addresses with a budget of their own each.
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

# ----------------------------------------------------------------- (a) HTTP
section "(a) HTTP through nginx"
http r -H 'Accept: application/json' "$N/api/courses"
expect "GET /api/courses without a token → 401 from the API" "$CODE $(json_get .code "$WORK/r.body")" "401 missing_token"

STUDENT=$(login_via "$N" student@nexus-reussite.fr) || die "login through nginx failed"
ok "POST /api/auth/login through nginx → 200 with an access token"

http me -H "Authorization: Bearer $STUDENT" "$N/api/auth/me"
expect "GET /api/auth/me through nginx → 200, the student" "$CODE $(json_get .user.email "$WORK/me.body")" "200 student@nexus-reussite.fr"

# Routing to ARIA. The services answer an unknown path with the same JSON 404,
# so the body cannot tell who answered; the services' own counters can:
# http_requests_total{route="unmatched",status="404"} must grow by exactly 3
# at ARIA and by 0 at the API (nothing else sends them requests meanwhile).
aria_before=$(metric_sum "$ARIA" http_requests_total route=unmatched status=404)
api_before=$(metric_sum "$API" http_requests_total route=unmatched status=404)
aria_codes=""
for i in 1 2 3; do
    http r -H "X-Request-Id: ops-aria-probe-$i" "$N/api/aria/ops-probe-$i"
    aria_codes+="$CODE/$(json_get .code "$WORK/r.body")/$(header "$WORK/r.headers" X-Request-Id) "
done
aria_after=$(metric_sum "$ARIA" http_requests_total route=unmatched status=404)
api_after=$(metric_sum "$API" http_requests_total route=unmatched status=404)
expect "GET /api/aria/… answered 404 not_found, request id passed through" "$aria_codes" \
    "404/not_found/ops-aria-probe-1 404/not_found/ops-aria-probe-2 404/not_found/ops-aria-probe-3 "
expect "GET /api/aria/… reached ARIA (its unmatched-404 counter +3, the API's +0)" \
    "aria+$((aria_after - aria_before)) api+$((api_after - api_before))" "aria+3 api+0"

# /api/ without aria → API (the reverse check).
api_before=$(metric_sum "$API" http_requests_total route=unmatched status=404)
aria_before=$(metric_sum "$ARIA" http_requests_total route=unmatched status=404)
http r "$N/api/ops-not-a-route"
api_after=$(metric_sum "$API" http_requests_total route=unmatched status=404)
aria_after=$(metric_sum "$ARIA" http_requests_total route=unmatched status=404)
expect "GET /api/ops-not-a-route reached the API (API +1, ARIA +0)" \
    "$CODE api+$((api_after - api_before)) aria+$((aria_after - aria_before))" "404 api+1 aria+0"

# /metrics: every service has one on its own port (scraped on the backend
# network); through the edge nginx answers it itself, in JSON, and nothing
# behind it (neither a service nor the web app, whose answers are HTML) sees it.
for path in /metrics /metrics/ops; do
    http metrics "$N$path"
    expect "GET $path through nginx → nginx's JSON 404 (never the services' metrics nor the web app)" \
        "$CODE $(content_type "$WORK/metrics.headers") $(json_get .code "$WORK/metrics.body")" "404 application/json not_found"
done
# Any other path nobody serves is the web app's: its own 404 page.
http nf -H 'Accept: text/html' "$N/ops-page-inexistante"
expect "GET /ops-page-inexistante (no route) → the web app's 404 page (HTML of its layout, one CSP)" \
    "$(page_facts nf)" "404 text/html csp×1 app-layout"

# Security headers: exactly once each (the services' and the web app's copies
# are hidden), on a proxied JSON answer, on a proxied page, and on an answer
# nginx makes itself.
for pair in "me:$WORK/me.headers" "web-404:$WORK/nf.headers" "nginx-404:$WORK/metrics.headers"; do
    what=${pair%%:*}
    file=${pair#*:}
    got=""
    for h in Strict-Transport-Security X-Content-Type-Options X-Frame-Options Referrer-Policy; do
        got+="$h=$(header_count "$file" "$h")x:$(header "$file" "$h"); "
    done
    expect "security headers once each ($what)" "$got" \
        "Strict-Transport-Security=1x:max-age=31536000; includeSubDomains; X-Content-Type-Options=1x:nosniff; X-Frame-Options=1x:DENY; Referrer-Policy=1x:strict-origin-when-cross-origin; "
done

http r "$N/health"
expect "GET /health through nginx → 200 (API)" "$CODE" "200"

# gzip on a large JSON answer.
http r -H "Authorization: Bearer $STUDENT" "$N/api/courses?limit=5"
course_id=$(json_get '.courses[0].id' "$WORK/r.body")
[[ $course_id =~ ^[0-9]+$ ]] || die "no course in GET /api/courses: $(head -c 300 "$WORK/r.body")"
http plain -H "Authorization: Bearer $STUDENT" "$N/api/courses/$course_id"
http gz -H "Authorization: Bearer $STUDENT" -H 'Accept-Encoding: gzip' "$N/api/courses/$course_id"
plain_size=$(stat -c %s "$WORK/plain.body")
gz_size=$(stat -c %s "$WORK/gz.body")
if [[ $CODE == 200 && $(header "$WORK/gz.headers" Content-Encoding) == gzip ]] &&
    gzip -dc <"$WORK/gz.body" | cmp -s - "$WORK/plain.body"; then
    ok "GET /api/courses/$course_id with Accept-Encoding: gzip → gzip ($plain_size → $gz_size bytes, same JSON)"
else
    ko "gzip: status $CODE, Content-Encoding '$(header "$WORK/gz.headers" Content-Encoding)', $plain_size → $gz_size bytes"
fi
if tr -d '\r' <"$WORK/gz.headers" | grep -qi '^vary:.*accept-encoding'; then
    ok "gzip answers carry Vary: Accept-Encoding"
else
    ko "no Vary: Accept-Encoding on the gzip answer"
fi

# 413 from nginx, before the API sees the body.
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$WORK/2mb.json"
api_413_before=$(metric_sum "$API" http_requests_total status=413)
http big -H 'Content-Type: application/json' --data-binary "@$WORK/2mb.json" "$N/api/auth/login"
api_413_after=$(metric_sum "$API" http_requests_total status=413)
expect "POST of 2 MiB → 413 payload_too_large (JSON) from nginx" \
    "$CODE $(json_get .code "$WORK/big.body") $(header "$WORK/big.headers" X-Frame-Options)" "413 payload_too_large DENY"
if [[ $api_413_after == "$api_413_before" ]] && grep -q "client intended to send too large body" "$NGINX_DIR/logs/error.log"; then
    ok "the 2 MiB body never reached the API (its 413 counter unchanged; nginx logged it)"
else
    ko "413 not from nginx? API 413 counter $api_413_before → $api_413_after; nginx error log: $(grep -c 'too large body' "$NGINX_DIR/logs/error.log" || true) line(s)"
fi

# X-Forwarded-For: nginx appends the peer it sees ($remote_addr = 127.0.0.1,
# here the test's own curl), the API skips trusted hops from the right
# (127.0.0.1 is in TRUSTED_PROXIES) and rate-limits the first untrusted one:
# the address our curl forwards. With RATE_LIMIT_REGISTER_IP_PER_HOUR=2, each
# forwarded address gets two registrations of its own. In production the
# peer is a real client address, not trusted, so whatever the client writes
# in X-Forwarded-For is ignored — the last request below shows the leftmost
# (client-written) entry is ignored here too.
# register_as XFF N — register a new student with that X-Forwarded-For;
# appends the status to REG_CODES.
register_as() {
    local xff=$1 n=$2
    http reg -H 'Content-Type: application/json' -H "X-Forwarded-For: $xff" \
        --data "{\"email\":\"ops-$RUN_ID-$n@example.fr\",\"password\":\"Girafe-Violette-42\",\"firstName\":\"Ops\",\"lastName\":\"Probe\",\"role\":\"student\",\"classLevel\":\"terminale\"}" \
        "$N/api/auth/register"
    REG_CODES+="${REG_CODES:+ }$CODE"
}
RUN_ID=$(rand_hex 6)
xff_a=203.0.113.10
xff_b=198.51.100.20
REG_CODES=""
register_as $xff_a 1
register_as $xff_a 2
register_as $xff_a 3
expect "register ×3 with X-Forwarded-For $xff_a → 201 201 429 (limit 2/h per IP)" "$REG_CODES" "201 201 429"
retry_after=$(header "$WORK/reg.headers" Retry-After)
expect "the 429 is the API's (rate_limited, Retry-After set)" \
    "$(json_get .code "$WORK/reg.body") $([[ $retry_after =~ ^[0-9]+$ ]] && echo retry-after)" "rate_limited retry-after"
REG_CODES=""
register_as $xff_b 4
register_as $xff_b 5
expect "register ×2 with X-Forwarded-For $xff_b → 201 201 (a budget of its own)" "$REG_CODES" "201 201"
REG_CODES=""
register_as "6.6.6.6, $xff_a" 6
expect "X-Forwarded-For '6.6.6.6, $xff_a' counts as $xff_a (rightmost untrusted hop) → 429" "$REG_CODES" "429"

# ------------------------------------------------------------ (f) web app
section "(f) the web app at / through nginx (location / → nexus_web)"
# The per-request CSP with a nonce is set by the web app (frontend/src/proxy.ts);
# nginx must pass it through as the page's only CSP.
nonces=()
for page in / /connexion /connexion; do
    http page -H 'Accept: text/html' "$N$page"
    expect "GET $page through nginx → the web app's page (200 HTML of its layout), exactly one CSP" \
        "$(page_facts page)" "200 text/html csp×1 app-layout"
    # Pages are never kept by a shared cache, nor for long by the browser.
    cc=$(header "$WORK/page.headers" Cache-Control)
    if [[ $cc =~ no-cache|no-store ]] && [[ ! $cc =~ public|s-maxage|immutable ]] &&
        [[ $(header_count "$WORK/page.headers" Cache-Control) == 1 ]]; then
        ok "GET $page: not cacheable by shared caches, revalidated by the browser (Cache-Control: $cc)"
    else
        ko "GET $page: Cache-Control '$cc' ($(header_count "$WORK/page.headers" Cache-Control) header(s)): a page must be private and revalidated"
    fi
    # Every <script> Next wrote carries the header's nonce (or the browser
    # would refuse to run it), and script-src needs no 'unsafe-inline'.
    nonce=$(csp_nonce "$WORK/page.headers")
    scripts=$("$PY" - "$WORK/page.body" "$nonce" <<'PY'
import re, sys
html, nonce = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2]
tags = re.findall(r"<script\b[^>]*>", html)
marker = 'nonce="%s"' % nonce
print(len(tags), sum(1 for t in tags if not nonce or marker not in t))
PY
) || scripts="error"
    csp=$(header "$WORK/page.headers" Content-Security-Policy)
    if [[ -n $nonce && $scripts =~ ^[1-9][0-9]*\ 0$ ]] &&
        [[ $(sed -n 's/.*script-src\([^;]*\).*/\1/p' <<<"$csp") != *unsafe-inline* ]]; then
        ok "GET $page: the CSP's script-src has a nonce and no 'unsafe-inline'; all ${scripts%% *} <script> tags carry the nonce"
    else
        ko "GET $page: nonce '$nonce', <script> tags (total, without the nonce): $scripts; CSP: $csp"
    fi
    nonces+=("$nonce")
done
if [[ ${#nonces[@]} == 3 && -n ${nonces[0]} && ${nonces[0]} != "${nonces[1]}" && ${nonces[1]} != "${nonces[2]}" ]]; then
    ok "every page answer has a fresh nonce (3 requests, 3 nonces)"
else
    ko "nonces are not fresh per request: ${nonces[*]}"
fi

# The build's static files: a year, immutable; a missing one is not cached.
chunk=$({ grep -o '/_next/static/[^"]*\.js' "$WORK/page.body" || true; } | head -n 1)
if [[ -z $chunk ]]; then
    ko "no /_next/static/….js in the HTML of /connexion"
else
    http static -H 'Accept-Encoding: gzip' "$N$chunk"
    expect "GET $chunk through nginx → 200 JavaScript, Cache-Control: public, max-age=31536000, immutable (once)" \
        "$CODE $(content_type "$WORK/static.headers") $(header_count "$WORK/static.headers" Cache-Control)x $(header "$WORK/static.headers" Cache-Control)" \
        "200 application/javascript 1x public, max-age=31536000, immutable"
    if [[ $(header "$WORK/static.headers" Content-Encoding) == gzip ]]; then
        ok "the chunk is sent compressed (Content-Encoding: gzip)"
    else
        ko "the chunk is not compressed (Content-Encoding: '$(header "$WORK/static.headers" Content-Encoding)')"
    fi
fi
http static "$N/_next/static/chunks/ops-missing-$(rand_hex 4).js"
cc=$(header "$WORK/static.headers" Cache-Control)
if [[ $CODE == 404 && $cc != *immutable* && $cc != *max-age=31536000* ]]; then
    ok "a missing /_next/static/ file → 404, not cached for long (Cache-Control: ${cc:-none})"
else
    ko "missing /_next/static/ file: $CODE, Cache-Control '$cc'"
fi

# Sign-in through the web app's route handler (the refresh token goes into an
# httpOnly cookie, never into the page): the handler checks that Origin is the
# site the browser sees — nginx's X-Forwarded-Host, port included.
session_login() { # NAME ORIGIN BASE [curl args…]
    local name=$1 origin=$2 base=$3
    shift 3
    http "$name" "$@" -H "Origin: $origin" -H 'Content-Type: application/json' \
        --data "{\"email\":\"student@nexus-reussite.fr\",\"password\":\"$DEMO_PASSWORD\"}" "$base/session/login"
}
session_login sess "$N" "$N"
expect "POST /session/login through nginx (Origin: the site) → 200, an access token, the refresh token only in its cookie" \
    "$CODE $(json_get '.success' "$WORK/sess.body") $(json_get '.accessToken | type' "$WORK/sess.body") $(json_get '.refreshToken // "absent"' "$WORK/sess.body")" \
    "200 true string absent"
expect "the refresh cookie is httpOnly, SameSite=Strict, Path=/session (plain HTTP: not Secure)" \
    "$(cookie_facts "$WORK/sess.headers" nexus_refresh)" "nexus_refresh httponly samesite=strict path=/session not-secure"
session_login sess "https://evil.example" "$N"
expect "POST /session/login from a foreign Origin through nginx → 403 forbidden" \
    "$CODE $(json_get .code "$WORK/sess.body")" "403 forbidden"

# ------------------------------------------------------------ (b) websockets
section "(b) websocket through nginx to the hub"
conn_before=$(metric_sum "$HUB" hub_connections_total)
for path in /ws /ws/; do
    if out=$("$PY" "$OPS_DIR/py/ws_check.py" "ws://127.0.0.1:$NGINX_PORT$path?token=$STUDENT" "$ORIGIN"); then
        ok "ws://nginx$path?token=… → ready, ping → pong ($out)"
    else
        ko "ws://nginx$path: $out"
    fi
done
conn_after=$(metric_sum "$HUB" hub_connections_total)
expect "the hub authenticated both websocket connections (hub_connections_total +2)" \
    "+$((conn_after - conn_before))" "+2"
out=$("$PY" "$OPS_DIR/py/ws_check.py" "ws://127.0.0.1:$NGINX_PORT/ws?token=$STUDENT" "https://evil.example" || true)
if [[ $out == *"403"* ]]; then
    ok "a websocket from a foreign Origin is refused by the hub through nginx (Origin passed on)"
else
    ko "foreign Origin through nginx: $out"
fi

# --------------------------------------------------------- (c) ARIA websocket
section "(c) /ws/aria/{sessionId} → ARIA"
aria_before=$(metric_sum "$ARIA" http_requests_total 'route=/ws/aria/{session_id}')
hub_before=$(metric_sum "$HUB" http_requests_total route!=/metrics)
if out=$("$PY" "$OPS_DIR/py/aria_ws.py" "ws://127.0.0.1:$NGINX_PORT/ws/aria/ops-$(rand_hex 8)?token=$STUDENT" "$ORIGIN"); then
    ok "ws://nginx/ws/aria/{id} → connected, typing, streamed ai_chunk frames, ai_response (= the chunks), typing false ($out)"
else
    ko "ws://nginx/ws/aria/{id}: $out"
fi
aria_after=$(metric_sum "$ARIA" http_requests_total 'route=/ws/aria/{session_id}')
hub_after=$(metric_sum "$HUB" http_requests_total route!=/metrics)
expect "the ARIA websocket reached ARIA, not the hub (ARIA +1, hub +0)" \
    "aria+$((aria_after - aria_before)) hub+$((hub_after - hub_before))" "aria+1 hub+0"
# Server-sent events through nginx: events arrive as they are written (nginx
# does not buffer them: proxy_buffering off, X-Accel-Buffering: no).
curl -sN --max-time 120 -o "$WORK/sse.body" -D "$WORK/sse.headers" -H "Authorization: Bearer $STUDENT" \
    -H 'Content-Type: application/json' --data '{"message": "Qu'"'"'est-ce qu'"'"'une file ?"}' "$N/api/aria/chat/stream" || true
sse_kinds=$(sed -n 's/^event: *//p' "$WORK/sse.body" | uniq | tr '\n' ' ')
expect "POST /api/aria/chat/stream through nginx → typing, ai_chunk…, ai_response, typing" \
    "$(head -n1 "$WORK/sse.headers" | awk '{print $2}') $sse_kinds" "200 typing ai_chunk ai_response typing "

# --------------------------------------------------- (e) the production server
section "(e) production server (templates/nexus.conf.template, self-signed certificate)"
PROD_HTTP_PORT=$(free_port)
PROD_HTTPS_PORT=$(free_port)
PROD_STATUS_PORT=$(free_port)
GRAFANA_DEAD_PORT=$(free_port)
PROD_DIR=$OPS_DIR/nginx-prod
nginx_prefix "$PROD_DIR"
render_prod_nginx "$PROD_DIR"
start_nginx nginx-prod "$PROD_DIR" "$PROD_STATUS_PORT"
http r "http://127.0.0.1:$PROD_HTTP_PORT/api/courses?page=2"
expect "http:// → 301 to https://DOMAIN, path and query kept" "$CODE $(header "$WORK/r.headers" Location)" \
    "301 https://$PROD_DOMAIN/api/courses?page=2"
echo "acme-token-$RUN_ID" >"$ACME_DIR/.well-known/acme-challenge/ops-$RUN_ID"
http r "http://127.0.0.1:$PROD_HTTP_PORT/.well-known/acme-challenge/ops-$RUN_ID"
expect "ACME http-01 challenge served over plain HTTP" "$CODE $(cat "$WORK/r.body")" "200 acme-token-$RUN_ID"
TLS=(-k --resolve "$PROD_DOMAIN:$PROD_HTTPS_PORT:127.0.0.1")
PS=https://$PROD_DOMAIN:$PROD_HTTPS_PORT
http r "${TLS[@]}" -H "Authorization: Bearer $STUDENT" "$PS/api/auth/me"
expect "https://DOMAIN/api/auth/me → 200 through the production TLS server" "$CODE $(json_get .user.email "$WORK/r.body")" "200 student@nexus-reussite.fr"
expect "HSTS once on the TLS server" "$(header_count "$WORK/r.headers" Strict-Transport-Security)" "1"
aria_before=$(metric_sum "$ARIA" http_requests_total route=unmatched status=404)
http r "${TLS[@]}" "$PS/api/aria/ops-probe"
aria_after=$(metric_sum "$ARIA" http_requests_total route=unmatched status=404)
expect "https://DOMAIN/api/aria/… → ARIA's JSON 404 (ARIA's counter +1)" \
    "$CODE $(json_get .code "$WORK/r.body") aria+$((aria_after - aria_before))" "404 not_found aria+1"
if out=$("$PY" "$OPS_DIR/py/ws_check.py" "wss://127.0.0.1:$PROD_HTTPS_PORT/ws?token=$STUDENT" "$ORIGIN" --insecure); then
    ok "wss://DOMAIN/ws?token=… → ready, ping → pong ($out)"
else
    ko "wss through the production server: $out"
fi
if out=$("$PY" "$OPS_DIR/py/aria_ws.py" "wss://127.0.0.1:$PROD_HTTPS_PORT/ws/aria/ops-$(rand_hex 8)?token=$STUDENT" "$ORIGIN" --insecure); then
    ok "wss://DOMAIN/ws/aria/{id} → an answer streamed with the contract's frames ($out)"
else
    ko "ARIA's websocket through the production server: $out"
fi
http page "${TLS[@]}" -H 'Accept: text/html' "$PS/connexion"
expect "https://DOMAIN/connexion → the web app's page, one CSP, HSTS once" \
    "$(page_facts page) hsts×$(header_count "$WORK/page.headers" Strict-Transport-Security)" "200 text/html csp×1 app-layout hsts×1"
session_login sess "$PS" "$PS" "${TLS[@]}"
expect "POST https://DOMAIN/session/login → 200; the refresh cookie is Secure (X-Forwarded-Proto: https)" \
    "$CODE $(cookie_facts "$WORK/sess.headers" nexus_refresh)" "200 nexus_refresh httponly samesite=strict path=/session secure"
http metrics "${TLS[@]}" "$PS/metrics"
expect "https://DOMAIN/metrics → nginx's JSON 404" \
    "$CODE $(json_get .code "$WORK/metrics.body")" "404 not_found"
http r "${TLS[@]}" "$PS/grafana/api/health"
expect "an upstream that is down (grafana, not run here) → nginx's 503 JSON" \
    "$CODE $(json_get .code "$WORK/r.body") $(header "$WORK/r.headers" Retry-After)" "503 service_unavailable 5"
http r "http://127.0.0.1:$PROD_STATUS_PORT/stub_status"
if [[ $CODE == 200 ]] && grep -q '^Active connections:' "$WORK/r.body"; then
    ok "internal status listener serves /stub_status"
else
    ko "stub_status on the production status listener: $CODE"
fi
http r "http://127.0.0.1:$PROD_STATUS_PORT/"
expect "the status listener serves nothing else" "$CODE" "404"

# ---------------------------------------------------------- (d) Prometheus
section "(d) exporters + Prometheus with monitoring/prometheus/prometheus.yml"
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

PROM_DIR=$OPS_DIR/prometheus
rm -rf "$PROM_DIR"
mkdir -p "$PROM_DIR/data"
export OPS_PROM_CONFIG=$PROM_DIR/prometheus.yml
jobs=$("$PY" "$OPS_DIR/py/prom_config.py" monitoring/prometheus/prometheus.yml "$OPS_PROM_CONFIG" "$SCRAPE_INTERVAL" \
    "nexus-api=127.0.0.1:$API_PORT" "nexus-hub=127.0.0.1:$HUB_PORT" "nexus-aria=127.0.0.1:$ARIA_PORT" \
    "postgres=127.0.0.1:$PGX_PORT" "redis=127.0.0.1:$RDX_PORT" "nginx=127.0.0.1:$NGX_PORT" \
    "node=127.0.0.1:$NODE_PORT" "prometheus=127.0.0.1:$PROM_PORT" 2>"$WORK/prom_config.err") || {
    ko "test Prometheus config: $(cat "$WORK/prom_config.err")"
    die "cannot generate the test Prometheus config"
}
ok "test config = prometheus.yml with local targets, same jobs ($jobs)"
start_bg prometheus prometheus --config.file="$OPS_PROM_CONFIG" --storage.tsdb.path="$PROM_DIR/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --storage.tsdb.retention.time=1h --log.level=warn
PROM=http://127.0.0.1:$PROM_PORT
wait_http "$PROM/-/ready" 60 "$(<"$PID_DIR/prometheus.pid")" || die "prometheus did not start (log: $LOG_DIR/prometheus.log)"

# promtool on the REAL files (rule_files is relative: the real rules too).
if out=$(promtool check config monitoring/prometheus/prometheus.yml 2>&1); then
    ok "promtool check config monitoring/prometheus/prometheus.yml ($(grep -c SUCCESS <<<"$out") SUCCESS lines)"
else
    ko "promtool check config: $out"
fi
if out=$(promtool check rules monitoring/prometheus/rules/*.yml 2>&1); then
    ok "promtool check rules: $(grep -o '[0-9]* rules found' <<<"$out" | paste -sd, -)"
else
    ko "promtool check rules: $out"
fi
if out=$(promtool test rules monitoring/prometheus/tests/*.yml 2>&1); then
    ok "promtool test rules: the alert unit tests pass (monitoring/prometheus/tests/)"
else
    ko "promtool test rules: $out"
fi

# Traffic. A student's websocket stays open through nginx (hub_connections > 0
# at scrape time), and the quiz submission sends a notification through the
# outbox → Redis → hub → that websocket (hub delivery latency).
section "traffic"
start_bg ws-hold "$PY" "$OPS_DIR/py/ws_hold.py" "ws://127.0.0.1:$NGINX_PORT/ws?token=$STUDENT" "$ORIGIN" "$WORK/ws_frames.txt" 120
for ((i = 0; i < 50; i++)); do
    grep -q '^ready$' "$WORK/ws_frames.txt" 2>/dev/null && break
    sleep 0.2
done
grep -q '^ready$' "$WORK/ws_frames.txt" 2>/dev/null || ko "the held websocket did not get ready ($(cat "$LOG_DIR/ws-hold.log"))"

traffic() {
    local teacher parent assessment attempt
    teacher=$(login_via "$N" teacher@nexus-reussite.fr) || return 1
    parent=$(login_via "$N" parent@nexus-reussite.fr) || return 1
    curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $STUDENT" "$N/api/courses?limit=20"
    curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $STUDENT" -H 'Accept-Encoding: gzip' "$N/api/courses/$course_id"
    curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $STUDENT" "$N/api/courses?q=recursivite"
    curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $STUDENT" "$N/api/dashboard/student"
    curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $teacher" "$N/api/dashboard/teacher"
    curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $parent" "$N/api/dashboard/parent"
    curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $STUDENT" "$N/api/notifications"
    # ARIA answers from the courses (retrieval metrics).
    curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $STUDENT" -H 'Content-Type: application/json' \
        --data '{"message": "Comment fonctionne une pile en informatique ?"}' "$N/api/aria/chat"
    # A quiz: start an attempt, submit (graded at once → result_graded event).
    assessment=$(curl -s --max-time 10 -H "Authorization: Bearer $STUDENT" "$N/api/assessments" |
        jq -r '[.assessments[]? | .id] | .[0] // empty')
    if [[ -n $assessment ]]; then
        attempt=$(curl -s --max-time 10 -X POST -H "Authorization: Bearer $STUDENT" \
            "$N/api/assessments/$assessment/attempts" | jq -r '.attempt.id // empty')
        if [[ -n $attempt ]]; then
            curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $STUDENT" \
                -H 'Content-Type: application/json' --data '{"answers": {}}' "$N/api/attempts/$attempt/submit"
        fi
    fi
    printf '%s\n' "${assessment:-none}/${attempt:-none}"
    local j
    for j in 1 2 3; do
        curl -s --max-time 10 -o /dev/null "$N/api/ops-missing-$j"
        curl -s --max-time 10 -o /dev/null "$N/api/aria/ops-missing-$j"
        curl -s --max-time 10 -o /dev/null "$N/ws/ops-missing-$j"
    done
    curl -s --max-time 10 -o /dev/null "$N/api/courses"
}
quiz1=$(traffic) || ko "traffic round 1 failed"
sleep 5
quiz2=$(traffic) || ko "traffic round 2 failed"
if [[ $quiz1 == */none || $quiz1 == none/* ]]; then
    ko "traffic: could not take a quiz as the student (assessment/attempt: $quiz1)"
else
    ok "traffic: logins, course reads, search, dashboards, quizzes submitted ($quiz1, $quiz2), 404s"
fi
# Scrapes every 2 s, rules every 2 s: leave time for several after the traffic.
sleep 8
frames=$({ sort "$WORK/ws_frames.txt" 2>/dev/null || true; } | uniq -c | awk '{printf "%s×%s ", $2, $1}')
if grep -vqE '^(ready|pong)$' "$WORK/ws_frames.txt" 2>/dev/null; then
    ok "the websocket held through nginx received the quiz notifications (frames: $frames)"
else
    ko "no notification reached the websocket held through nginx (frames: ${frames:-none})"
fi

section "Prometheus: targets, rules, metric names, every dashboard query"
open_ws=$(curl -s --max-time 10 "$PROM/api/v1/query" --data-urlencode 'query=sum(hub_connections)' |
    jq -r '.data.result[0].value[1] // "none"')
if [[ $open_ws =~ ^[0-9]+$ ]] && ((open_ws >= 1)); then
    ok "Prometheus sees the websocket held through nginx: sum(hub_connections) = $open_ws"
else
    ko "sum(hub_connections) in Prometheus is $open_ws, expected ≥ 1"
fi
"$PY" "$OPS_DIR/py/prom_checks.py" "$PROM" "$RESULTS" "$NEXUS_ROOT" ||
    ko "prom_checks.py crashed (see above)"

# --------------------------------------------------- nginx's own rate limit
section "nginx rate limit (nexus_auth_per_ip: 10 r/s, burst 100)"
flood=$("$PY" "$OPS_DIR/py/flood.py" "$N/api/auth/ops-flood" 160) || flood='{}'
n404=$(jq -r '.counts["404"] // 0' <<<"$flood")
n429=$(jq -r '.counts["429"] // 0' <<<"$flood")
if ((n404 >= 100 && n429 > 0)); then
    ok "160 quick requests to /api/auth/… from one address: $n404 passed (burst 100 + refill), $n429 got 429 from nginx"
else
    ko "nginx limit_req on /api/auth/: $n404 passed, $n429 refused ($flood)"
fi
expect "nginx's 429: JSON rate_limited, Retry-After, security headers" \
    "$(jq -r '[(.first429.body | fromjson? | .code), .first429.headers["retry-after"], .first429.headers["x-frame-options"]] | join(" ")' <<<"$flood" 2>/dev/null)" \
    "rate_limited 1 DENY"

# ------------------------------------------- (f) the web app down, last
section "(f) the web app stopped: pages answer nginx's French 503 page, the API still answers"
stop_pid_file "$PID_DIR/web.pid" "$WEB_PROC_MARKER"
http down -H 'Accept: text/html' "$N/connexion"
expect "GET /connexion with the web app down → 503 HTML page in French, its own single CSP, Retry-After" \
    "$CODE $(content_type "$WORK/down.headers") csp×$(header_count "$WORK/down.headers" Content-Security-Policy) retry-after=$(header "$WORK/down.headers" Retry-After) $(grep -q 'momentanément indisponible' "$WORK/down.body" && echo french-page)" \
    "503 text/html csp×1 retry-after=5 french-page"
http r "$N/health"
expect "… while GET /health (API) through the same nginx → 200" "$CODE" "200"

# ==================================================================== summary
n_ok=$(grep -c '^ok' "$RESULTS" || true)
n_fail=$(grep -c '^FAIL' "$RESULTS" || true)
n_pending=$(grep -c '^PENDING' "$RESULTS" || true)
{
    echo
    echo "==================== scripts/test-ops.sh summary ===================="
    echo "nginx routing, TLS, websockets, Prometheus, alert rules, Grafana queries"
    echo "against the real services ($((SECONDS - STARTED_AT)) s)."
    if ((n_pending)); then
        echo
        echo "PENDING (allowed: not implemented yet, see monitoring/grafana/pending-metrics.txt):"
        grep '^PENDING' "$RESULTS" | cut -f2- | sed 's/^/  - /'
    fi
    if ((n_fail)); then
        echo
        echo "FAILED:"
        grep '^FAIL' "$RESULTS" | cut -f2- | sed 's/^/  - /'
    fi
    echo
    echo "test-ops: $n_ok passed, $n_fail failed, $n_pending pending"
} >&2

# ======================================================================= hold
if [[ ${OPS_HOLD:-0} == 1 ]]; then
    cat >&2 <<EOF

[ops] OPS_HOLD=1 — everything keeps running until Ctrl-C:
  nginx (dev)   $N            status http://127.0.0.1:$NGINX_STATUS_PORT/stub_status
  nginx (prod)  http://127.0.0.1:$PROD_HTTP_PORT  https://127.0.0.1:$PROD_HTTPS_PORT (self-signed, $PROD_DOMAIN)
  Prometheus    $PROM
  api $API   hub $HUB   aria $ARIA
  logs          $LOG_DIR, $NGINX_DIR/logs
EOF
    while :; do sleep 3600; done
fi

((n_fail == 0))
