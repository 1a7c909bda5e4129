"""A real SMTP server for the tests (aiosmtpd): every message it receives over SMTP is
parsed with Python's email package and written to DIR as one JSON file (headers,
decoded text and HTML parts), so tests can check what a recipient would read.

Usage: smtp_sink.py DIR [PORT]   (PORT 0 or absent: a free port)
Prints "PORT <n>" on stdout once it accepts connections; stops on SIGTERM/stdin EOF.
"""

import asyncio
import email
import email.policy
import json
import pathlib
import signal
import socket
import sys
import uuid

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory: pathlib.Path):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            kind = part.get_content_type()
            if kind in ("text/plain", "text/html") and kind not in parts:
                parts[kind] = part.get_content()
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "headers": {k: str(v) for k, v in message.items()},
            "subject": str(message["subject"]),
            "text": parts.get("text/plain", ""),
            "html": parts.get("text/html", ""),
        }
        name = self.directory / f"{uuid.uuid4().hex}.json"
        tmp = name.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False))
        tmp.rename(name)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    directory = pathlib.Path(sys.argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    port = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "0" else free_port()
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"PORT {port}", flush=True)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The parent going away (stdin closed) stops the server too: no orphan.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.readline() else None)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
