"""Readers of an app's stream: history then live with no gap or repeat, across daemon restarts."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from twelve.logs.filters import LogFilter
from twelve.logs.hub import LogHub
from twelve.logs.line import LogLine, make_line
from twelve.logs.subscription import Subscription


def app_line(i: int, process: str = "web.1") -> LogLine:
    return make_line("app", process, f"line {i}")


async def take(subscription: Subscription, count: int) -> list[tuple[int, LogLine]]:
    got: list[tuple[int, LogLine]] = []
    async with asyncio.timeout(10):
        async for item in subscription:
            got.append(item)
            if len(got) == count:
                break
    return got


def test_a_reader_gets_history_then_live_lines_with_no_gap_and_no_repeat(tmp_path: Path) -> None:
    async def scenario() -> list[tuple[int, LogLine]]:
        async with LogHub(tmp_path, 1 << 20, 3) as hub:
            for i in range(2500):
                hub.publish("shop", app_line(i))
            subscription = hub.subscribe("shop", after=100)

            async def keep_writing() -> None:
                for i in range(2500, 5000):
                    hub.publish("shop", app_line(i))
                    if i % 100 == 0:
                        await asyncio.sleep(0)

            writer = asyncio.create_task(keep_writing())
            got = await take(subscription, 4900)
            await writer
            subscription.close()
            return got

    got = asyncio.run(scenario())
    assert [cursor for cursor, _ in got] == list(range(101, 5001))
    assert [line.message for _, line in got] == [f"line {i}" for i in range(100, 5000)]


def test_a_reader_without_a_cursor_follows_only_new_lines_matching_its_filter(
    tmp_path: Path,
) -> None:
    async def scenario() -> list[str]:
        async with LogHub(tmp_path, 1 << 20, 3) as hub:
            hub.publish("shop", app_line(0))
            async with hub.subscribe("shop", LogFilter(ps="worker")) as subscription:
                for i in range(1, 7):
                    hub.publish("shop", app_line(i, "worker.1" if i % 2 else "web.1"))
                return [line.message for _, line in await take(subscription, 3)]

    assert asyncio.run(scenario()) == ["line 1", "line 3", "line 5"]


def test_a_slow_reader_loses_lines_and_is_told_how_many_while_publish_never_waits(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[list[tuple[int, LogLine]], list[tuple[int, LogLine]]]:
        async with LogHub(tmp_path, 1 << 20, 3, reader_buffer=10) as hub:
            subscription = hub.subscribe("shop")
            for i in range(100):  # the reader takes nothing meanwhile
                hub.publish("shop", app_line(i))
            hub.publish("shop", app_line(100))
            got = await take(subscription, 11)
            hub.publish("shop", app_line(101))
            got += await take(subscription, 1)
            subscription.close()
            return got, hub.read_last("shop", 200)

    got, journal = asyncio.run(scenario())
    assert [line.message for _, line in got[:10]] == [f"line {i}" for i in range(10)]
    cursor, notice = got[10]
    assert notice.format().endswith("twelve[logs]: 91 lines dropped for this reader")
    assert cursor == 101  # resuming after it would not repeat the lines it stands for
    assert got[11][1].message == "line 101"
    assert len(journal) == 102  # the journal lost nothing


def test_cursors_and_readers_continue_after_a_daemon_restart(tmp_path: Path) -> None:
    async def first_life() -> int:
        async with LogHub(tmp_path, 1 << 20, 3) as hub:
            for i in range(50):
                hub.publish("shop", app_line(i))
            async with hub.subscribe("shop") as live:
                hub.publish("shop", app_line(50))
                return (await take(live, 1))[0][0]  # the --tail client saw up to here

    async def second_life(seen: int) -> list[tuple[int, LogLine]]:
        async with LogHub(tmp_path, 1 << 20, 3) as hub:
            assert hub.last_cursor("shop") == 51
            for i in range(51, 55):
                hub.publish("shop", app_line(i))
            async with hub.subscribe("shop", after=seen) as resumed:
                got = await take(resumed, 4)
                hub.publish("shop", app_line(55))
                return got + await take(resumed, 1)

    seen = asyncio.run(first_life())
    assert seen == 51
    got = asyncio.run(second_life(seen))
    assert [(c, line.message) for c, line in got] == [(52 + i, f"line {51 + i}") for i in range(5)]


def test_a_reader_whose_cursor_was_rotated_away_is_told_what_it_missed(tmp_path: Path) -> None:
    size = len(app_line(100).format()) + 1

    async def scenario() -> list[tuple[int, LogLine]]:
        async with LogHub(tmp_path, size * 10, 2) as hub:
            for i in range(100, 150):
                hub.publish("shop", app_line(i))
            async with hub.subscribe("shop", after=5) as late:
                return await take(late, 21)

    got = asyncio.run(scenario())
    assert got[0][0] == 30
    assert got[0][1].message == "25 lines were rotated away before this point"
    assert [c for c, _ in got[1:]] == list(range(31, 51))


def test_lines_published_before_start_or_after_close_are_still_written(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        hub = LogHub(tmp_path, 1 << 20, 3)
        hub.publish("shop", app_line(0))
        await hub.start()
        hub.publish("shop", app_line(1))
        await hub.close()
        hub.publish("shop", app_line(2))
        reopened = LogHub(tmp_path, 1 << 20, 3)
        lines = [line.message for _, line in reopened.read_last("shop", 10)]
        await reopened.close()
        return lines

    assert asyncio.run(scenario()) == ["line 0", "line 1", "line 2"]


def test_removing_an_app_deletes_its_logs_ends_its_readers_and_spares_other_apps(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[list[tuple[int, LogLine]], int]:
        async with LogHub(tmp_path, 1 << 20, 3) as hub:
            hub.publish("shop", app_line(0))
            hub.publish("blog", app_line(0))
            reader = hub.subscribe("shop")
            await hub.remove_app("shop")
            got = [item async for item in reader]
            return got, len(hub.read_last("blog", 10))

    got, blog_lines = asyncio.run(scenario())
    assert got == []
    assert not (tmp_path / "shop").exists()
    assert blog_lines == 1


KILLED_DAEMON = """
import asyncio, sys
from pathlib import Path
from twelve.logs.hub import LogHub
from twelve.logs.line import make_line

async def main():
    hub = LogHub(Path(sys.argv[1]), 1 << 20, 3, flush_interval=3600)
    await hub.start()
    for i in range(10):
        hub.publish("shop", make_line("app", "web.1", f"line {i}"))
    hub.journal("shop")  # lines 0-9 are on disk
    async with hub.subscribe("shop") as tail:
        for i in range(10, 15):  # never written: the daemon dies first
            hub.publish("shop", make_line("app", "web.1", f"line {i}"))
        async for cursor, _ in tail:
            if cursor == 15:
                print(cursor, flush=True)
                break
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def test_cursors_a_killed_daemon_handed_out_are_never_reused(tmp_path: Path) -> None:
    """A --tail client saw cursor 15 of a line the daemon never wrote before SIGKILL."""
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_DAEMON, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None
        seen = int(child.stdout.readline())
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()

    async def restarted() -> list[tuple[int, LogLine]]:
        async with LogHub(tmp_path, 1 << 20, 3) as hub:
            hub.publish("shop", app_line(100))
            async with hub.subscribe("shop", after=seen) as resumed:
                return await take(resumed, 2)

    got = asyncio.run(restarted())
    assert seen == 15
    notice, line = got[0][1], got[1][1]
    assert notice.source == "twelve" and "without closing" in notice.message
    assert line.message == "line 100"
    assert 15 < got[0][0] < got[1][0]
