"""The keeper process: starts processes for the daemon, reads their output, reaps them, waits.

One daemon at a time talks to it; a new ``hello`` replaces the connection before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from twelve import __version__
from twelve.keeper import kept as kp
from twelve.keeper.kept import Kept
from twelve.keeper.outbox import Entry, Outbox
from twelve.keeper.wire import Message, decode, encode, socket_address, to_text
from twelve.supervisor.stdio import Stdio, open_stdio

log = logging.getLogger("keeper")
SEND_HIGH_WATER = 1 << 20  # bytes in the socket's buffer before sending waits for it to drain


class Keeper:
    def __init__(self, listener: socket.socket, buffer: int) -> None:
        self.listener = listener
        self.outbox = Outbox(buffer)
        self.children: dict[int, Kept] = {}
        self.next_cid = 1
        self.loop = asyncio.get_running_loop()
        self._writer: asyncio.StreamWriter | None = None
        self._sender: asyncio.Task[None] | None = None
        self._more = asyncio.Event()
        self.done = asyncio.Event()  # set to end the keeper
        self._upgrade: list[str] | None = None

    # -- processes -----------------------------------------------------------------------------

    def adopt(self, kept: Kept) -> None:
        self.children[kept.cid] = kept
        self.next_cid = max(self.next_cid, kept.cid + 1)
        kp.watch(kept, self.loop, self._output, self._eof, self._exited)

    def _output(self, kept: Kept, lines: list[str] | list[bytes]) -> None:
        drops = self.outbox.dropped.pop(kept.cid, 0)
        if drops:
            self._queue(kept, {"d": drops}, droppable=False)
        stamp = round(time.time(), 3)
        for line in lines:
            text = to_text(line) if isinstance(line, bytes) else line
            self._queue(kept, {"l": text, "t": stamp})
        # These lines may have pushed out lines of a process whose output has ended: no line of
        # its own will carry the count any more, so it goes now.
        for cid, count in list(self.outbox.dropped.items()):
            ended = self.children.get(cid)
            if ended is not None and ended.fd is None:
                del self.outbox.dropped[cid]
                self._queue(ended, {"d": count}, droppable=False)

    def _eof(self, kept: Kept) -> None:
        drops = self.outbox.dropped.pop(kept.cid, 0)
        if drops:
            self._queue(kept, {"d": drops}, droppable=False)
        self._queue(kept, {"eof": True}, droppable=False)

    def _exited(self, kept: Kept) -> None:
        self._queue(kept, {"x": kept.code}, droppable=False)

    def _queue(self, kept: Kept, fields: Message, *, droppable: bool = True) -> None:
        cid = kept.cid
        self.outbox.add(
            cid, lambda seq: encode({"s": seq, "c": cid, **fields}), droppable=droppable
        )
        self._more.set()

    def _forget_finished(self) -> None:
        """Processes whose exit and end of output the daemon has: the keeper is done with them."""
        waiting = {entry.child for entry in self.outbox.entries()}
        for cid, kept in list(self.children.items()):
            if kept.reaped and kept.fd is None and cid not in waiting:
                del self.children[cid]

    # -- the daemon's connection ---------------------------------------------------------------

    async def serve(self) -> None:
        server = await asyncio.start_unix_server(self._connected, sock=self.listener)
        async with server:
            await self.done.wait()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                op = decode(line)
                if op.get("op") == "spawn" and op.get("stdio"):
                    self._spawn_attached(op, writer)
                    break
                if op.get("op") == "hello":
                    self._take_over(writer, op)
                    continue
                reply = self._handle(op)
                if reply is not None:
                    writer.write(encode({"r": op.get("r"), **reply}))
                if self._upgrade is not None:
                    await writer.drain()
                    self.exec_successor(self._upgrade)  # returns only when exec failed
                    self._upgrade = None
        except (OSError, ValueError) as exc:
            log.warning("the daemon's connection ended: %s", exc)
        except asyncio.CancelledError:
            pass  # the keeper is ending
        finally:
            if self._writer is writer:
                self._writer = None
                if self._sender is not None:
                    self._sender.cancel()
                    self._sender = None
            writer.close()

    def _take_over(self, writer: asyncio.StreamWriter, op: Message) -> None:
        """A daemon says hello: it gets the table, then every message not acknowledged."""
        if self._sender is not None:
            self._sender.cancel()  # nothing more goes to the daemon before
        if self._writer is not None and self._writer is not writer:
            self._writer.close()
        self._writer = writer
        self.outbox.resend()
        children = [k.summary() for k in self.children.values()]
        writer.write(encode({"r": op.get("r"), "children": children, "program": program()}))
        self._sender = asyncio.create_task(self._send(writer))
        self._more.set()

    def _handle(self, op: Message) -> Message | None:
        kind = op.get("op")
        if kind == "ack":
            self.outbox.ack(int(op["upto"]))
            self._forget_finished()
            return None
        if kind == "spawn":
            return self._spawn(op)
        if kind == "note":
            kept = self.children.get(int(op["cid"]))
            if kept is not None:
                kept.meta.update(op["meta"])
            return {"ok": kept is not None}
        if kind == "upgrade":
            self._upgrade = [str(a) for a in op["argv"]]
            return {"ok": True}
        if kind == "exit":
            self.done.set()
            return {"ok": True}
        return {"error": f"unknown operation {kind!r}"}

    def _spawn(self, op: Message, stdio: Stdio | None = None) -> Message:
        cid = self.next_cid
        self.next_cid += 1
        try:
            kept = kp.start(
                cid,
                str(op["key"]),
                list(op["argv"]),
                str(op["cwd"]),
                dict(op["env"]),
                bool(op.get("raw")),
                stdio,
            )
        except OSError as exc:
            return {"error": f"{op['argv'][0]}: {exc.strerror or exc}"}
        kept.meta = dict(op.get("meta") or {})
        self.adopt(kept)
        return {"cid": cid, "pid": kept.pid, "pgid": kept.pgid, "ticks": kept.ticks}

    def _spawn_attached(self, op: Message, writer: asyncio.StreamWriter) -> None:
        """An attached one-off, asked on a connection of its own: the answer carries the parent's
        ends of its streams (SCM_RIGHTS), and the keeper keeps none of them."""
        try:
            stdio = open_stdio(
                str(op["stdio"]), int(op.get("rows") or 24), int(op.get("cols") or 80)
            )
        except (OSError, ValueError) as exc:
            writer.write(encode({"r": op.get("r"), "error": str(exc)}))
            return
        reply = self._spawn(op, stdio)
        fds = stdio.parent if "cid" in reply else []
        # Nothing else was written on this connection, so the answer goes straight to its socket.
        sock = socket.socket(fileno=os.dup(writer.get_extra_info("socket").fileno()))
        try:
            sock.setblocking(True)
            socket.send_fds(sock, [encode({"r": op.get("r"), **reply})], fds)
        except OSError as exc:
            log.warning("could not hand an attached process its streams: %s", exc)
        finally:
            sock.close()
            stdio.close_parent()
        cid = reply.get("cid")
        if cid is not None:
            self._eof(self.children[int(cid)])  # no output of its own passes through here

    async def _send(self, writer: asyncio.StreamWriter) -> None:
        while True:
            await self._more.wait()
            self._more.clear()
            while (entry := self.outbox.take_unsent()) is not None:
                writer.write(entry.payload)
                if writer.transport.get_write_buffer_size() > SEND_HIGH_WATER:
                    await writer.drain()
            await writer.drain()

    # -- upgrade -------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        for kept in self.children.values():
            kp.unwatch(kept, self.loop)
        self.outbox.resend()
        return {
            "listener": self.listener.fileno(),
            "next_cid": self.next_cid,
            "next_seq": self.outbox.next_seq,
            "children": [k.state() for k in self.children.values()],
            "entries": [
                [e.seq, e.child, e.payload.decode(), e.droppable] for e in self.outbox.entries()
            ],
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.next_cid = state["next_cid"]
        self.outbox.next_seq = state["next_seq"]
        for seq, child, payload, droppable in state["entries"]:
            self.outbox.unsent.append(Entry(seq, child, payload.encode(), droppable))
            self.outbox.size += len(payload)
        for data in state["children"]:
            self.adopt(Kept.from_state(data))

    def exec_successor(self, argv: list[str]) -> None:
        """Become ``argv`` (the keeper of another version), keeping pid, children and pipes."""
        state = self.state()
        memfd = os.memfd_create("keeper-state", 0)
        try:
            os.write(memfd, json.dumps(state).encode())
            os.lseek(memfd, 0, os.SEEK_SET)
            for fd in (self.listener.fileno(), *(k.fd for k in self.children.values() if k.fd)):
                os.set_inheritable(fd, True)
            log.info("handing over to %s", " ".join(argv))
            os.execv(argv[0], [*argv, "--resume", str(memfd)])  # noqa: S606 (argv is twelve's own)
        except OSError as exc:
            log.error("could not hand over to %s: %s", argv[0], exc)
            os.close(memfd)
            for kept in self.children.values():
                kp.watch(kept, self.loop, self._output, self._eof, self._exited)


def program() -> list[str]:
    """Which keeper this is: its interpreter and twelve's version (a daemon of another upgrades it)."""
    return [sys.executable, __version__]


