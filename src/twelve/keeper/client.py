"""The daemon's side of the keeper: start it when absent, spawn through it, hear its messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twelve import __version__
from twelve.keeper.wire import Message, decode, encode, socket_address

log = logging.getLogger("twelve.keeper")
CONNECT_TIMEOUT = 15.0
READ_SIZE = 256 * 1024


@dataclass(eq=False)
class KeptChild:
    """A process the keeper holds, as the daemon sees it (one per process, across reconnects)."""

    cid: int
    key: str
    pid: int
    pgid: int
    start_ticks: int
    meta: dict[str, Any]
    exit: asyncio.Future[int | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    output_end: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def returncode(self) -> int | None:
        """The exit code once the process exited (None while it runs, or when it is unknown)."""
        return self.exit.result() if self.exit.done() else None

    @property
    def running(self) -> bool:
        return not self.exit.done()

    async def wait(self) -> int | None:
        return await asyncio.shield(self.exit)

    async def output_done(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.output_end), timeout)


OnLine = Callable[[KeptChild, str, datetime], None]
OnDrops = Callable[[KeptChild, int], None]


def _ask_for_streams(path: Path, op: Message) -> tuple[Message, list[int]]:
    """One request on a connection of its own, whose answer carries file descriptors."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(str(path))
        sock.sendall(encode(op))
        data, fds, _flags, _address = socket.recv_fds(sock, 1 << 16, 8)
        while not data.endswith(b"\n"):
            more = sock.recv(1 << 16)
            if not more:
                break
            data += more
    for fd in fds:
        os.set_inheritable(fd, False)
    return decode(data), fds


def keeper_argv(socket_path: Path, buffer: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "twelve.keeper",
        "--socket",
        str(socket_path),
        "--buffer",
        str(buffer),
    ]


