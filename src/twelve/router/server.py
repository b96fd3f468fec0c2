"""The router process: bind, start the workers, announce the address, relay signals, stop.

The master binds the address once without listening, only to learn the real port (bind port 0
works) and to hold it; each worker then binds its own listening socket to that port with
SO_REUSEPORT, so the kernel spreads connections over the workers. The address is announced on
stdout once every worker listens. With one worker the master is the worker.

Signals are blocked from the first moment and taken synchronously by the master
(``sigtimedwait``), so a SIGHUP or SIGTERM sent while starting is never lost and never kills the
router with the default action; workers unblock them once their loop handles them.

With ``TWELVE_ROUTER_TLS_BIND`` the same is done for a second, HTTPS address, announced as
``listening_tls`` before ``listening``; the default certificate for names no app's certificate
covers is made once here, so every worker shows the same one.

The router runs under Linux's ``SCHED_BATCH`` policy (``TWELVE_ROUTER_SCHED_BATCH=0`` keeps the
default one), set in the master so every worker inherits it: a worker woken by a packet then
waits for the running process's time slice to end instead of preempting it. On a busy machine the
process it would preempt is most often an app's, in the middle of a request and, for a Python
app, holding the lock every other thread of that app waits for; measured with the hello app on
two cores, that preemption cost about 10% of the throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import uvloop

from twelve.errors import TwelveError
from twelve.router.accesslog import LineWriter, event_line
from twelve.router.tls import Certificates, self_signed
from twelve.router.worker import HANDLED_SIGNALS, SHUTDOWN_GRACE, Worker
from twelve.settings import Settings
from twelve.settings_values import Bind

READY_TIMEOUT = 10.0
INTERPRETED = (
    "the router runs interpreted: no compiled build matches its sources "
    "(python -m twelve.router.native makes one)"
)
RESPAWN_DELAY = 1.0


def block_signals() -> None:
    """Hold back SIGHUP, SIGTERM, SIGINT and SIGCHLD until someone is ready to act on them."""
    signal.pthread_sigmask(signal.SIG_BLOCK, (*HANDLED_SIGNALS, signal.SIGCHLD))


def yield_to_apps() -> str | None:
    """Put this process under ``SCHED_BATCH``; return why it could not be, else None."""
    batch = getattr(os, "SCHED_BATCH", None)
    if batch is None:
        return "this system has no SCHED_BATCH policy"
    try:
        os.sched_setscheduler(0, batch, os.sched_param(0))
    except OSError as exc:  # a seccomp profile may refuse it
        return exc.strerror or str(exc)
    return None


def _socket_for(bind: Bind, *, listen: bool) -> socket.socket:
    infos = socket.getaddrinfo(
        bind.host, bind.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if listen:
            sock.listen(1024)
            sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass(frozen=True)
class _Tls:
    """Where HTTPS is served and the default certificate (PEM cert, PEM key)."""

    bind: Bind
    default_pem: tuple[bytes, bytes]


def _run_worker(
    settings: Settings, bind: Bind, ready: Callable[[LineWriter], None], tls: _Tls | None = None
) -> None:
    """Listen on ``bind`` (and ``tls.bind``) and serve until told to stop; ``ready`` runs once
    connections are taken."""
    sock = _socket_for(bind, listen=True)
    tls_sock = None
    try:
        tls_sock = _socket_for(tls.bind, listen=True) if tls else None
        certificates = Certificates(tls.default_pem) if tls else None

        async def serve() -> None:
            loop = asyncio.get_running_loop()
            log = LineWriter(sys.stdout.fileno(), loop)
            worker = Worker(settings, loop, log, certificates)
            await worker.serve(sock, lambda: ready(log), tls_sock)

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve())
    finally:
        sock.close()
        if tls_sock is not None:
            tls_sock.close()


class _Master:
    """Forks the workers, restarts one that dies, relays SIGHUP and SIGTERM, reaps them all."""

    def __init__(self, settings: Settings, bind: Bind, tls: _Tls | None) -> None:
        self.settings = settings
        self.bind = bind
        self.tls = tls
        self.workers: dict[int, float] = {}  # pid -> start time

    def fork(self) -> tuple[int, int]:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: serve, then leave without running the master's cleanup
            os.close(read_fd)
            code = 0

            def ready(_log: LineWriter) -> None:
                os.write(write_fd, b"r")
                os.close(write_fd)

            try:
                _run_worker(self.settings, self.bind, ready, self.tls)
            except BaseException as exc:  # report any failure in one line, never a traceback
                _say("error", f"router worker failed: {exc}")
                code = 1
            finally:
                sys.stdout.flush()
                os._exit(code)
        os.close(write_fd)
        self.workers[pid] = time.monotonic()
        return pid, read_fd

    def start(self, count: int) -> bool:
        """Fork ``count`` workers; True once each reports it listens."""
        fds = [self.fork()[1] for _ in range(count)]
        deadline = time.monotonic() + READY_TIMEOUT
        ok = True
        for fd in fds:
            ok = ok and _wait_readable(fd, deadline) and os.read(fd, 1) == b"r"
            os.close(fd)
        return ok

    def signal_all(self, sig: int) -> None:
        for pid in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def reap(self) -> list[int]:
        """Collect the workers that exited; return their pids."""
        gone = []
        while self.workers:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if self.workers.pop(pid, None) is not None:
                gone.append(pid)
        return gone

    def run(self) -> int:
        watched = (*HANDLED_SIGNALS, signal.SIGCHLD)
        while True:
            info = signal.sigtimedwait(watched, 1.0)
            if info is not None and info.si_signo == signal.SIGHUP:
                self.signal_all(signal.SIGHUP)
            elif info is not None and info.si_signo != signal.SIGCHLD:
                return self.stop()
            for _ in self.reap():  # on SIGCHLD, and once a second in case one was merged
                _say("warning", "a router worker exited; starting another")
                time.sleep(RESPAWN_DELAY)  # a worker that dies at once must not spin
                self.start(1)

    def stop(self) -> int:
        self.signal_all(signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_GRACE + 2.0
        while self.workers and time.monotonic() < deadline:
            self.reap()
            if self.workers:
                signal.sigtimedwait((signal.SIGCHLD,), 0.05)
        self.signal_all(signal.SIGKILL)
        while self.workers:
            pid, _ = os.waitpid(-1, 0)
            self.workers.pop(pid, None)
        return 0


def _wait_readable(fd: int, deadline: float) -> bool:
    left = deadline - time.monotonic()
    return left > 0 and bool(select.select([fd], [], [], left)[0])


def _say(event: str, message: str = "", **fields: str | bool) -> None:
    """Write one event line straight to stdout (outside a worker's buffered writer)."""
    line = event_line(event, message=message, **fields) if message else event_line(event, **fields)
    deadline = time.monotonic() + 2.0
    while True:
        try:
            os.write(sys.stdout.fileno(), line)
            return
        except BlockingIOError:  # a worker made the shared pipe non-blocking and it is full
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)


