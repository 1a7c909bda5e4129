"""pytest configuration of the operations tests (nginx, websockets, the web app
behind nginx, Prometheus, alert rules, Grafana dashboards).

Run through scripts/test-ops.sh, which installs the packages, starts Postgres,
Redis, the three services, the web app, nginx twice (dev and prod configs),
the exporters and Prometheus, and exports their addresses (OPS_*, see
ops_helpers.Settings); it then runs `/usr/bin/python3 -m pytest tests/ops`.

The modules run in the order of MODULE_ORDER below, whatever their names or
the order pytest collects them in: some checks change what later ones see
(the API's per-IP register limit, the traffic Prometheus is checked on,
nginx's own rate limit on /api/auth/, then the web app stopped, last).
Within a module, tests run in the order they are written.
"""

import pytest

from ops_helpers import Settings, get, login

MODULE_ORDER = [
    "test_nginx_dev.py",  # (a) HTTP through the dev nginx; the API's per-IP limit
    "test_web.py",  # (f) the web app at / through nginx
    "test_websockets.py",  # (b) hub websocket, (c) ARIA websocket and SSE
    "test_nginx_prod.py",  # (e) the production server (TLS)
    "test_prometheus.py",  # (d) traffic, then Prometheus, rules, dashboards
    "test_nginx_ratelimit.py",  # nginx's limit on /api/auth/ (uses up its burst)
    "test_web_down.py",  # stops the web app: must be last
]


# Lines printed after the results (what the traffic did, alerts firing…).
SUMMARY = []


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        name = item.path.name
        if name not in MODULE_ORDER:
            raise pytest.UsageError(f"tests/ops/{name} is not in MODULE_ORDER of tests/ops/conftest.py")
        return MODULE_ORDER.index(name)

    items.sort(key=rank)  # stable: a module's tests keep their written order


@pytest.fixture(scope="session")
def ops():
    return Settings.from_environment()


@pytest.fixture(scope="session")
def student_token(ops):
    """The demo student's access token, signed in through the dev nginx."""
    return login(ops.nginx, "student@nexus-reussite.fr", ops.demo_password)


@pytest.fixture(scope="session")
def course_id(ops, student_token):
    """The id of a course of the seed (the first of GET /api/courses)."""
    r = get(f"{ops.nginx}/api/courses?limit=5", token=student_token)
    cid = r.json_get("courses", 0, "id")
    assert isinstance(cid, int), f"no course in GET /api/courses: {r!r}"
    return cid


@pytest.fixture(scope="session")
def summary():
    return SUMMARY


def pytest_terminal_summary(terminalreporter):
    if SUMMARY:
        terminalreporter.section("scripts/test-ops.sh")
        for line in SUMMARY:
            terminalreporter.write_line(line)
