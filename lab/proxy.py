"""A TCP relay in front of one lab node, able to play a network partition.

Run as ``python -m lab.proxy --listen PORT --target PORT --state-file FILE``.
SIGUSR1 partitions: no byte moves in either direction on existing connections,
and new connections are accepted by the kernel then left silent (they hang,
nothing is reset). SIGUSR2 heals: held bytes flow again and waiting
connections reach the target. The state is written to the state file as JSON
(``{"state": "healed"|"partitioned", "pid": ...}``) after every change, and read
at start so a restarted proxy keeps its partition. Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

CHUNK = 65536
HOST = "127.0.0.1"


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} proxy[{os.getpid()}] {message}", file=sys.stderr, flush=True)


class Relay:
    """Accepts on one port, relays to another, obeys the partition gate."""

    def __init__(self, listen: int, target: int, state_file: Path) -> None:
        self.listen = listen
        self.target = target
        self.state_file = state_file
        self.healed = asyncio.Event()
        self.stopping = asyncio.Event()
        self.connections = 0

    def read_state(self) -> str:
        try:
            return str(json.loads(self.state_file.read_text())["state"])
        except (OSError, ValueError, KeyError, TypeError):
            return "healed"

    def write_state(self) -> None:
        state = "healed" if self.healed.is_set() else "partitioned"
        body = {"state": state, "pid": os.getpid(), "listen": self.listen,
                "target": self.target, "at": time.time()}
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(body) + "\n")
        if os.geteuid() == 0:  # keep the lab folder owned by one user
            st = os.stat(self.state_file.parent)
            os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, self.state_file)

    def set_partitioned(self, partitioned: bool) -> None:
        if partitioned:
            self.healed.clear()
        else:
            self.healed.set()
        self.write_state()
        log(f"{'partitioned' if partitioned else 'healed'} "
            f"({self.connections} open connections)")

    async def pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction; every byte and the final close wait for the gate."""
        try:
            while True:
                await self.healed.wait()
                data = await reader.read(CHUNK)
                await self.healed.wait()
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        await self.healed.wait()

    async def handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        s_writer: asyncio.StreamWriter | None = None
        try:
            await self.healed.wait()
            try:
                s_reader, s_writer = await asyncio.open_connection(HOST, self.target)
            except OSError:
                return  # target down: the client sees the connection close
            up = asyncio.ensure_future(self.pump(c_reader, s_writer))
            down = asyncio.ensure_future(self.pump(s_reader, c_writer))
            done, pending = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        except Exception as exc:  # noqa: BLE001 - one connection never kills the proxy
            log(f"connection error: {exc!r}")
        finally:
            self.connections -= 1
            for writer in (c_writer, s_writer):
                if writer is not None:
                    writer.close()

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        if self.read_state() == "partitioned":
            self.healed.clear()
        else:
            self.healed.set()
        loop.add_signal_handler(signal.SIGUSR1, self.set_partitioned, True)
        loop.add_signal_handler(signal.SIGUSR2, self.set_partitioned, False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self.stopping.set)
        try:
            server = await asyncio.start_server(
                self.handle, HOST, self.listen, reuse_address=True, backlog=256)
        except OSError as exc:
            log(f"cannot listen on {HOST}:{self.listen}: {exc.strerror or exc}")
            return 2
        self.write_state()
        log(f"listening on {HOST}:{self.listen} -> {HOST}:{self.target} "
            f"({'healed' if self.healed.is_set() else 'partitioned'})")
        await self.stopping.wait()
        server.close()
        log("stopped")
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.proxy", description=__doc__.split("\n")[0])
    parser.add_argument("--listen", type=int, required=True, help="port to accept on (127.0.0.1)")
    parser.add_argument("--target", type=int, required=True, help="port to relay to (127.0.0.1)")
    parser.add_argument("--state-file", type=Path, required=True, help="JSON state file")
    args = parser.parse_args(argv)
    return asyncio.run(Relay(args.listen, args.target, args.state_file).serve())


if __name__ == "__main__":
    sys.exit(main())
