"""(d) The exporters and Prometheus with monitoring/prometheus/prometheus.yml
(targets rewritten to the local ports by scripts/test-ops.sh, job names kept,
2 s scrapes), after real traffic (logins, courses, a quiz, a websocket held
open, 404s): every target up; promtool check config / check rules / test
rules on the real files; every alert rule loaded and evaluated without error;
every metric the rules and dashboards name exists; every runbook anchor
exists; EVERY query of every Grafana dashboard returns data — except those
naming a metric listed in monitoring/grafana/pending-metrics.txt, skipped as
PENDING with the reason.

The rules, runbooks, jobs and dashboard queries are read from the repository
at collection time: each is a test case of its own, named after it.
"""

import glob
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from ops_helpers import login, quietly

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROM_YML = os.path.join(ROOT, "monitoring/prometheus/prometheus.yml")
RULE_FILES = sorted(glob.glob(os.path.join(ROOT, "monitoring/prometheus/rules/*.yml")))
DASHBOARD_FILES = sorted(glob.glob(os.path.join(ROOT, "monitoring/grafana/dashboards/*.json")))
OPS_DOC = os.path.join(ROOT, "docs/OPERATIONS.md")


def ascii_id(text):
    """A test id readable in any terminal (accents dropped)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", text).strip()


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def read_pending():
    names = set()
    with open(os.path.join(ROOT, "monitoring/grafana/pending-metrics.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.add(line)
    return names


PENDING = read_pending()
JOBS = [sc["job_name"] for sc in load_yaml(PROM_YML)["scrape_configs"]]


def defined_rules():
    """(file, group, index in group, name, annotations) of every rule of the rule files."""
    rules = []
    for path in RULE_FILES:
        for g in load_yaml(path).get("groups", []):
            for i, r in enumerate(g.get("rules", [])):
                rules.append((os.path.basename(path), g["name"], i, r.get("alert") or r.get("record"),
                              r.get("annotations", {})))
    return rules


RULES = defined_rules()
RULE_CASES = [pytest.param(r, id=f"{r[1]}/{r[3]}") for r in RULES]
RUNBOOKS = sorted({r[4].get("runbook", "") for r in RULES} - {""})


def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))


def load_dashboard(path):
    """The dashboard's JSON, or None when it is not valid JSON (its validity test says so)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except ValueError:
        return None


def dashboard_queries():
    cases, seen = [], set()
    for path in DASHBOARD_FILES:
        fname = os.path.basename(path)
        dash = load_dashboard(path)
        if dash is None:
            continue
        for panel in walk(dash.get("panels", [])):
            if panel.get("type") == "row":
                continue
            for t in panel.get("targets", []):
                label = f"{fname} / {panel.get('title', '?')} / {t.get('refId')}"
                case_id = ascii_id(label)
                while case_id in seen:
                    case_id += "'"
                seen.add(case_id)
                cases.append(pytest.param(label, t.get("expr", ""), id=case_id))
    return cases


QUERY_CASES = dashboard_queries()

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan", "atan2"}


def metric_names(expr):
    """The metric names a PromQL expression uses (not functions, labels, keywords)."""
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


# ------------------------------------------------------------ the test config
def test_test_config_is_prometheus_yml_with_local_targets_same_jobs(ops):
    """scripts/test-ops.sh generated it (tests/ops/prom_config.py) before
    starting Prometheus: only targets, intervals and rule paths differ."""
    src, cfg = load_yaml(PROM_YML), load_yaml(ops.prom_config)
    assert [sc["job_name"] for sc in cfg["scrape_configs"]] == JOBS
    interval = os.environ.get("OPS_SCRAPE_INTERVAL", "2s")
    g = cfg["global"]
    assert (g["scrape_interval"], g["evaluation_interval"], g["scrape_timeout"]) == (interval,) * 3
    base = os.path.dirname(PROM_YML)
    assert cfg["rule_files"] == [p if os.path.isabs(p) else os.path.join(base, p) for p in src.get("rule_files", [])]
    for want, got in zip(src["scrape_configs"], cfg["scrape_configs"]):
        targets = got.get("static_configs")
        assert isinstance(targets, list) and len(targets) == 1 and len(targets[0]["targets"]) == 1, got
        assert targets[0]["targets"][0].startswith("127.0.0.1:"), got
        dropped = {"static_configs", "scrape_interval", "scrape_timeout"}
        kept = {k: v for k, v in want.items() if k not in dropped and not k.endswith("_sd_configs")}
        assert {k: v for k, v in got.items() if k != "static_configs"} == kept, want["job_name"]


