"""A real SMTP server for e2e/clients.sh: aiosmtpd (from e2e/.venv) on
127.0.0.1:<port>, writing every message it accepts to <dir> as one RFC 822
file, `<n>.eml`, numbered in the order received. A file appears whole: it is
written under a dot name and renamed, so a reader polling the directory never
sees half a message.

usage: python smtp_sink.py <port> <dir>

Prints "smtp sink listening on 127.0.0.1:<port>" once it accepts connections
(clients.sh waits for that line), and one line per message. Stops on SIGTERM
or SIGINT.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.numbers = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            n = next(self.numbers)
        tmp = self.directory / f".{n:04d}.eml.part"
        tmp.write_bytes(envelope.original_content or envelope.content)
        os.replace(tmp, self.directory / f"{n:04d}.eml")
        print(
            f"message {n:04d}.eml from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}",
            flush=True,
        )
        return "250 Message accepted for delivery"


def main(port: int, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # start() returns once the server answers (aiosmtpd connects to it);
    # a port taken in the meantime raises here and the process exits non-zero.
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"smtp sink listening on 127.0.0.1:{port}", flush=True)
    try:
        while not stop.wait(1):
            pass
    finally:
        controller.stop()
        print("smtp sink stopped", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python smtp_sink.py <port> <dir>")
    main(int(sys.argv[1]), Path(sys.argv[2]))
