"""ws_hold.py URL ORIGIN FILE SECONDS — traffic, not a test module.

Holds a websocket open (hub_connections > 0 when Prometheus scrapes), answers
nothing but sends a ping every 2 s, appends every frame's type to FILE (the
first line "ready" once connected). Started in the background by the traffic
fixture of test_prometheus.py, stopped at the end of that module.
"""

import json
import signal
import sys
import time

import websocket


def main(url, origin, path, seconds):
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


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))
