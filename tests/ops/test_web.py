"""(f) The web app at / through the dev nginx (location / → nexus_web): its
pages with one CSP carrying a fresh nonce, not cacheable; /_next/static/
immutable; sign-in through its /session/login handler."""

import re

import pytest

from ops_helpers import csp_nonce, get, page_facts, rand_hex, session_login, set_cookie_facts

PAGES = ["/", "/connexion", "/connexion"]  # /connexion twice: a fresh nonce each time


@pytest.fixture(scope="module")
def pages(ops):
    return [get(f"{ops.nginx}{page}", headers={"Accept": "text/html"}) for page in PAGES]


PAGE_CASES = [pytest.param(i, id=f"{i + 1}-{page}") for i, page in enumerate(PAGES)]


@pytest.mark.parametrize("i", PAGE_CASES)
def test_page_is_the_web_apps_with_exactly_one_csp(pages, i):
    assert page_facts(pages[i]) == "200 text/html csp×1 app-layout", pages[i]


# Pages are never kept by a shared cache, nor for long by the browser.
@pytest.mark.parametrize("i", PAGE_CASES)
def test_page_is_private_and_revalidated(pages, i):
    r = pages[i]
    cc = r.header("Cache-Control")
    assert r.header_count("Cache-Control") == 1, r.header_values("Cache-Control")
    assert re.search(r"no-cache|no-store", cc), f"Cache-Control: {cc}"
    assert not re.search(r"public|s-maxage|immutable", cc), f"Cache-Control: {cc}"


# Every <script> Next wrote carries the header's nonce (or the browser would
# refuse to run it), and script-src needs no 'unsafe-inline'.
@pytest.mark.parametrize("i", PAGE_CASES)
def test_page_scripts_carry_the_csp_nonce_without_unsafe_inline(pages, i):
    r = pages[i]
    csp = r.header("Content-Security-Policy")
    nonce = csp_nonce(r)
    assert nonce, f"no nonce in the CSP: {csp}"
    tags = re.findall(r"<script\b[^>]*>", r.text)
    assert tags, "no <script> tag in the page"
    without = [t for t in tags if f'nonce="{nonce}"' not in t]
    assert not without, f"{len(without)} of {len(tags)} <script> tags lack the nonce: {without[:3]}"
    script_src = re.findall(r"script-src([^;]*)", csp)
    assert not (script_src and "unsafe-inline" in script_src[-1]), f"CSP: {csp}"


def test_every_page_answer_has_a_fresh_nonce(pages):
    nonces = [csp_nonce(r) for r in pages]
    assert nonces[0] and nonces[0] != nonces[1] and nonces[1] != nonces[2], nonces


# The build's static files: a year, immutable; a missing one is not cached.
@pytest.fixture(scope="module")
def static_chunk(ops, pages):
    m = re.search(r'/_next/static/[^"]*\.js', pages[-1].text)
    assert m, "no /_next/static/….js in the HTML of /connexion"
    return m.group(0), get(f"{ops.nginx}{m.group(0)}", headers={"Accept-Encoding": "gzip"})


def test_static_chunk_is_javascript_cached_immutable_for_a_year(static_chunk):
    chunk, r = static_chunk
    got = (r.status, r.content_type, r.header_count("Cache-Control"), r.header("Cache-Control"))
    assert got == (200, "application/javascript", 1, "public, max-age=31536000, immutable"), chunk


def test_static_chunk_is_sent_gzipped(static_chunk):
    chunk, r = static_chunk
    assert r.header("Content-Encoding") == "gzip", chunk


def test_missing_static_file_is_404_not_cached_for_long(ops):
    r = get(f"{ops.nginx}/_next/static/chunks/ops-missing-{rand_hex(4)}.js")
    cc = r.header("Cache-Control")
    assert r.status == 404, r
    assert "immutable" not in cc and "max-age=31536000" not in cc, f"Cache-Control: {cc}"


# Sign-in through the web app's route handler (the refresh token goes into an
# httpOnly cookie, never into the page): the handler checks that Origin is the
# site the browser sees — nginx's X-Forwarded-Host, port included.
@pytest.fixture(scope="module")
def signed_in(ops):
    return session_login(ops.nginx, ops.nginx, ops.demo_password)


def test_session_login_gives_an_access_token_and_keeps_the_refresh_token_in_its_cookie(signed_in):
    r = signed_in
    body = r.json() or {}
    refresh = body.get("refreshToken")
    refresh = "absent" if refresh is None or refresh is False else refresh  # jq's //
    got = (r.status, body.get("success"), type(body.get("accessToken")).__name__, refresh)
    assert got == (200, True, "str", "absent"), r


def test_session_refresh_cookie_is_httponly_strict_path_session_not_secure_on_http(signed_in):
    assert set_cookie_facts(signed_in, "nexus_refresh") == \
        "nexus_refresh httponly samesite=strict path=/session not-secure"


def test_session_login_from_a_foreign_origin_is_403(ops):
    r = session_login(ops.nginx, "https://evil.example", ops.demo_password)
    assert (r.status, r.code) == (403, "forbidden"), r