# ------------------------------------------------- promtool on the real files
def promtool(*args):
    # rule_files of prometheus.yml is relative: `check config` checks the real rules too.
    return subprocess.run(["promtool", *args], cwd=ROOT, capture_output=True, text=True)


def test_promtool_check_config_on_prometheus_yml():
    r = promtool("check", "config", "monitoring/prometheus/prometheus.yml")
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_check_rules_on_the_rule_files():
    files = sorted(glob.glob(os.path.join(ROOT, "monitoring/prometheus/rules/*.yml")))
    assert files, "no rule file in monitoring/prometheus/rules/"
    r = promtool("check", "rules", *files)
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_test_rules_the_alert_unit_tests_pass():
    files = sorted(glob.glob(os.path.join(ROOT, "monitoring/prometheus/tests/*.yml")))
    assert files, "no unit test file in monitoring/prometheus/tests/"
    r = promtool("test", "rules", *files)
    assert r.returncode == 0, r.stdout + r.stderr


# -------------------------------------------------------------------- traffic
# A student's websocket stays open through nginx (hub_connections > 0 at
# scrape time), and the quiz submission sends a notification through the
# outbox → Redis → hub → that websocket (hub delivery latency).
def traffic_round(ops, student, course_id):
    """Logins, course reads, search, dashboards, ARIA, a quiz, 404s (answers
    not checked: the dashboards are). The quiz's "assessment/attempt" ids."""
    n = ops.nginx
    teacher = login(n, "teacher@nexus-reussite.fr", ops.demo_password)
    parent = login(n, "parent@nexus-reussite.fr", ops.demo_password)
    quietly(f"{n}/api/courses?limit=20", token=student)
    quietly(f"{n}/api/courses/{course_id}", token=student, headers={"Accept-Encoding": "gzip"})
    quietly(f"{n}/api/courses?q=recursivite", token=student)
    quietly(f"{n}/api/dashboard/student", token=student)
    quietly(f"{n}/api/dashboard/teacher", token=teacher)
    quietly(f"{n}/api/dashboard/parent", token=parent)
    quietly(f"{n}/api/notifications", token=student)
    # ARIA answers from the courses (retrieval metrics).
    quietly(f"{n}/api/aria/chat", token=student,
            json_body={"message": "Comment fonctionne une pile en informatique ?"})
    # A quiz: start an attempt, submit (graded at once → result_graded event).
    assessment = attempt = None
    r = quietly(f"{n}/api/assessments", token=student)
    listed = (r.json_get("assessments") if r else None) or []
    ids = [a.get("id") for a in listed if isinstance(a, dict)]
    if ids and ids[0] is not None and ids[0] is not False:  # jq's `.[0] // empty`
        assessment = ids[0]
        r = quietly(f"{n}/api/assessments/{assessment}/attempts", method="POST", token=student)
        attempt = r.json_get("attempt", "id") if r else None
        if attempt is False:
            attempt = None
        if attempt is not None:
            quietly(f"{n}/api/attempts/{attempt}/submit", token=student, json_body={"answers": {}})
    for j in (1, 2, 3):
        quietly(f"{n}/api/ops-missing-{j}")
        quietly(f"{n}/api/aria/ops-missing-{j}")
        quietly(f"{n}/ws/ops-missing-{j}")
    quietly(f"{n}/api/courses")
    return f"{'none' if assessment is None else assessment}/{'none' if attempt is None else attempt}"


def held_frames(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f]
    except FileNotFoundError:
        return []


@pytest.fixture(scope="module")
def traffic(ops, student_token, course_id, summary):
    frames_file = os.path.join(ops.work, "ws_frames.txt")
    log_file = os.path.join(ops.log_dir, "ws-hold.log")
    with open(log_file, "w") as log:
        hold = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "ws_hold.py"), f"{ops.nginx_ws}/ws?token={student_token}",
             ops.origin, frames_file, "120"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    # scripts/test-ops.sh stops it too if this run is killed.
    with open(os.path.join(ops.pid_dir, "ws-hold.pid"), "w") as f:
        f.write(f"{hold.pid}\n")
    try:
        for _ in range(50):
            if "ready" in held_frames(frames_file):
                break
            time.sleep(0.2)
        rounds = []
        for i in (1, 2):
            try:
                rounds.append(traffic_round(ops, student_token, course_id))
            except (AssertionError, OSError) as e:
                rounds.append(e)
            if i == 1:
                time.sleep(5)
        summary.append(f"traffic: quizzes (assessment/attempt) {', '.join(map(str, rounds))}")
        # Scrapes every 2 s, rules every 2 s: leave time for several after the traffic.
        time.sleep(8)
        yield {"frames_file": frames_file, "log_file": log_file, "rounds": rounds}
    finally:
        hold.terminate()
        try:
            hold.wait(15)
        except subprocess.TimeoutExpired:
            hold.kill()
            hold.wait()
        os.remove(os.path.join(ops.pid_dir, "ws-hold.pid"))


