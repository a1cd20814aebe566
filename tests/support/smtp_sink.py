"""A real SMTP server for kiln's mail tests (aiosmtpd, on loopback).

Usage: python smtp_sink.py DIR < LISTENING-SOCKET

The test binds the listening socket itself (port 0, so the kernel picks a
free port and nothing can take it in between) and hands it over as standard
input. Every message the server accepts is written to DIR as NNNN.eml (the
bytes as received) and NNNN.json (envelope, decoded headers, and the text
and HTML parts, decoded by Python's email package), each atomically, so a
test can wait for a file and read it whole. Prints "ready" once it accepts
connections, then serves until killed.
"""

import asyncio
import email
import email.policy
import json
import os
import socket
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out):
        self.out = out
        self.count = len([n for n in os.listdir(out) if n.endswith(".eml")])

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = os.path.join(self.out, "%04d" % self.count)
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {}
        for part in msg.walk():
            kind = part.get_content_type()
            if kind in ("text/plain", "text/html") and kind not in parts:
                parts[kind] = part.get_content()
        summary = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": [[k, str(v)] for k, v in msg.items()],
            "content_type": msg.get_content_type(),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        for suffix, data in ((".eml", raw), (".json", json.dumps(summary).encode())):
            with open(stem + suffix + ".tmp", "wb") as f:
                f.write(data)
            os.replace(stem + suffix + ".tmp", stem + suffix)
        return "250 Message accepted for delivery"


async def serve(out):
    listening = socket.socket(fileno=sys.stdin.fileno())
    handler = Sink(out)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="kiln-test-sink", loop=loop), sock=listening
    )
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
