"""A real SMTP server for e2e/email.sh: aiosmtpd (from e2e/.venv) on one
address, storing every message it accepts as one file in a directory, so
the checks read what auth-server actually sent over SMTP.

Each message is written as <directory>/<ns>-<pid>-<n>.eml, exactly the
bytes of DATA (headers and body), next to <same name>.json with the envelope
(mail_from, rcpt_tos, received_at). The .json is written first and the .eml
appears last, by rename: a reader that sees an .eml sees it whole, with its
envelope beside it.

Stopped by SIGTERM or SIGINT (it closes the listener and exits 0); started
again on the same port it listens at once (asyncio binds with SO_REUSEADDR).
With --ready-file, that file gets the address once the port is bound.

usage: python smtp_sink.py --listen 127.0.0.1:PORT --dir DIR [--ready-file F]
"""

import argparse
import asyncio
import itertools
import json
import os
import signal
import sys
import time

from aiosmtpd.smtp import SMTP


class StoreEach:
    """The aiosmtpd handler: one file per message."""

    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        stem = f"{time.time_ns()}-{os.getpid()}-{next(self.counter):04d}"
        base = os.path.join(self.directory, stem)
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "received_at": time.time(),
                },
                f,
            )
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(content)
        os.replace(base + ".eml.tmp", base + ".eml")
        print(f"smtp-sink: stored {stem}.eml from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}", flush=True)
        return "250 Message accepted for delivery"


async def serve(host, port, directory, ready_file):
    handler = StoreEach(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp-sink.e2e.test", ident="auth-e2e smtp sink"),
        host=host,
        port=port,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"smtp-sink: listening on {host}:{port}, storing into {directory} (pid {os.getpid()})", flush=True)
    if ready_file:
        with open(ready_file + ".tmp", "w", encoding="utf-8") as f:
            f.write(f"{host}:{port}\n")
        os.replace(ready_file + ".tmp", ready_file)
    await stop.wait()
    server.close()
    # Open connections are dropped when the process exits; do not wait on
    # them (Python 3.12's wait_closed would).
    try:
        await asyncio.wait_for(server.wait_closed(), 2)
    except TimeoutError:
        pass
    print("smtp-sink: stopped", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="host:port")
    parser.add_argument("--dir", required=True, help="where messages are stored")
    parser.add_argument("--ready-file", help="written once the port is bound")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    os.makedirs(args.dir, exist_ok=True)
    try:
        asyncio.run(serve(host, int(port), args.dir, args.ready_file))
    except OSError as error:
        print(f"smtp-sink: cannot listen on {args.listen}: {error}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
