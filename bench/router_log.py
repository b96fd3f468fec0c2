"""The daemon's CPU per router access line, against a reader that only splits the same bytes.

    .venv/bin/python bench/router_log.py [--lines 200000] [--repeat 3]

A child process writes N access lines, as the router formats them, to a pipe, in the router's
64 KiB flushes. Measured in one run, each the best of ``--repeat``:

* floor: the pipe read in large pieces and split into lines, nothing else;
* daemon: the same pipe read by ``RouterProcess``, as ``twelve server`` reads its router: each
  line parsed and published into the app's log stream, and the journal written to disk.

The figure that matters is the daemon's CPU per line (every request through the router is one),
printed with its ratio to the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from twelve.daemon import RouterProcess
from twelve.logs.capture import read_lines
from twelve.logs.hub import LogHub
from twelve.router.hotpath import INFO, access_line_py
from twelve.settings import Settings
from twelve.store import Store
from twelve.store.secrets import Cipher

LINE = access_line_py(
    b'"hello"', INFO, b"GET", b"/items?page=2", b"hello.localhost",
    b"6321dbcf-c2ac-4233-a6f6-00005789c269", b"203.0.113.7", b"web.1", 0, 3, 200, 1482,
)  # fmt: skip
CHILD = """
import sys
line, n = sys.argv[1].encode() + b"\\n", int(sys.argv[2])
batch = line * max(1, 65536 // len(line))
per = len(batch) // len(line)
for _ in range(n // per):
    sys.stdout.buffer.write(batch)
sys.stdout.buffer.write(line * (n % per))
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(lines: int, read: Callable[[asyncio.StreamReader], Awaitable[int]]) -> float:
    """CPU seconds of this process (all its threads) to take ``lines`` lines off the pipe."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, LINE.decode().rstrip("\n"), str(lines),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    before = cpu_seconds()
    seen = await read(child.stdout)
    await child.wait()
    spent = cpu_seconds() - before
    if seen != lines:
        raise SystemExit(f"read {seen} lines of {lines}")
    return spent


async def floor(reader: asyncio.StreamReader) -> int:
    count = 0

    def on_line(_: bytes) -> None:
        nonlocal count
        count += 1

    await read_lines(reader, on_line)
    return count


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_environ({"TWELVE_HOME": tmp})
        settings.home.mkdir(parents=True, exist_ok=True)
        store = Store(settings.store_path, Cipher.from_home(settings.home, None, None))
        async with LogHub(Path(tmp) / "logs", 256 << 20, 2) as hub:
            router = RouterProcess(settings, store.processes, hub)

            async def daemon(reader: asyncio.StreamReader) -> int:
                first = hub.last_cursor("hello")
                await read_lines(reader, router.handle_line)
                hub.journal("hello")  # every published line written to disk
                return hub.last_cursor("hello") - first

            best_floor = min([await measure(args.lines, floor) for _ in range(args.repeat)])
            best_daemon = min([await measure(args.lines, daemon) for _ in range(args.repeat)])
    per_line = best_daemon / args.lines * 1e6
    print(f"{args.lines} access lines, best of {args.repeat}, CPU of the reading process")
    print(f"floor (split only):  {best_floor / args.lines * 1e6:6.2f} us per line")
    print(
        f"daemon:              {per_line:6.2f} us per line  {best_daemon / best_floor:.1f}x floor"
    )
    print(f"at 50,000 requests/s the daemon spends {per_line * 0.05:.2f} of a core on router lines")


if __name__ == "__main__":
    asyncio.run(main())
