"""A TCP relay between auth-server and PostgreSQL that the outage check controls.

    python3 relay.py --listen 127.0.0.1:PORT --target 127.0.0.1:5432 --ready-file F

Forwards every connection to the target until it is stopped. The outage
check points the server's --database-url at PORT, so that it can take the
database away from this one server without touching the shared cluster:

- SIGTERM (or SIGKILL): stop. Every relayed connection is closed, new ones
  are refused: PostgreSQL is "gone" (connection refused, like a stopped
  server or a closed firewall port).
- SIGUSR1: freeze. Relayed connections stay open but carry nothing in either
  direction, and new connections are accepted but never answered: PostgreSQL
  "hangs" (like a network partition that drops packets, or a stuck server).
  Undone only by stopping the relay.
- SIGUSR2: arm. The next message from the server side that is not a bare
  Sync (what the connection pool sends as its liveness ping) freezes the
  relay, that message included: a query is then in flight when the database
  stops answering, the case a ping before use cannot catch.

Starting it again on the same port brings the database back. The ready file
is written once the port listens (the caller polls for it). Standard
library only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys


# PostgreSQL's Sync message ('S', length 4): sqlx's whole ping.
SYNC = b"S\x00\x00\x00\x04"


def host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


class Relay:
    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.thawed = asyncio.Event()
        self.thawed.set()
        self.writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self.armed = False
        self.tasks: set[asyncio.Task] = set()

    def freeze(self) -> None:
        print("relay: frozen (connections stay open, nothing is relayed)", flush=True)
        self.thawed.clear()

    def arm(self) -> None:
        print("relay: armed (freezes at the next query)", flush=True)
        self.armed = True

    async def pipe(self, reader, writer, upstream: bool) -> None:
        """Copies reader to writer; `upstream`: from the server to PostgreSQL."""
        try:
            while True:
                await self.thawed.wait()
                data = await reader.read(65536)
                if not data:
                    break
                if upstream and self.armed and data != SYNC:
                    self.armed = False
                    self.freeze()
                await self.thawed.wait()  # data read just before a freeze is held back
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def handle(self, client_reader, client_writer) -> None:
        self.tasks.add(asyncio.current_task())
        self.connections += 1
        self.writers.add(client_writer)
        server_writer = None
        try:
            await self.thawed.wait()
            server_reader, server_writer = await asyncio.open_connection(*self.target)
            self.writers.add(server_writer)
            await asyncio.gather(
                self.pipe(client_reader, server_writer, upstream=True),
                self.pipe(server_reader, client_writer, upstream=False),
            )
        except (ConnectionError, OSError) as error:
            print(f"relay: connection failed: {error}", flush=True)
        except asyncio.CancelledError:
            pass  # stopping: end quietly (the sockets are closed below)
        finally:
            self.tasks.discard(asyncio.current_task())
            for writer in (client_writer, server_writer):
                if writer is not None:
                    writer.close()
                    self.writers.discard(writer)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", required=True, help="host:port to listen on")
    parser.add_argument("--target", default="127.0.0.1:5432", help="host:port to relay to")
    parser.add_argument("--ready-file", help="written once listening")
    args = parser.parse_args()

    relay = Relay(host_port(args.target))
    host, port = host_port(args.listen)
    server = None
    # The port may still be held for a moment by the previous relay's
    # sockets; retry briefly (bounded).
    for attempt in range(50):
        try:
            server = await asyncio.start_server(relay.handle, host, port, reuse_address=True)
            break
        except OSError as error:
            if attempt == 49:
                print(f"relay: cannot listen on {args.listen}: {error}", file=sys.stderr)
                return 1
            await asyncio.sleep(0.1)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, relay.freeze)
    loop.add_signal_handler(signal.SIGUSR2, relay.arm)

    print(f"relay: {args.listen} -> {args.target} (pid {os.getpid()})", flush=True)
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as ready:
            ready.write(str(os.getpid()))
        os.replace(args.ready_file + ".tmp", args.ready_file)

    await stop.wait()
    server.close()
    for writer in list(relay.writers):
        writer.close()
    tasks = list(relay.tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(f"relay: stopped after {relay.connections} connections", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