def test_held_websocket_gets_ready(traffic):
    with open(traffic["log_file"], encoding="utf-8", errors="replace") as f:
        assert "ready" in held_frames(traffic["frames_file"]), f"ws_hold.py: {f.read()[-2000:]}"


def test_traffic_logs_in_reads_courses_and_dashboards_and_takes_a_quiz(traffic):
    rounds = traffic["rounds"]
    for i, r in enumerate(rounds, 1):
        assert isinstance(r, str), f"traffic round {i} failed: {r}"
    assert "none" not in rounds[0].split("/"), f"could not take a quiz as the student (assessment/attempt: {rounds[0]})"


def test_held_websocket_receives_the_quiz_notifications(traffic, summary):
    frames = held_frames(traffic["frames_file"])
    counts = {f: frames.count(f) for f in sorted(set(frames))}
    summary.append(f"frames received by the websocket held through nginx: {counts}")
    assert [f for f in frames if f not in ("ready", "pong")], f"no notification (frames: {counts})"


# ----------------------------------------------------------------- Prometheus
class Prometheus:
    def __init__(self, base):
        self.base = base

    def api(self, path, **params):
        data = urllib.parse.urlencode(params).encode() if params else None
        with urllib.request.urlopen(self.base + path, data=data, timeout=30) as r:
            return json.load(r)

    def query(self, expr):
        """(result, None), or (None, the error)."""
        try:
            body = self.api("/api/v1/query", query=expr)
        except urllib.error.HTTPError as e:
            try:
                return None, json.load(e).get("error", str(e))
            except ValueError:
                return None, str(e)
        if body.get("status") != "success":
            return None, body.get("error", "query failed")
        return body["data"]["result"], None


@pytest.fixture(scope="module")
def prom(ops, traffic):
    """Prometheus, once the traffic is done (and scraped)."""
    return Prometheus(ops.prom)


@pytest.fixture(scope="module")
def exported(prom):
    return set(prom.api("/api/v1/label/__name__/values")["data"])


@pytest.fixture(scope="module")
def loaded_groups(prom, summary):
    groups = prom.api("/api/v1/rules")["data"]["groups"]
    firing = [f"{a['labels'].get('alertname')}({a['state']})" for a in prom.api("/api/v1/alerts")["data"]["alerts"]]
    if firing:
        summary.append(f"alerts pending/firing now: {', '.join(firing)}")
    return groups


def test_prometheus_sees_the_held_websocket(prom):
    result, err = prom.query("sum(hub_connections)")
    assert not err, err
    value = result[0]["value"][1] if result else "none"
    assert value.isdigit() and int(value) >= 1, f"sum(hub_connections) = {value}, expected ≥ 1"


@pytest.mark.parametrize("job", JOBS)
def test_prometheus_target_is_up(prom, job):
    targets = [t for t in prom.api("/api/v1/targets")["data"]["activeTargets"] if t["labels"]["job"] == job]
    detail = "; ".join(f"{t['scrapeUrl']}: {t['health']} {t.get('lastError', '')}" for t in targets) or "no target"
    assert targets and all(t["health"] == "up" for t in targets), detail


def test_no_pending_metric_is_exported_yet(exported):
    """monitoring/grafana/pending-metrics.txt only ever shrinks."""
    now = sorted(PENDING & exported)
    assert not now, f"pending-metrics.txt lists {', '.join(now)}, now exported: remove them from the list"


def test_prometheus_loaded_every_rule_of_the_rule_files(loaded_groups):
    loaded = sum(len(g["rules"]) for g in loaded_groups)
    assert RULES and loaded == len(RULES), f"prometheus loaded {loaded} rules, the files define {len(RULES)}"