class AlreadyServing(Exception):
    """Another keeper answers on the socket: a second one would split the processes between two
    keepers and leave the first's unreachable, so the second leaves instead."""


def listen(path: Path) -> socket.socket:
    """The keeper's socket, readable and writable only by its owner.

    Starts are serialised by a lock beside the socket, so of two keepers started at once (two
    daemons, or a connect refused while the first was still binding) only one listens.
    """
    lock = os.open(path.with_name("keeper.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(path):
            raise AlreadyServing(str(path))
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            with socket_address(path) as address:
                sock.bind(address)
        finally:
            os.umask(old)
        sock.listen(16)
        return sock
    finally:
        os.close(lock)  # closing releases the lock


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        try:
            with socket_address(path) as address:
                probe.connect(address)
        except (FileNotFoundError, ConnectionRefusedError):
            return False
        return True


async def run(socket_path: Path, buffer: int, resume: int | None) -> int:
    if resume is None:
        try:
            listener = listen(socket_path)
        except AlreadyServing:
            log.info("a keeper already serves %s: leaving it to it", socket_path)
            return 0
        keeper = Keeper(listener, buffer)
    else:
        with os.fdopen(resume, "rb") as handle:
            state = json.loads(handle.read())
        listener = socket.socket(fileno=state["listener"])
        os.set_inheritable(listener.fileno(), False)
        keeper = Keeper(listener, buffer)
        keeper.restore(state)
        log.info("resumed with %d processes", len(keeper.children))
    pid_file = socket_path.with_name("keeper.pid")
    pid_file.write_text(f"{os.getpid()}\n")
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, keeper.done.set)
    # SIGHUP: hand over to a fresh start of this same program (after twelve was reinstalled).
    own = [
        sys.executable,
        "-m",
        "twelve.keeper",
        "--socket",
        str(socket_path),
        "--buffer",
        str(buffer),
    ]
    loop.add_signal_handler(signal.SIGHUP, keeper.exec_successor, own)
    try:
        await keeper.serve()
    finally:  # (a hand-over never gets here: exec keeps the file for the same pid)
        with contextlib.suppress(FileNotFoundError):
            pid_file.unlink()
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m twelve.keeper")
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--buffer", type=int, default=16 << 20)
    parser.add_argument("--resume", type=int)
    parser.add_argument("--detach", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s keeper %(levelname)s %(message)s"
    )
    if args.detach and os.fork() > 0:
        os._exit(0)  # whoever started the keeper is not its parent: it outlives them
    return asyncio.run(run(args.socket, args.buffer, args.resume))
