"""(a) HTTP through the dev nginx (nginx/nginx.conf + nginx/dev.conf.template,
which includes the production routing nginx/snippets/nexus-locations.conf):
auth, routing to ARIA, /metrics refused, security headers, gzip, 413,
X-Forwarded-For and the API's per-IP register limit."""

import gzip
import os

import pytest

from ops_helpers import get, metric_sum, nginx_t, page_facts, post, rand_hex

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def test_nginx_t_accepts_the_dev_configuration(ops):
    r = nginx_t(ops.nginx_dev_dir)
    assert r.returncode == 0, f"nginx -t: {r.stderr}"


def test_api_courses_without_token_is_the_apis_401(ops):
    r = get(f"{ops.nginx}/api/courses", headers={"Accept": "application/json"})
    assert (r.status, r.code) == (401, "missing_token"), r


def test_login_through_nginx_gives_an_access_token(student_token):
    assert isinstance(student_token, str) and student_token


@pytest.fixture(scope="module")
def me(ops, student_token):
    return get(f"{ops.nginx}/api/auth/me", token=student_token)


def test_auth_me_through_nginx_is_the_student(me):
    assert (me.status, me.json_get("user", "email")) == (200, "student@nexus-reussite.fr"), me


# Routing to ARIA. The services answer an unknown path with the same JSON 404,
# so the body cannot tell who answered; the services' own counters can:
# http_requests_total{route="unmatched",status="404"} must grow by exactly 3
# at ARIA and by 0 at the API (nothing else sends them requests meanwhile).
@pytest.fixture(scope="module")
def aria_probes(ops):
    def unmatched():
        return {
            "aria": metric_sum(ops.aria, "http_requests_total", "route=unmatched", "status=404"),
            "api": metric_sum(ops.api, "http_requests_total", "route=unmatched", "status=404"),
        }
    before = unmatched()
    answers = [get(f"{ops.nginx}/api/aria/ops-probe-{i}", headers={"X-Request-Id": f"ops-aria-probe-{i}"})
               for i in (1, 2, 3)]
    after = unmatched()
    return answers, {k: after[k] - before[k] for k in after}


def test_api_aria_unknown_path_is_404_with_request_id_passed_through(aria_probes):
    answers, _ = aria_probes
    got = [(r.status, r.code, r.header("X-Request-Id")) for r in answers]
    assert got == [(404, "not_found", f"ops-aria-probe-{i}") for i in (1, 2, 3)], answers


def test_api_aria_reaches_aria_not_the_api(aria_probes):
    _, delta = aria_probes
    assert delta == {"aria": 3, "api": 0}, "unmatched-404 counters' growth"


def test_api_unknown_route_reaches_the_api_not_aria(ops):
    api_before = metric_sum(ops.api, "http_requests_total", "route=unmatched", "status=404")
    aria_before = metric_sum(ops.aria, "http_requests_total", "route=unmatched", "status=404")
    r = get(f"{ops.nginx}/api/ops-not-a-route")
    api_after = metric_sum(ops.api, "http_requests_total", "route=unmatched", "status=404")
    aria_after = metric_sum(ops.aria, "http_requests_total", "route=unmatched", "status=404")
    assert (r.status, api_after - api_before, aria_after - aria_before) == (404, 1, 0), \
        "(status, API unmatched-404 growth, ARIA's)"


# /metrics: every service has one on its own port (scraped on the backend
# network); through the edge nginx answers it itself, in JSON, and nothing
# behind it (neither a service nor the web app, whose answers are HTML) sees it.
@pytest.fixture(scope="module")
def metrics_answers(ops):
    return {path: get(f"{ops.nginx}{path}") for path in ("/metrics", "/metrics/ops")}


@pytest.mark.parametrize("path", ["/metrics", "/metrics/ops"])
def test_metrics_path_is_nginxs_json_404(metrics_answers, path):
    r = metrics_answers[path]
    assert (r.status, r.content_type, r.code) == (404, "application/json", "not_found"), r


# Any other path nobody serves is the web app's: its own 404 page.
@pytest.fixture(scope="module")
def web_404(ops):
    return get(f"{ops.nginx}/ops-page-inexistante", headers={"Accept": "text/html"})


def test_unrouted_path_is_the_web_apps_404_page(web_404):
    assert page_facts(web_404) == "404 text/html csp×1 app-layout", web_404


