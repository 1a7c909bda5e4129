"""Helpers of the operations tests (tests/ops/).

The settings come from the environment scripts/test-ops.sh exports (OPS_*:
the addresses of nginx, the services, Prometheus; the run's directories).
HTTP goes through http.client, like curl: no redirect followed, no body
decompressed, every header kept (a header sent twice is seen twice).
"""

import dataclasses
import http.client
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import time
import urllib.parse

import websocket


# ------------------------------------------------------------------ settings
def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"{name} is not set: tests/ops/ runs through scripts/test-ops.sh, "
            "which starts the services and exports their addresses"
        )
    return value


@dataclasses.dataclass(frozen=True)
class Settings:
    root: str  # the repository
    work: str  # scratch files of the run (.run/ops/work)
    log_dir: str  # the processes' logs (.run/ops/logs)
    pid_dir: str  # their pid files (.run/ops/pids; web.pid: `next start`)
    nginx: str  # dev nginx, http://127.0.0.1:PORT
    nginx_dev_dir: str  # its private prefix (logs/error.log)
    nginx_status_port: int
    api: str  # the services, directly (their /metrics)
    hub: str
    aria: str
    origin: str  # the front end's origin (CORS_ORIGINS' first), sent by websockets
    demo_password: str
    prod_domain: str
    prod_dir: str
    prod_http_port: int
    prod_https_port: int
    prod_status_port: int
    acme_dir: str  # the prod server's ACME webroot
    prom: str  # Prometheus, http://127.0.0.1:PORT
    prom_config: str  # the test config scripts/test-ops.sh generated
    web_proc_marker: str  # in `next start`'s command line (stopped by test_web_down.py)

    @classmethod
    def from_environment(cls):
        return cls(
            root=env("OPS_ROOT"),
            work=env("OPS_WORK"),
            log_dir=env("OPS_LOG_DIR"),
            pid_dir=env("OPS_PID_DIR"),
            nginx=env("OPS_NGINX_URL"),
            nginx_dev_dir=env("OPS_NGINX_DEV_DIR"),
            nginx_status_port=int(env("OPS_NGINX_STATUS_PORT")),
            api=env("OPS_API_URL"),
            hub=env("OPS_HUB_URL"),
            aria=env("OPS_ARIA_URL"),
            origin=env("OPS_ORIGIN"),
            demo_password=env("DEMO_PASSWORD"),
            prod_domain=env("OPS_PROD_DOMAIN"),
            prod_dir=env("OPS_PROD_DIR"),
            prod_http_port=int(env("OPS_PROD_HTTP_PORT")),
            prod_https_port=int(env("OPS_PROD_HTTPS_PORT")),
            prod_status_port=int(env("OPS_PROD_STATUS_PORT")),
            acme_dir=env("OPS_ACME_DIR"),
            prom=env("OPS_PROM_URL"),
            prom_config=env("OPS_PROM_CONFIG"),
            web_proc_marker=env("OPS_WEB_PROC_MARKER"),
        )

    @property
    def nginx_ws(self):
        return "ws" + self.nginx[len("http"):]

    @property
    def prod_https(self):
        """The production server's base URL as a browser writes it."""
        return f"https://{self.prod_domain}:{self.prod_https_port}"


