"""(e) The production server: nginx/nginx.conf + nginx/templates/nexus.conf.template
as the image renders it, with only upstream addresses, listen ports and
certificate paths (self-signed) rewritten by scripts/test-ops.sh: HTTP → HTTPS
redirect, ACME webroot, TLS, websockets over TLS, the web app at
https://DOMAIN/ (page, secure session cookie), stub_status."""

import os

import pytest

from ops_helpers import (ARIA_FRAMES, aria_answer_is_good, aria_ask, get, metric_sum, nginx_t, page_facts, rand_hex,
                         session_login, set_cookie_facts, ws_ready_ping_pong)

RUN_ID = rand_hex(6)


@pytest.fixture(scope="module")
def tls(ops):
    """request() arguments for https://DOMAIN:PORT/ → 127.0.0.1 (curl -k --resolve)."""
    return {"resolve": "127.0.0.1"}


def test_nginx_t_accepts_the_prod_configuration(ops):
    r = nginx_t(ops.prod_dir)
    assert r.returncode == 0, f"nginx -t: {r.stderr}"


def test_http_redirects_to_https_domain_keeping_path_and_query(ops):
    r = get(f"http://127.0.0.1:{ops.prod_http_port}/api/courses?page=2")
    assert (r.status, r.header("Location")) == (301, f"https://{ops.prod_domain}/api/courses?page=2"), r


def test_acme_http01_challenge_is_served_over_plain_http(ops):
    challenge = os.path.join(ops.acme_dir, ".well-known/acme-challenge", f"ops-{RUN_ID}")
    with open(challenge, "w") as f:
        f.write(f"acme-token-{RUN_ID}\n")
    r = get(f"http://127.0.0.1:{ops.prod_http_port}/.well-known/acme-challenge/ops-{RUN_ID}")
    assert (r.status, r.text.rstrip("\n")) == (200, f"acme-token-{RUN_ID}"), r


@pytest.fixture(scope="module")
def me_tls(ops, tls, student_token):
    return get(f"{ops.prod_https}/api/auth/me", token=student_token, **tls)


def test_https_auth_me_through_the_tls_server_is_the_student(me_tls):
    assert (me_tls.status, me_tls.json_get("user", "email")) == (200, "student@nexus-reussite.fr"), me_tls


def test_hsts_once_on_the_tls_server(me_tls):
    assert me_tls.header_count("Strict-Transport-Security") == 1, me_tls.headers


def test_https_api_aria_is_arias_json_404(ops, tls):
    before = metric_sum(ops.aria, "http_requests_total", "route=unmatched", "status=404")
    r = get(f"{ops.prod_https}/api/aria/ops-probe", **tls)
    after = metric_sum(ops.aria, "http_requests_total", "route=unmatched", "status=404")
    assert (r.status, r.code, after - before) == (404, "not_found", 1), f"(status, code, ARIA counter growth): {r!r}"


def test_wss_hub_websocket_is_ready_and_answers_ping_with_pong(ops, student_token):
    out = ws_ready_ping_pong(f"wss://127.0.0.1:{ops.prod_https_port}/ws?token={student_token}", ops.origin,
                             insecure=True)
    assert out["ready"] and out["pong"], out


def test_wss_aria_websocket_streams_an_answer_with_the_contracts_frames(ops, student_token):
    out = aria_ask(f"wss://127.0.0.1:{ops.prod_https_port}/ws/aria/ops-{rand_hex(8)}?token={student_token}",
                   ops.origin, insecure=True)
    assert aria_answer_is_good(out), f"expected frames {ARIA_FRAMES}, generation enabled, chunks = answer: {out}"


def test_https_connexion_is_the_web_apps_page_one_csp_hsts_once(ops, tls):
    r = get(f"{ops.prod_https}/connexion", headers={"Accept": "text/html"}, **tls)
    got = f"{page_facts(r)} hsts×{r.header_count('Strict-Transport-Security')}"
    assert got == "200 text/html csp×1 app-layout hsts×1", r


def test_https_session_login_sets_a_secure_refresh_cookie(ops, tls):
    r = session_login(ops.prod_https, ops.prod_https, ops.demo_password, **tls)
    got = f"{r.status} {set_cookie_facts(r, 'nexus_refresh')}"
    assert got == "200 nexus_refresh httponly samesite=strict path=/session secure", r


def test_https_metrics_is_nginxs_json_404(ops, tls):
    r = get(f"{ops.prod_https}/metrics", **tls)
    assert (r.status, r.code) == (404, "not_found"), r


def test_upstream_down_is_nginxs_503_json_with_retry_after(ops, tls):
    # grafana is not run here: its upstream points at a free port.
    r = get(f"{ops.prod_https}/grafana/api/health", **tls)
    assert (r.status, r.code, r.header("Retry-After")) == (503, "service_unavailable", "5"), r


def test_status_listener_serves_stub_status(ops):
    r = get(f"http://127.0.0.1:{ops.prod_status_port}/stub_status")
    assert r.status == 200 and any(line.startswith("Active connections:") for line in r.text.splitlines()), r


def test_status_listener_serves_nothing_else(ops):
    assert get(f"http://127.0.0.1:{ops.prod_status_port}/").status == 404
