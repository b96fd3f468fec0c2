"""One-off processes: attached over a WebSocket (a terminal, or stdin, stdout and stderr apart),
streamed as NDJSON, or detached; and ``ps:stop``.

The WebSocket (``GET /apps/{app}/run`` upgraded; query: ``command``, ``tty=1``, ``rows``,
``cols``, ``term``, ``env`` as a JSON object) speaks in frames. The server's text frames are
events (``{"event": "started", "name"}``, then ``{"event": "done", "exit_code"}`` or
``{"event": "error", ...}``); its binary frames are output, the first byte the stream (1 stdout,
2 stderr). The caller's binary frames are stdin; its text frames are ``{"resize": [rows, cols]}``
and ``{"eof": true}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.websockets import WebSocket

from twelve.api.body import json_body
from twelve.api.context import Platform
from twelve.api.errors import error_body, status_for
from twelve.api.relay import FdStream
from twelve.api.routing import Routes
from twelve.api.streaming import ndjson
from twelve.appspec.names import validate_config_key
from twelve.errors import Conflict, NotFound, TwelveError, UsageError
from twelve.store import Release
from twelve.supervisor.oneoffs import ATTACHED, DETACHED, OneOff
from twelve.supervisor.stdio import set_window

routes = Routes()


STDOUT, STDERR = 1, 2
OUTPUT_AFTER_EXIT = 2.0  # a grandchild holding the output open is not waited for longer
_background: set[asyncio.Task[Any]] = set()
_TERM = re.compile(r"^[A-Za-z0-9._+-]{1,64}$")  # the caller's terminal type, as a name only


def _platform(conn: Request | WebSocket) -> Platform:
    value = conn.app.state.platform
    assert isinstance(value, Platform)
    return value


def _release(p: Platform, app: str) -> Release:
    p.store.apps.get(app)
    release = p.store.releases.current(app)
    if release is None or release.slug_dir is None:
        raise Conflict(f"{app} has no release to run in", "deploy it first")
    return release


def _command(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError("run needs a command", "twelve run -a APP -- COMMAND")
    return value


def _env(value: object) -> dict[str, str]:
    """``run --env``: variables for this run only, over the release's config."""
    if value in (None, "", {}):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise UsageError("env must be a JSON object of NAME: value") from None
    if not isinstance(value, dict):
        raise UsageError("env must be an object of NAME: value")
    env = {}
    for name, text in value.items():
        validate_config_key(str(name))
        if not isinstance(text, str) or "\x00" in text:
            raise UsageError(f"env {name} must be a string an environment can hold")
        env[str(name)] = text
    return env


def _size(value: str | None, default: int) -> int:
    try:
        return max(1, min(int(value or default), 0xFFFF))
    except ValueError:
        return default


def _keep(task: asyncio.Task[Any]) -> None:
    _background.add(task)
    task.add_done_callback(_background.discard)


def let_go(p: Platform, oneoff: OneOff, why: str, ended: str | None) -> None:
    """Its caller is gone: killed now when its access was revoked, else after the grace (while
    its output is read and dropped, so it does not block on a full pipe)."""
    oneoffs = p.supervisor.oneoffs
    if ended is not None:
        p.event(oneoff.app, oneoff.name, f"Stopping: {ended}")
        _keep(asyncio.create_task(oneoffs.stop(oneoff, ended)))
    else:
        oneoffs.stop_later(oneoff, p.settings.run_disconnect_grace, why)


# -- attached, over a WebSocket --------------------------------------------------------------------


@routes.websocket("/apps/{app}/run")
async def attach(websocket: WebSocket) -> None:
    p = _platform(websocket)
    app = websocket.path_params["app"]
    query = websocket.query_params
    tty = query.get("tty") == "1"
    try:
        command = _command(query.get("command"))
        release = _release(p, app)
        name = p.supervisor.oneoffs.next_name(app, ATTACHED)
        size = (_size(query.get("rows"), 24), _size(query.get("cols"), 80))
        term = query.get("term", "")
        env = _env(query.get("env"))
        oneoff = await p.supervisor.oneoffs.start(
            release, command, name, ATTACHED, stdio="tty" if tty else "pipes", size=size,
            term=term if _TERM.match(term) else None, env_extra=env,
        )  # fmt: skip
    except TwelveError as exc:
        await websocket.send_denial_response(JSONResponse(error_body(exc), status_for(exc)))
        return
    p.event(app, name, f"Starting process with command `{command}` (attached)")
    session = Session(websocket, oneoff, tty)
    try:
        await websocket.accept()
        await websocket.send_text(json.dumps({"event": "started", "name": name}))
        await session.run()
    finally:
        if oneoff.running.returncode is None:
            ended = websocket.scope.get("twelve.ended")
            let_go(p, oneoff, "its connection was closed", ended)
            _keep(asyncio.create_task(session.drain_and_close()))
        else:
            session.close()