def main(environ: dict[str, str] | None = None, *, compiled: bool = False) -> int:
    """Run the router until SIGTERM; return the exit status.

    ``compiled`` says whether ``native.activate()`` put the compiled build in use; it is announced
    with the address, and a router that wanted it but runs interpreted says so in a warning.
    """
    block_signals()
    try:
        settings = Settings.from_environ(environ)
    except TwelveError as exc:
        _say("error", str(exc))
        return 1
    try:
        holder = _socket_for(settings.router_bind, listen=False)
    except OSError as exc:
        _say("error", f"cannot bind {settings.router_bind}: {exc.strerror or exc}")
        return 1
    if settings.router_compiled and not compiled:
        _say("warning", INTERPRETED)
    if settings.router_sched_batch and (why := yield_to_apps()) is not None:
        _say("warning", f"the router keeps the default scheduling policy: {why}")
    host, port = holder.getsockname()[:2]
    bind = Bind(settings.router_bind.host, port)
    address = str(Bind(host, port))
    tls_holder = tls = None
    events = [("listening", address)]
    try:
        if settings.router_tls_bind is not None:
            try:
                tls_holder = _socket_for(settings.router_tls_bind, listen=False)
            except OSError as exc:
                _say("error", f"cannot bind {settings.router_tls_bind}: {exc.strerror or exc}")
                return 1
            tls_host, tls_port = tls_holder.getsockname()[:2]
            tls = _Tls(Bind(settings.router_tls_bind.host, tls_port), self_signed())
            events.insert(0, ("listening_tls", str(Bind(tls_host, tls_port))))
        if settings.router_workers <= 1:

            def announce(log: LineWriter) -> None:
                for event, where in events:
                    log.write(event_line(event, address=where, compiled=compiled))
                log.flush()

            _run_worker(settings, bind, announce, tls)
            return 0
        master = _Master(settings, bind, tls)
        if not master.start(settings.router_workers):
            _say("error", "router workers did not start")
            master.stop()
            return 1
        for event, where in events:
            _say(event, address=where, compiled=compiled)
        return master.run()
    finally:
        holder.close()
        if tls_holder is not None:
            tls_holder.close()
