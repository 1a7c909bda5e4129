"""(b) websockets through the dev nginx to the hub: ready, ping → pong, the
Origin passed on; (c) /ws/aria/{sessionId} through nginx to ARIA: a question
answered with the contract's frames, tokens streamed by a real model
(llama.cpp); /api/aria/chat/stream (server-sent events) too."""

import itertools
import re

import pytest

from ops_helpers import ARIA_FRAMES, aria_answer_is_good, aria_ask, metric_sum, post, rand_hex, ws_ready_ping_pong

HUB_PATHS = ["/ws", "/ws/"]


@pytest.fixture(scope="module")
def hub_sockets(ops, student_token):
    before = metric_sum(ops.hub, "hub_connections_total")
    results = {path: ws_ready_ping_pong(f"{ops.nginx_ws}{path}?token={student_token}", ops.origin)
               for path in HUB_PATHS}
    after = metric_sum(ops.hub, "hub_connections_total")
    return results, after - before


@pytest.mark.parametrize("path", HUB_PATHS)
def test_hub_websocket_through_nginx_is_ready_and_answers_ping_with_pong(hub_sockets, path):
    out = hub_sockets[0][path]
    assert out["ready"] and out["pong"], out


def test_hub_authenticated_both_websocket_connections(hub_sockets):
    assert hub_sockets[1] == 2, "hub_connections_total growth"


def test_hub_refuses_a_websocket_from_a_foreign_origin_through_nginx(ops, student_token):
    out = ws_ready_ping_pong(f"{ops.nginx_ws}/ws?token={student_token}", "https://evil.example")
    assert "403" in out.get("error", ""), out


@pytest.fixture(scope="module")
def aria_socket(ops, student_token):
    route = "route=/ws/aria/{session_id}"
    aria_before = metric_sum(ops.aria, "http_requests_total", route)
    hub_before = metric_sum(ops.hub, "http_requests_total", "route!=/metrics")
    out = aria_ask(f"{ops.nginx_ws}/ws/aria/ops-{rand_hex(8)}?token={student_token}", ops.origin)
    aria_after = metric_sum(ops.aria, "http_requests_total", route)
    hub_after = metric_sum(ops.hub, "http_requests_total", "route!=/metrics")
    return out, {"aria": aria_after - aria_before, "hub": hub_after - hub_before}


def test_aria_websocket_streams_an_answer_with_the_contracts_frames(aria_socket):
    out, _ = aria_socket
    assert aria_answer_is_good(out), f"expected frames {ARIA_FRAMES}, generation enabled, chunks = answer: {out}"


def test_aria_websocket_reaches_aria_not_the_hub(aria_socket):
    assert aria_socket[1] == {"aria": 1, "hub": 0}, "http_requests_total growth"


# Server-sent events through nginx: events arrive as they are written (nginx
# does not buffer them: proxy_buffering off, X-Accel-Buffering: no).
def test_aria_chat_stream_through_nginx_sends_typing_chunks_response_typing(ops, student_token):
    r = post(f"{ops.nginx}/api/aria/chat/stream", token=student_token, timeout=120,
             json_body={"message": "Qu'est-ce qu'une file ?"})
    kinds = [k for k, _ in itertools.groupby(re.findall(r"(?m)^event: *(.*?)\r?$", r.text))]
    assert (r.status, kinds) == (200, ["typing", "ai_chunk", "ai_response", "typing"]), r.text[:1000]
