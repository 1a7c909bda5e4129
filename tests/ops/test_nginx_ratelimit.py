"""nginx's own rate limit on /api/auth/ (nexus_auth_per_ip: 10 r/s, burst
100): a 429 in JSON with Retry-After and the security headers. Runs after
everything else that signs in through the dev nginx (conftest.MODULE_ORDER):
it uses up the burst of 127.0.0.1."""

import collections
import http.client
import json
import urllib.parse

import pytest

FLOOD = 160


@pytest.fixture(scope="module")
def flood(ops):
    """FLOOD sequential GETs on one keepalive connection: the count of each
    status, and the first 429 (headers, body)."""
    u = urllib.parse.urlsplit(f"{ops.nginx}/api/auth/ops-flood")
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    counts, first429 = collections.Counter(), None
    try:
        for i in range(FLOOD):
            conn.request("GET", f"{u.path}?i={i}")
            r = conn.getresponse()
            body = r.read()
            counts[r.status] += 1
            if r.status == 429 and first429 is None:
                first429 = {"headers": {k.lower(): v for k, v in r.getheaders()},
                            "body": body.decode("utf-8", "replace")}
    finally:
        conn.close()
    return counts, first429


def test_quick_requests_to_api_auth_pass_the_burst_then_get_nginxs_429(flood):
    counts, _ = flood
    assert counts[404] >= 100 and counts[429] > 0, \
        f"{counts[404]} passed (expected ≥ 100: burst 100 + refill), {counts[429]} refused: {dict(counts)}"


def test_nginx_429_is_json_rate_limited_with_retry_after_and_security_headers(flood):
    _, first429 = flood
    assert first429, "no 429"
    try:
        code = json.loads(first429["body"]).get("code")
    except ValueError:
        code = None
    h = first429["headers"]
    assert (code, h.get("retry-after"), h.get("x-frame-options")) == ("rate_limited", "1", "DENY"), first429
