"""Every byte a real process writes to its pipe becomes log messages, promptly and in order."""

import asyncio
import os
import signal
import sys

from twelve.logs.capture import capture_output, read_lines
from twelve.logs.line import MAX_LINE_BYTES


async def run_child(code: str, flush_after: float = 0.2) -> tuple[list[str], list[str]]:
    """Run ``code`` in a child; return its messages and what was emitted while it still ran."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert child.stdout is not None and child.stdin is not None
    messages: list[str] = []
    try:
        async with asyncio.timeout(20):
            capture = asyncio.create_task(
                capture_output(child.stdout, messages.append, flush_after)
            )
            return await _drive(child, capture, messages)
    finally:
        if child.returncode is None:
            os.killpg(child.pid, signal.SIGKILL)
            await child.wait()


async def _drive(
    child: asyncio.subprocess.Process, capture: asyncio.Task[None], messages: list[str]
) -> tuple[list[str], list[str]]:
    assert child.stdin is not None
    # The child blocks reading stdin until we close it: anything seen now came while it ran.
    while not messages and not capture.done():
        await asyncio.sleep(0.01)
    seen_while_running = list(messages)
    child.stdin.close()
    await capture
    await child.wait()
    return messages, seen_while_running


def test_a_prompt_without_newline_is_shown_while_the_process_waits() -> None:
    code = "import sys; sys.stdout.write('password: '); sys.stdout.flush(); sys.stdin.read()"
    messages, while_running = asyncio.run(run_child(code, flush_after=0.05))
    assert while_running == ["password: "]
    assert messages == ["password: "]


def test_lines_keep_their_order_and_the_last_unterminated_one_is_kept_at_exit() -> None:
    code = (
        "import sys\n"
        "for i in range(5000): sys.stdout.write(f'line {i}\\n')\n"
        "sys.stdout.write('tail'); sys.stdout.flush(); sys.stdin.read()"
    )
    messages, _ = asyncio.run(run_child(code))
    assert messages == [f"line {i}" for i in range(5000)] + ["tail"]


def test_bytes_that_are_not_utf8_are_replaced_never_dropped() -> None:
    code = (
        "import sys; sys.stdout.buffer.write(b'caf\\xc3\\xa9 \\xff\\xfe ok\\nnext\\n');"
        " sys.stdout.flush(); sys.stdin.read()"
    )
    messages, _ = asyncio.run(run_child(code))
    assert messages == ["café \ufffd\ufffd ok", "next"]


def test_a_runaway_line_is_split_into_pieces_of_at_most_10_kib() -> None:
    code = (
        "import sys; sys.stdout.write('ab' * 15000 + '\\nafter\\n'); sys.stdout.flush();"
        " sys.stdin.read()"
    )
    messages, _ = asyncio.run(run_child(code))
    assert "".join(messages[:-1]) == "ab" * 15000
    assert [len(m.encode()) for m in messages[:-1]] == [MAX_LINE_BYTES, MAX_LINE_BYTES, 9520]
    assert messages[-1] == "after"


def test_a_long_line_with_no_newline_is_emitted_as_soon_as_it_passes_the_limit() -> None:
    # 15000 bytes: one full piece goes out at once, the rest only at exit (the delay is long).
    code = "import sys; sys.stdout.write('€' * 5000); sys.stdout.flush(); sys.stdin.read()"
    messages, while_running = asyncio.run(run_child(code, flush_after=30))
    assert len(while_running[0].encode()) <= MAX_LINE_BYTES
    assert "".join(messages) == "€" * 5000
    assert "\ufffd" not in "".join(messages)


async def _read_child_lines(code: str) -> list[bytes]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE, start_new_session=True
    )
    assert child.stdout is not None
    lines: list[bytes] = []
    try:
        async with asyncio.timeout(20):
            await read_lines(child.stdout, lines.append)
            await child.wait()
    finally:
        if child.returncode is None:
            os.killpg(child.pid, signal.SIGKILL)
            await child.wait()
    return lines


def test_read_lines_gives_every_line_whole_in_order_whatever_the_pipe_cuts() -> None:
    """Lines longer than a read and lines split across writes both come out whole."""
    code = (
        "import sys, time\n"
        "out = sys.stdout.buffer\n"
        "for i in range(20000): out.write(b'line %d\\n' % i)\n"
        "out.write(b'long ' + b'x' * 100000 + b'\\n')\n"
        "out.flush(); out.write(b'half '); out.flush(); time.sleep(0.05)\n"
        "out.write(b'and the rest\\nno newline at the end')\n"
    )
    lines = asyncio.run(_read_child_lines(code))
    assert lines[:20000] == [b"line %d" % i for i in range(20000)]
    assert lines[20000:] == [
        b"long " + b"x" * 100000,
        b"half and the rest",
        b"no newline at the end",
    ]
