"""The access log writer on a real pipe whose reader falls behind."""

from __future__ import annotations

import asyncio
import json
import os

from twelve.router.accesslog import MAX_BUFFERED, LineWriter
from twelve.router.hotpath import INFO, access_line_py


def _line(n: int) -> bytes:
    return access_line_py(
        b'"hello"', INFO, b"GET", b"/%d" % n, b"hello.localhost", b"%d" % n, b"127.0.0.1",
        b"web.1", 0, 1, 200, 10,
    )  # fmt: skip


def test_a_reader_that_stops_reading_costs_lines_never_a_stall():
    """Writes to a full pipe return at once; lines past the buffer are dropped, counted and reported."""
    read_fd, write_fd = os.pipe()
    try:
        writer = LineWriter(write_fd)
        line_size = len(_line(0))
        count = (MAX_BUFFERED + (1 << 20)) // line_size
        for n in range(count):
            writer.write(_line(n))  # nobody reads: this must still return every time
        assert writer.dropped > 0

        received = b""
        os.set_blocking(read_fd, False)
        while True:
            try:
                received += os.read(read_fd, 1 << 16)
            except BlockingIOError:
                writer.flush()
                try:
                    received += os.read(read_fd, 1 << 16)
                except BlockingIOError:
                    break
        lines = [json.loads(raw) for raw in received.splitlines()]
        requests = [line for line in lines if "line" in line]
        dropped = [line for line in lines if line.get("event") == "dropped"]
        assert dropped and dropped[0]["lines"] == writer.dropped
        assert len(requests) + writer.dropped == count
        numbers = [int(r["line"].split("request_id=")[1].split()[0]) for r in requests]
        assert numbers == sorted(numbers)  # whole lines, in order
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_file_gets_a_whole_buffer_of_lines_in_one_flush(tmp_path):
    """With output to a file (the router's stdout redirected), one flush writes every line whole."""
    path = tmp_path / "router.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    loop = asyncio.new_event_loop()
    try:
        writer = LineWriter(fd, loop)
        count = size = 0
        while size + len(_line(count)) <= MAX_BUFFERED:  # as many lines as the buffer holds
            size += len(_line(count))
            count += 1
        for n in range(count):
            writer.write(_line(n))  # buffered: the flush is only scheduled on the (idle) loop
        assert path.stat().st_size == 0 and writer.dropped == 0
        writer.flush()
        assert path.stat().st_size == size
    finally:
        loop.close()
        os.close(fd)
    lines = [json.loads(raw) for raw in path.read_bytes().splitlines()]
    assert [int(r["line"].split("request_id=")[1].split()[0]) for r in lines] == list(range(count))