# Security headers: exactly once each (the services' and the web app's copies
# are hidden), on a proxied JSON answer, on a proxied page, and on an answer
# nginx makes itself.
@pytest.mark.parametrize("answer", ["me", "web-404", "nginx-404"])
def test_security_headers_once_each(request, answer):
    if answer == "me":
        r = request.getfixturevalue("me")
    elif answer == "web-404":
        r = request.getfixturevalue("web_404")
    else:
        r = request.getfixturevalue("metrics_answers")["/metrics/ops"]
    got = {h: (r.header_count(h), r.header(h)) for h in SECURITY_HEADERS}
    assert got == {h: (1, v) for h, v in SECURITY_HEADERS.items()}, "(count, value) of each header"


def test_health_through_nginx_is_the_apis_200(ops):
    assert get(f"{ops.nginx}/health").status == 200


# gzip on a large JSON answer (course_id: conftest.py).
@pytest.fixture(scope="module")
def course_gzip(ops, student_token, course_id):
    plain = get(f"{ops.nginx}/api/courses/{course_id}", token=student_token)
    gz = get(f"{ops.nginx}/api/courses/{course_id}", token=student_token, headers={"Accept-Encoding": "gzip"})
    return plain, gz


def test_course_with_accept_encoding_gzip_is_gzipped_same_json(course_gzip):
    plain, gz = course_gzip
    assert gz.status == 200, gz
    assert gz.header("Content-Encoding") == "gzip", f"{len(plain.body)} → {len(gz.body)} bytes"
    assert gzip.decompress(gz.body) == plain.body, "the gunzipped body differs from the plain one"


def test_gzip_answers_carry_vary_accept_encoding(course_gzip):
    _, gz = course_gzip
    assert any("accept-encoding" in v.lower() for v in gz.header_values("Vary")), gz.headers


# 413 from nginx, before the API sees the body.
@pytest.fixture(scope="module")
def too_large(ops):
    before = metric_sum(ops.api, "http_requests_total", "status=413")
    r = post(f"{ops.nginx}/api/auth/login", data=b"a" * (2 * 1024 * 1024),
             headers={"Content-Type": "application/json"})
    after = metric_sum(ops.api, "http_requests_total", "status=413")
    return r, after - before


def test_2mib_body_is_nginxs_413_json(too_large):
    r, _ = too_large
    assert (r.status, r.code, r.header("X-Frame-Options")) == (413, "payload_too_large", "DENY"), r


def test_2mib_body_never_reaches_the_api(ops, too_large):
    _, api_413_growth = too_large
    assert api_413_growth == 0, "the API counted a 413"
    with open(os.path.join(ops.nginx_dev_dir, "logs/error.log"), encoding="utf-8", errors="replace") as f:
        assert "client intended to send too large body" in f.read(), "nginx did not log the too large body"


# X-Forwarded-For: nginx appends the peer it sees ($remote_addr = 127.0.0.1,
# here the test itself), the API skips trusted hops from the right (127.0.0.1
# is in TRUSTED_PROXIES) and rate-limits the first untrusted one: the address
# the test forwards. With RATE_LIMIT_REGISTER_IP_PER_HOUR=2 (set by
# scripts/test-ops.sh), each forwarded address gets two registrations of its
# own. In production the peer is a real client address, not trusted, so
# whatever the client writes in X-Forwarded-For is ignored — the last test
# shows the leftmost (client-written) entry is ignored here too.
XFF_A = "203.0.113.10"
XFF_B = "198.51.100.20"
RUN_ID = rand_hex(6)


def register_as(ops, xff, n):
    return post(f"{ops.nginx}/api/auth/register", headers={"X-Forwarded-For": xff}, json_body={
        "email": f"ops-{RUN_ID}-{n}@example.fr", "password": "Girafe-Violette-42", "firstName": "Ops",
        "lastName": "Probe", "role": "student", "classLevel": "terminale"})


@pytest.fixture(scope="module")
def registered_a(ops):
    """Three registrations forwarded for XFF_A (uses up its budget of 2)."""
    return [register_as(ops, XFF_A, n) for n in (1, 2, 3)]


def test_register_three_times_from_one_address_is_201_201_429(registered_a):
    assert [r.status for r in registered_a] == [201, 201, 429], registered_a


def test_register_429_is_the_apis_with_retry_after(registered_a):
    r = registered_a[-1]
    assert r.code == "rate_limited", r
    assert r.header("Retry-After").isdigit(), r.headers


def test_register_twice_from_another_address_has_a_budget_of_its_own(ops, registered_a):
    codes = [register_as(ops, XFF_B, n).status for n in (4, 5)]
    assert codes == [201, 201]


def test_register_counts_the_rightmost_untrusted_forwarded_hop(ops, registered_a):
    # registered_a: XFF_A's budget is used up, so "6.6.6.6, XFF_A" is refused.
    r = register_as(ops, f"6.6.6.6, {XFF_A}", 6)
    assert r.status == 429, r