def rand_hex(n):
    return secrets.token_hex((n + 1) // 2)[:n]


# ---------------------------------------------------------------------- HTTP
@dataclasses.dataclass
class Response:
    status: int
    headers: list  # [(name, value)], in order, repeated ones kept
    body: bytes

    def header(self, name):
        """The value of the (last) header NAME, "" when absent."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else ""

    def header_count(self, name):
        return sum(1 for k, _ in self.headers if k.lower() == name.lower())

    def header_values(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def content_type(self):
        """The media type, without parameters."""
        return self.header("Content-Type").split(";")[0].replace(" ", "")

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        """The body as JSON; None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def json_get(self, *path):
        """A value inside the JSON body (keys / indexes), None if missing."""
        value = self.json()
        for key in path:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return None
        return value

    @property
    def code(self):
        """The "code" of a JSON error body."""
        return self.json_get("code")

    def __repr__(self):
        return f"<HTTP {self.status} {self.content_type or '-'} {self.text[:300]!r}>"


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to `connect_to` with the URL's host as SNI and Host (curl --resolve)."""

    def __init__(self, host, port, connect_to, **kwargs):
        super().__init__(host, port, **kwargs)
        self._connect_to = connect_to

    def connect(self):
        sock = socket.create_connection((self._connect_to, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def insecure_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connection(url, timeout=20, resolve=None):
    """An http.client connection for URL. resolve: the address to connect to
    instead of the URL's host (TLS: certificate not verified, self-signed)."""
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        if resolve:
            return _PinnedHTTPSConnection(u.hostname, u.port or 443, resolve, timeout=timeout,
                                          context=insecure_context())
        return http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=timeout,
                                           context=insecure_context())
    return http.client.HTTPConnection(resolve or u.hostname, u.port or 80, timeout=timeout)


def request(url, method=None, headers=None, data=None, json_body=None, token=None,
            timeout=20, resolve=None):
    """One request, like `curl -s`: status, headers and raw body.
    data: bytes/str body (POST); json_body: serialised, Content-Type set."""
    headers = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(data, str):
        data = data.encode()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    method = method or ("POST" if data is not None else "GET")
    u = urllib.parse.urlsplit(url)
    path = urllib.parse.urlunsplit(("", "", u.path or "/", u.query, ""))
    conn = connection(url, timeout, resolve)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        lower = {k.lower() for k in headers}
        if "host" not in lower:
            default_port = 443 if u.scheme == "https" else 80
            host = u.hostname if (u.port or default_port) == default_port else f"{u.hostname}:{u.port}"
            conn.putheader("Host", host)
        if "user-agent" not in lower:
            conn.putheader("User-Agent", "nexus-test-ops")
        if "accept" not in lower:
            conn.putheader("Accept", "*/*")
        for k, v in headers.items():
            conn.putheader(k, v)
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        r = conn.getresponse()
        body = r.read()
        return Response(r.status, list(r.getheaders()), body)
    finally:
        conn.close()


def get(url, **kwargs):
    return request(url, **kwargs)


def post(url, **kwargs):
    return request(url, method="POST", **kwargs)


def quietly(url, **kwargs):
    """A request whose answer does not matter (traffic): errors ignored."""
    try:
        return request(url, timeout=10, **kwargs)
    except (OSError, http.client.HTTPException):
        return None


def find_access_token(value):
    """The first "accessToken" string anywhere in a JSON value."""
    if isinstance(value, dict):
        if isinstance(value.get("accessToken"), str):
            return value["accessToken"]
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            token = find_access_token(v)
            if token:
                return token
    return None


def login(base, email, password, resolve=None):
    """POST /api/auth/login; the access token, or AssertionError naming the answer."""
    r = post(f"{base}/api/auth/login", json_body={"email": email, "password": password},
             headers={"Accept": "application/json"}, timeout=30, resolve=resolve)
    token = find_access_token(r.json())
    assert r.status == 200 and token, f"login as {email} through {base} failed: {r!r}"
    return token


def session_login(base, origin, password, resolve=None):
    """POST /session/login of the web app (the demo student) with that Origin."""
    return post(f"{base}/session/login", headers={"Origin": origin}, resolve=resolve,
                json_body={"email": "student@nexus-reussite.fr", "password": password})


def set_cookie_facts(response, name):
    """The attributes of the Set-Cookie NAME: "NAME httponly samesite=… path=…
    secure|not-secure", or "no NAME cookie"."""
    for value in response.header_values("Set-Cookie"):
        if not value.startswith(name + "="):
            continue
        parts = re.split(r"; *", value)
        http_only, same_site, path, secure = "not-httponly", "samesite=?", "path=?", "not-secure"
        for attr in parts[1:]:
            k = attr.lower()
            if k == "httponly":
                http_only = "httponly"
            elif k == "secure":
                secure = "secure"
            elif k.startswith("samesite="):
                same_site = k
            elif k.startswith("path="):
                path = "path=" + attr[5:]
        return f"{name} {http_only} {same_site} {path} {secure}"
    return f"no {name} cookie"


def page_facts(response):
    """What makes an answer the web app's HTML page, one word each: status,
    media type, how many CSP headers, whether it is the app's root layout."""
    layout = "app-layout" if '<html lang="fr"' in response.text else "other-html"
    csp = response.header_count("Content-Security-Policy")
    return f"{response.status} {response.content_type} csp×{csp} {layout}"


def csp_nonce(response):
    """The nonce of the CSP header ("" if none)."""
    m = re.search(r"'nonce-([^']*)'", response.header("Content-Security-Policy"))
    return m.group(1) if m else ""


def nginx_t(prefix):
    """`nginx -t` on a private prefix made by scripts/test-ops.sh."""
    return subprocess.run(["nginx", "-t", "-q", "-p", f"{prefix}/", "-c", f"{prefix}/nginx.conf",
                           "-e", f"{prefix}/logs/error.log"], capture_output=True, text=True)


# ------------------------------------------------------------------- metrics
def metric_sum(base, name, *filters):
    """Sum of the samples of NAME in the text exposition at BASE/metrics whose
    labels match every filter ("label=value" or "label!=value")."""
    try:
        text = get(f"{base}/metrics", timeout=10).text
    except OSError:
        text = ""
    total = 0.0
    for line in text.splitlines():
        if not (line.startswith(name + "{") or line.startswith(name + " ")):
            continue
        keep = True
        for f in filters:
            if "!=" in f:
                label, value = f.split("!=", 1)
                if f'{label}="{value}"' in line:
                    keep = False
            else:
                label, value = f.split("=", 1)
                if f'{label}="{value}"' not in line:
                    keep = False
        if keep:
            total += float(line.split()[-1])
    return int(total)


# ---------------------------------------------------------------- websockets
def _ws_connect(url, origin, insecure, timeout):
    sslopt = {"cert_reqs": ssl.CERT_NONE} if insecure else None
    return websocket.create_connection(url, timeout=timeout, origin=origin, sslopt=sslopt)


def ws_ready_ping_pong(url, origin, insecure=False):
    """Connect as a browser of the front end would (Origin, which the hub
    checks against CORS_ORIGINS): "ready" first, then ping → pong. Returns
    {"ready", "pong", "first"} or {"error"}."""
    out = {"ready": False, "pong": False}
    try:
        ws = _ws_connect(url, origin, insecure, 10)
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
    except Exception as e:  # reported in the result: the test names it
        out["error"] = f"{type(e).__name__}: {e}"
    return out


ARIA_FRAMES = ["connected", "typing", "ai_chunk", "ai_response", "typing"]


def aria_ask(url, origin, insecure=False):
    """Ask ARIA one question over its websocket: the frame types received
    (consecutive ai_chunk frames counted once), the answer's generation mode,
    whether the streamed chunks make the answer."""
    out = {"frames": []}
    try:
        ws = _ws_connect(url, origin, insecure, 120)
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
    except Exception as e:  # reported in the result: the test names it
        out["error"] = f"{type(e).__name__}: {e}"
    return out


def aria_answer_is_good(out):
    return (out["frames"] == ARIA_FRAMES and out.get("generation") == "enabled"
            and bool(out.get("streamed_equals_answer")))