class Session:
    """One attached one-off's streams and its caller's WebSocket."""

    def __init__(self, websocket: WebSocket, oneoff: OneOff, tty: bool) -> None:
        self.websocket = websocket
        self.oneoff = oneoff
        self.tty = tty
        self.streams = [FdStream(fd) for fd in oneoff.fds]
        self.stdin = self.streams[0]
        self.outputs = [(self.streams[0], STDOUT)] if tty else [
            (self.streams[1], STDOUT), (self.streams[2], STDERR)
        ]  # fmt: skip
        self.caller_gone = False

    async def run(self) -> None:
        pumps = [asyncio.create_task(self._pump(s, channel)) for s, channel in self.outputs]
        reader = asyncio.create_task(self._from_caller())
        exited = asyncio.ensure_future(self.oneoff.running.wait())
        try:
            await asyncio.wait({reader, exited}, return_when=asyncio.FIRST_COMPLETED)
            if not exited.done():
                return  # the caller went away first
            code = exited.result()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*pumps), OUTPUT_AFTER_EXIT)
            done = {"event": "done", "exit_code": code, "name": self.oneoff.name}
            await self._send(text=json.dumps(done))
            with contextlib.suppress(Exception):
                await self.websocket.close()
        finally:
            for task in (*pumps, reader, exited):
                task.cancel()

    async def _pump(self, stream: FdStream, channel: int) -> None:
        while chunk := await stream.read():
            await self._send(data=bytes((channel,)) + chunk)

    async def _send(self, *, data: bytes | None = None, text: str | None = None) -> None:
        if self.caller_gone:
            return
        try:
            if data is not None:
                await self.websocket.send_bytes(data)
            else:
                await self.websocket.send_text(text or "")
        except Exception:  # the caller went away: the output is dropped from now on
            self.caller_gone = True

    async def _from_caller(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                self.caller_gone = True
                return
            if message.get("bytes") is not None:
                try:
                    await self.stdin.write(message["bytes"])
                except OSError:  # the command closed its stdin (head -c 10): the rest is dropped
                    if not self.tty:
                        self.stdin.close()
            elif message.get("text"):
                self._control(message["text"])

    def _control(self, text: str) -> None:
        try:
            event = json.loads(text)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        resize = event.get("resize")
        if self.tty and isinstance(resize, list) and len(resize) == 2:
            with contextlib.suppress(OSError, TypeError, ValueError):
                set_window(self.stdin.fd, int(resize[0]), int(resize[1]))
        if event.get("eof"):
            if self.tty:
                _keep(
                    asyncio.create_task(self.stdin.write(b"\x04"))
                )  # Ctrl-D, as a terminal has it
            else:
                self.stdin.close()

    async def drain_and_close(self) -> None:
        """Read and drop the output until the process ends, then close the streams."""
        self.caller_gone = True
        try:
            await asyncio.gather(*(self._pump(s, c) for s, c in self.outputs), self._exit())
        finally:
            self.close()

    async def _exit(self) -> None:
        await self.oneoff.running.wait()

    def close(self) -> None:
        for stream in self.streams:
            stream.close()


# -- streamed (NDJSON) and detached ----------------------------------------------------------------


@routes.post("/apps/{app}/run")
async def run(request: Request) -> Response:
    """Body: ``{"command": "...", "detached": false}``. Attached: the output as NDJSON, then
    ``done`` with the exit code. Detached: ``{"name": "run.N"}`` at once; the output goes to the
    app's log."""
    p = _platform(request)
    app = request.path_params["app"]
    body = await json_body(request)
    command = _command(body.get("command"))
    env = _env(body.get("env"))
    release = _release(p, app)
    oneoffs = p.supervisor.oneoffs
    if body.get("detached"):
        name = oneoffs.next_name(app, DETACHED)
        await oneoffs.start(release, command, name, DETACHED, env_extra=env)
        p.event(app, name, f"Starting process with command `{command}` (detached)")
        return JSONResponse({"name": name, "command": command, "release": release.version})
    name = oneoffs.next_name(app, ATTACHED)
    queue: asyncio.Queue[str] = asyncio.Queue()
    oneoff = await oneoffs.start(
        release, command, name, ATTACHED, also=queue.put_nowait, env_extra=env
    )
    p.event(app, name, f"Starting process with command `{command}` by user")
    return StreamingResponse(_stream(p, request, oneoff, queue), media_type="application/x-ndjson")


async def _stream(p: Platform, request: Request, oneoff: OneOff, queue: asyncio.Queue[str]) -> Any:
    try:
        finished: asyncio.Future[int | None] = asyncio.ensure_future(
            asyncio.shield(oneoff.finished)
        )
        while True:
            line: asyncio.Future[str] = asyncio.ensure_future(queue.get())
            waiting: list[asyncio.Future[Any]] = [line, finished]
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not line.done():
                line.cancel()
                break
            yield ndjson({"event": "output", "line": line.result()})
        while not queue.empty():
            yield ndjson({"event": "output", "line": queue.get_nowait()})
        yield ndjson({"event": "done", "exit_code": finished.result(), "name": oneoff.name})
    finally:
        if not oneoff.finished.done():
            let_go(p, oneoff, "its connection was closed", request.scope.get("twelve.ended"))


@routes.post("/apps/{app}/ps/stop")
async def stop(request: Request) -> JSONResponse:
    """Body: ``{"process": "run.N"}``: SIGTERM, then SIGKILL after the stop timeout."""
    p = _platform(request)
    app = request.path_params["app"]
    p.store.apps.get(app)
    body = await json_body(request)
    name = body.get("process")
    if not isinstance(name, str) or not name:
        raise UsageError("ps:stop needs a process such as run.1", "twelve ps:stop -a APP run.1")
    oneoff = p.supervisor.oneoffs.get(app, name)
    if oneoff is None:
        if any(proc.spec.name == name for proc in p.supervisor.processes(app)):
            raise UsageError(
                f"{name} is part of the formation: stopping it would only restart it",
                f"scale its type down with 'twelve ps:scale -a {app} TYPE=N'",
            )
        raise NotFound(f"{app} has no one-off process {name}", f"see 'twelve ps -a {app}'")
    p.event(app, name, "Stopping: ps:stop")
    await p.supervisor.oneoffs.stop(oneoff, "ps:stop")
    code = await asyncio.shield(oneoff.finished)
    return JSONResponse({"stopped": name, "exit_code": code})