@pytest.mark.parametrize("rule", RULE_CASES)
def test_rule_evaluates_and_its_metrics_exist(prom, exported, loaded_groups, rule):
    fname, group, index, name, _ = rule
    groups = [g for g in loaded_groups if g["name"] == group and os.path.basename(g["file"]) == fname]
    assert len(groups) == 1, f"group {group} of {fname}: loaded {len(groups)} times"
    assert index < len(groups[0]["rules"]), f"rule {name}: not loaded"
    r = groups[0]["rules"][index]
    assert r.get("name") == name, f"rule {index} of group {group} is {r.get('name')}, expected {name}"
    assert r.get("health") == "ok", f"evaluation health {r.get('health')}: {r.get('lastError', '')}"
    _, err = prom.query(r["query"])
    assert not err, f"query error: {err}"
    names = metric_names(r["query"])
    unknown = sorted(n for n in names if n not in exported and n not in PENDING)
    assert not unknown, f"metric(s) not exported by anything: {', '.join(unknown)}"
    waiting = sorted(n for n in names if n in PENDING)
    if waiting:
        pytest.skip(f"PENDING: rule {name} evaluates (health ok), uses metric(s) not exported yet: "
                    f"{', '.join(waiting)} (monitoring/grafana/pending-metrics.txt)")
    for annotation in ("summary", "description", "runbook"):
        assert r.get("annotations", {}).get(annotation), f"no {annotation} annotation"


# Runbook anchors: every rule's runbook points into docs/OPERATIONS.md; each
# anchor must be one of its headings (GitHub's slugs) or an explicit id="…"/name="…".
def operations_anchors():
    with open(OPS_DOC, encoding="utf-8") as f:
        text = f.read()
    anchors = set(re.findall(r'(?:id|name)="([^"]+)"', text))
    for heading in re.findall(r"(?m)^#{1,6}\s+(.+?)\s*#*\s*$", text):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("runbook", RUNBOOKS)
def test_runbook_anchor_exists_in_operations_md(runbook):
    if not os.path.exists(OPS_DOC):
        pytest.skip(f"PENDING: docs/OPERATIONS.md not written yet: runbook {runbook} unchecked")
    path, _, anchor = runbook.partition("#")
    assert path == "docs/OPERATIONS.md" and anchor in operations_anchors(), \
        f"runbook {runbook}: no such anchor in docs/OPERATIONS.md"


# ------------------------------------------------------------------ dashboards
def test_grafana_dashboard_provider_reads_where_compose_mounts_them():
    providers = load_yaml(os.path.join(ROOT, "monitoring/grafana/provisioning/dashboards/nexus.yml"))["providers"]
    assert [p["options"]["path"] for p in providers] == ["/var/lib/grafana/dashboards"]


@pytest.mark.parametrize("label, expr", QUERY_CASES)
def test_dashboard_query_returns_data(prom, exported, label, expr):
    q = grafana_expr(expr)
    assert "$" not in q, f"{label}: unknown Grafana variable in {expr!r}"
    result, err = prom.query(q)
    assert not err, f"query error: {err} — {q}"
    names = metric_names(q)
    unknown = sorted(n for n in names if n not in exported and n not in PENDING)
    assert not unknown, f"metric(s) not exported by anything: {', '.join(unknown)} — {q}"
    if not result:
        waiting = sorted(n for n in names if n in PENDING)
        if waiting:
            pytest.skip(f"PENDING: {label}: no data, metric not exported yet ({', '.join(waiting)}; "
                        "monitoring/grafana/pending-metrics.txt)")
        pytest.fail(f"empty result — {q}")


def datasource_uids():
    ds = load_yaml(os.path.join(ROOT, "monitoring/grafana/provisioning/datasources/prometheus.yml"))
    return {d.get("uid") for d in ds["datasources"]}


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=os.path.basename)
def test_dashboard_is_valid(path):
    """uid (unique among the dashboards), title, schemaVersion ≥ 36, unique
    panel ids, every panel placed and with a query on the provisioned
    Prometheus data source."""
    dash = load_dashboard(path)
    assert dash is not None, "not valid JSON"
    problems = []
    others = [load_dashboard(p) for p in DASHBOARD_FILES if p != path]
    if not dash.get("uid") or dash["uid"] in {(d or {}).get("uid") for d in others}:
        problems.append("missing or duplicate uid")
    if not dash.get("title"):
        problems.append("no title")
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        problems.append(f"schemaVersion {dash.get('schemaVersion')} < 36")
    ids = [p.get("id") for p in walk(dash.get("panels", []))]
    if len(ids) != len(set(ids)) or None in ids:
        problems.append("panel ids missing or not unique")
    uids = datasource_uids()
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
            if ds.get("type") != "prometheus" or ds.get("uid") not in uids:
                problems.append(f"panel {title!r} {t.get('refId')}: datasource {ds} is not the provisioned prometheus")
    assert not problems, "; ".join(problems)