class KeeperClient:
    """One connection to the keeper, re-made when the keeper hands over to a successor."""

    def __init__(
        self,
        socket_path: Path,
        buffer: int,
        on_line: OnLine,
        on_drops: OnDrops,
        after_batch: Callable[[], None] = lambda: None,
        on_exit: Callable[[KeptChild], None] = lambda _child: None,
    ) -> None:
        self.socket_path = socket_path
        self.buffer = buffer
        self.on_line = on_line
        self.on_drops = on_drops
        self.after_batch = after_batch
        self.on_exit = on_exit  # called before the exit is acknowledged, so it is never lost
        self.children: dict[int, KeptChild] = {}
        self._seen = 0  # the last numbered message taken in
        self._next_request = 1
        self._replies: dict[int, asyncio.Future[Message]] = {}
        self._spawning: dict[int, tuple[str, dict[str, Any]]] = {}  # request number → key, meta
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self._stamps: tuple[float, datetime] = (0.0, datetime.now(UTC))
        self.program: list[str] = []  # the keeper's interpreter and twelve version
        self._early: dict[int, list[Message]] = {}  # messages of processes not known yet

    # -- connection ----------------------------------------------------------------------------

    async def connect(self) -> list[KeptChild]:
        """Reach the keeper (starting one when none listens); the processes it holds."""
        reader, writer = await self._open()
        self._writer = writer
        hello = await self._hello(reader, writer)
        self._reader_task = asyncio.create_task(self._read(reader), name="keeper reader")
        return hello

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        started = False
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            try:
                with socket_address(self.socket_path) as address:
                    return await asyncio.open_unix_connection(address, limit=1 << 24)
            except (FileNotFoundError, ConnectionRefusedError):
                if not started:
                    self._start_keeper()
                    started = True
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    def _start_keeper(self) -> None:
        log.info("starting the keeper")
        log_path = self.socket_path.with_name("keeper.log")
        with open(log_path, "ab") as errors:
            subprocess.run(
                [*keeper_argv(self.socket_path, self.buffer), "--detach"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,
                env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
                check=True,
            )

    async def _hello(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> list[KeptChild]:
        writer.write(encode({"op": "hello", "r": 0}))
        answer = decode(await reader.readline())
        self.program = list(answer.get("program") or [])
        table = []
        for item in answer["children"]:
            child = self.children.get(item["cid"])
            if child is None:
                child = KeptChild(
                    item["cid"], item["key"], item["pid"], item["pgid"], item["ticks"], item["meta"]
                )
                self.children[child.cid] = child
            if item["exited"] and not child.exit.done():  # it exited while no daemon ran
                child.exit.set_result(item["code"])
                self.on_exit(child)
            table.append(child)
        self._connected.set()
        return table

    async def _read(self, reader: asyncio.StreamReader) -> None:
        pending = b""
        try:
            while chunk := await reader.read(READ_SIZE):
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    self._take(decode(line))
                self._acknowledge()
        except (OSError, ValueError) as exc:
            log.warning("the keeper's connection broke: %s", exc)
        finally:
            self._connected.clear()
            if self._writer is not None and not self._closing:
                self._writer.close()
            for reply in self._replies.values():
                if not reply.done():
                    reply.set_exception(ConnectionError("the keeper's connection closed"))
            self._replies.clear()
        if not self._closing:
            await self._reconnect()

    async def _reconnect(self) -> None:
        """The keeper handed over to its successor (or restarted): say hello again."""
        while not self._closing:
            try:
                reader, writer = await self._open()
                self._writer = writer
                await self._hello(reader, writer)
            except (OSError, ValueError) as exc:
                log.warning("cannot reach the keeper: %s", exc)
                await asyncio.sleep(0.5)
                continue
            self._reader_task = asyncio.create_task(self._read(reader), name="keeper reader")
            return

    def _take(self, message: Message) -> None:
        if "r" in message:
            spawned = self._spawning.pop(int(message["r"]), None)
            if spawned is not None and "cid" in message:
                # Known before the lines that follow in this same read are taken in.
                key, meta = spawned
                born = KeptChild(
                    message["cid"], key, message["pid"], message["pgid"], message["ticks"], meta
                )
                self.children[born.cid] = born
            reply = self._replies.pop(int(message["r"]), None)
            if reply is not None and not reply.done():
                reply.set_result(message)
            return
        seq = int(message["s"])
        if seq <= self._seen:
            return  # sent again after a reconnect, already taken in
        self._seen = seq
        child = self.children.get(int(message["c"]))
        if child is None:
            # An attached one-off's exit may come before the answer on its own connection.
            self._early.setdefault(int(message["c"]), []).append(message)
            return
        self._deliver(child, message)

    def _deliver(self, child: KeptChild, message: Message) -> None:
        if "l" in message:
            self.on_line(child, message["l"], self._stamp(float(message["t"])))
        elif "x" in message:
            if not child.exit.done():
                child.exit.set_result(message["x"])
                self.on_exit(child)
        elif "eof" in message:
            if not child.output_end.done():
                child.output_end.set_result(None)
        elif "d" in message:
            self.on_drops(child, int(message["d"]))

    def _stamp(self, at: float) -> datetime:
        if at != self._stamps[0]:
            self._stamps = (at, datetime.fromtimestamp(at, UTC))
        return self._stamps[1]

    def _acknowledge(self) -> None:
        """Lines taken in are written (``after_batch``) before the keeper may forget them."""
        self.after_batch()
        if self._writer is not None and self._seen:
            self._writer.write(encode({"op": "ack", "upto": self._seen}))

    # -- requests ------------------------------------------------------------------------------

    async def request(self, op: Message) -> Message:
        """Send ``op`` and wait for its answer; a connection lost first (the keeper handing over
        to its successor) raises ConnectionError."""
        await self._connected.wait()
        assert self._writer is not None
        number = self._next_request
        self._next_request += 1
        reply: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._replies[number] = reply
        if op.get("op") == "spawn":
            self._spawning[number] = (str(op["key"]), dict(op.get("meta") or {}))
        self._writer.write(encode({**op, "r": number}))
        try:
            return await reply
        finally:
            self._spawning.pop(number, None)

    async def spawn(
        self,
        key: str,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        *,
        raw: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> KeptChild:
        op = {"op": "spawn", "key": key, "argv": argv, "cwd": str(cwd), "env": env, "raw": raw}
        while True:
            try:
                answer = await self.request(op | {"meta": meta or {}})
                break
            except ConnectionError:
                if self._closing:
                    raise
                # The answer was lost with the connection: the keeper's table says whether the
                # process started (keys are unique), else it is asked again.
                await self._connected.wait()
                started = next((c for c in self.children.values() if c.key == key), None)
                if started is not None:
                    return started
        if "error" in answer:
            raise OSError(answer["error"])
        return self.children[int(answer["cid"])]

    async def spawn_attached(
        self,
        key: str,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        stdio: str,
        size: tuple[int, int],
        meta: dict[str, Any],
    ) -> tuple[KeptChild, list[int]]:
        """Start an attached one-off: the keeper is its parent, this process holds its streams
        (the terminal's master, or stdin's, stdout's and stderr's pipe ends)."""
        op = {
            "op": "spawn", "r": 0, "key": key, "argv": argv, "cwd": str(cwd), "env": env,
            "meta": meta, "stdio": stdio, "rows": size[0], "cols": size[1],
        }  # fmt: skip
        answer, fds = await asyncio.to_thread(_ask_for_streams, self.socket_path, op)
        if "error" in answer:
            for fd in fds:
                os.close(fd)
            raise OSError(answer["error"])
        child = KeptChild(
            answer["cid"], key, answer["pid"], answer["pgid"], answer["ticks"], dict(meta)
        )
        self.children[child.cid] = child
        for message in self._early.pop(child.cid, []):
            self._deliver(child, message)
        return child, fds

    async def note(self, child: KeptChild, meta: dict[str, Any]) -> None:
        child.meta.update(meta)
        while not self._closing:
            with contextlib.suppress(ConnectionError):
                await self.request({"op": "note", "cid": child.cid, "meta": child.meta})
                return

    async def upgrade(self, argv: list[str] | None = None) -> None:
        """Have the keeper become ``argv`` (this twelve's keeper by default), keeping everything;
        the connection is made again to the successor."""
        argv = argv or keeper_argv(self.socket_path, self.buffer)
        with contextlib.suppress(ConnectionError):  # it may go before its answer is read
            await self.request({"op": "upgrade", "argv": argv})

    @property
    def outdated(self) -> bool:
        """Whether the keeper runs another twelve than this process (an upgrade happened)."""
        return self.program != [sys.executable, __version__]

    async def shutdown(self) -> None:
        """End the keeper (once every process it held is stopped)."""
        with contextlib.suppress(ConnectionError):
            await self.request({"op": "exit"})

    async def close(self) -> None:
        """Leave the keeper running for the next daemon."""
        self._closing = True
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        if self._writer is not None:
            self._acknowledge()
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
