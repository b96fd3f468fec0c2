"""One-offs started by a supervisor without a keeper (tools and tests that compose the platform):
an attached one's streams are the caller's, a detached one's output goes to the app's log, and a
caller that goes away leaves it the grace before it is stopped."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from twelve.compose import compose
from twelve.settings import Settings
from twelve.store import Release
from twelve.supervisor.oneoffs import ATTACHED, DETACHED, OneOffs
from twelve.supervisor.stdio import set_window


def release(tmp_path: Path) -> Release:
    slug = tmp_path / "slug"
    (slug / "app").mkdir(parents=True)
    (slug / "app" / "hello.txt").write_text("from the slug\n")
    return Release(
        "oo-local", 1, None, {"GREETING": "hi"}, {}, "test", time.time(), None, str(slug)
    )


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


async def scenario(tmp_path: Path) -> None:
    settings = Settings.from_environ({"TWELVE_HOME": str(tmp_path / "home")})
    graph = compose(settings, "token", path="")
    oneoffs: OneOffs = graph.supervisor.oneoffs
    lines: list[str] = []
    oneoffs.on_line = lambda _app, _name, text, _stamp: lines.append(text)
    rel = release(tmp_path)
    try:
        piped = await oneoffs.start(
            rel, "cat hello.txt -; echo $GREETING >&2", "run.1", ATTACHED, stdio="pipes"
        )
        stdin, stdout, stderr = piped.fds
        os.write(stdin, b"typed\n")
        os.close(stdin)
        assert await asyncio.wait_for(asyncio.shield(piped.finished), 10) == 0
        assert await asyncio.to_thread(read_all, stdout) == b"from the slug\ntyped\n"
        assert await asyncio.to_thread(read_all, stderr) == b"hi\n"
        for fd in (stdout, stderr):
            os.close(fd)

        tty = await oneoffs.start(
            rel, "read x; stty size; exit 4", "run.2", ATTACHED, stdio="tty", size=(20, 70)
        )
        (master,) = tty.fds
        set_window(master, 21, 71)
        os.write(master, b"go\n")
        assert await asyncio.wait_for(asyncio.shield(tty.finished), 10) == 4
        assert b"21 71" in await asyncio.to_thread(read_all, master)
        os.close(master)

        detached = await oneoffs.start(rel, "echo to the log", "run.3", DETACHED)
        assert await asyncio.wait_for(asyncio.shield(detached.finished), 10) == 0
        assert "to the log" in lines

        left = await oneoffs.start(rel, "sleep 60", "run.4", ATTACHED, stdio="pipes")
        assert [o.name for o in oneoffs.of_app("oo-local")] == ["run.4"]
        oneoffs.stop_later(left, 0.3, "its connection was closed")
        await asyncio.sleep(0.1)
        assert left.running.returncode is None  # still within the grace
        assert await asyncio.wait_for(asyncio.shield(left.finished), 10) == -15
        assert left.ended_by == "its connection was closed"
        assert oneoffs.of_app("oo-local") == []
        for fd in left.fds:
            os.close(fd)
    finally:
        await graph.supervisor.stop_all()
        graph.store.close()


def test_one_offs_without_a_keeper(tmp_path: Path) -> None:
    asyncio.run(scenario(tmp_path))
