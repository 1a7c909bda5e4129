"""(f) The web app stopped, last (conftest.MODULE_ORDER): pages answer nginx's
French 503 page, the API still answers through the same nginx.

The fixture stops `next start` (its pid file, written by scripts/test-ops.sh,
checked against the process's command line first): that is the scenario under
test. scripts/test-ops.sh's cleanup finds it stopped."""

import os
import signal
import time

import pytest

from ops_helpers import get


def running(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


@pytest.fixture(scope="module")
def web_stopped(ops):
    pid_file = os.path.join(ops.pid_dir, "web.pid")
    with open(pid_file) as f:
        pid = int(f.read().strip())
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
    assert ops.web_proc_marker in cmdline, f"pid {pid} of {pid_file} is not the web app: {cmdline}"
    os.kill(pid, signal.SIGTERM)
    for _ in range(150):
        if not running(pid):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    os.remove(pid_file)


def test_page_with_the_web_app_down_is_nginxs_french_503_page(ops, web_stopped):
    r = get(f"{ops.nginx}/connexion", headers={"Accept": "text/html"})
    got = (r.status, r.content_type, r.header_count("Content-Security-Policy"), r.header("Retry-After"),
           "momentanément indisponible" in r.text)
    assert got == (503, "text/html", 1, "5", True), r


def test_api_health_through_the_same_nginx_still_answers(ops, web_stopped):
    assert get(f"{ops.nginx}/health").status == 200
