"""The compiled build's C functions refuse arguments of the wrong kind with an exception.

A C function that trusts what Python hands it reads memory it must not when given something else:
an internal table built another way, a list holding a str. Each case runs in a child process,
so a crash fails the test that caused it, with the last case named, instead of ending pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from support import native_module_path, require_native_build

# Each case: a name, then an expression over ``hotpath`` and ``streams`` (the C modules), ``table``
# (a header_table), ``poller`` (a Poller on a real loop) and ``Loop`` (an object with call_soon),
# that must raise one of TypeError, ValueError, OverflowError or RuntimeError.
CASES = {
    "access_line: too few arguments": "hotpath.access_line(*LINE[:-1])",
    "access_line: str for bytes": "hotpath.access_line('x', *LINE[1:])",
    "access_line: bytearray for bytes": "hotpath.access_line(*LINE[:3], bytearray(b'/'), *LINE[4:])",
    "access_line: float for int": "hotpath.access_line(*LINE[:-1], 1.5)",
    "access_line: an int past 64 bits": "hotpath.access_line(*LINE[:-1], 2**80)",
    "upstream_head: a tuple for parts": "hotpath.upstream_head(tuple(PARTS), *HEAD)",
    "upstream_head: None for parts": "hotpath.upstream_head(None, *HEAD)",
    "upstream_head: a str among parts": "hotpath.upstream_head([*PARTS[:5], 'v'], *HEAD)",
    "upstream_head: an int among parts": "hotpath.upstream_head([1, *PARTS[1:]], *HEAD)",
    "upstream_head: an odd part": "hotpath.upstream_head(PARTS[:5], *HEAD)",
    "upstream_head: no request line": "hotpath.upstream_head(PARTS[:2], *HEAD)",
    "upstream_head: str start": "hotpath.upstream_head(PARTS, *HEAD[:3], '1', HEAD[4])",
    "upstream_head: too many arguments": "hotpath.upstream_head(PARTS, *HEAD, b'')",
    "line_version: str": "hotpath.line_version('GET / HTTP/1.1\\r\\n')",
    "line_version: None": "hotpath.line_version(None)",
    "header_table: a list": "hotpath.header_table([(b'host', 1)])",
    "header_table: str names": "hotpath.header_table({'host': 1})",
    "header_kind: a dict for the table": "hotpath.header_kind(b'Host', {b'host': 1}, 0)",
    "header_kind: a tuple of non-pairs": "hotpath.header_kind(b'Host', (1, 2), 0)",
    "header_kind: pairs with int names": "hotpath.header_kind(b'Host', ((1, 2),), 0)",
    "header_kind: a str name": "hotpath.header_kind('Host', table, 0)",
    "header_kind: two arguments": "hotpath.header_kind(b'Host', table)",
    "header_table: made by hand": "hotpath.HeaderTable()",
    "plain_response: str": "hotpath.plain_response('HTTP/1.1 200 OK\\r\\n\\r\\n')",
    "plain_response: memoryview": "hotpath.plain_response(memoryview(b'HTTP/1.1 200 OK'))",
    "Poller: no loop": "streams.Poller()",
    "Poller: a loop without call_soon": "streams.Poller(object())",
    "Poller: call_soon not callable": "streams.Poller(type('L', (), {'call_soon': 1})())",
    "Poller: set up twice": "poller.__init__(Loop())",
    "Poller: never set up": "streams.Poller.__new__(streams.Poller).connect(*CONNECT)",
    "Stream: made by hand": "streams.Stream()",
    "connect: too few arguments": "poller.connect(*CONNECT[:3])",
    "connect: bytes host": "poller.connect(b'127.0.0.1', *CONNECT[1:])",
    "connect: int host": "poller.connect(2130706433, *CONNECT[1:])",
    "connect: a NUL in the host": "poller.connect('127.0.0.1\\x00x', *CONNECT[1:])",
    "connect: a name for the host": "poller.connect('localhost', *CONNECT[1:])",
    "connect: str port": "poller.connect(CONNECT[0], '80', *CONNECT[2:])",
    "connect: float port": "poller.connect(CONNECT[0], 80.0, *CONNECT[2:])",
    "connect: negative port": "poller.connect(CONNECT[0], -1, *CONNECT[2:])",
    "connect: port past 65535": "poller.connect(CONNECT[0], 65536, *CONNECT[2:])",
    "connect: port past 64 bits": "poller.connect(CONNECT[0], 2**80, *CONNECT[2:])",
    "connect: str early bytes": "poller.connect(*CONNECT, 'GET')",
}

_CHILD = textwrap.dedent(
    """
    import asyncio, importlib.machinery, importlib.util, sys

    def load(name, path):
        loader = importlib.machinery.ExtensionFileLoader(name, path)
        spec = importlib.util.spec_from_file_location(name, path, loader=loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        return module

    hotpath = load("twelve.router._hotpath", sys.argv[1])
    streams = load("twelve.router._streams", sys.argv[2])
    LINE = (b'"a"', b"at=info", b"GET", b"/", b"h", b"r", b"f", b"d", 0, 0, 200, 0)
    PARTS = [b"GET", b" ", b"/", b" HTTP/1.1\\r\\n", b"Host", b"h"]
    HEAD = (b"", b"h", b"r", 1, b"\\r\\n")
    CONNECT = ("127.0.0.1", 9, object(), object())
    table = hotpath.header_table({b"host": 1})
    Loop = lambda: type("L", (), {"call_soon": lambda self, *a: None})()
    loop = asyncio.new_event_loop()
    poller = streams.Poller(loop)
    for name, expression in CASES.items():
        print(name, flush=True)
        try:
            eval(expression)
        except (TypeError, ValueError, OverflowError, RuntimeError) as exc:
            print("refused:", type(exc).__name__, exc, flush=True)
        else:
            print("accepted", flush=True)
    poller.close()
    loop.close()
    """
)


def _module_path(name: str) -> str:
    return str(native_module_path(name))


def _run_child(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )


def test_every_c_function_refuses_arguments_of_the_wrong_kind_with_an_exception():
    """A wrong table, a str among bytes or an unusable loop raise; none crashes the process."""
    require_native_build()
    script = f"CASES = {CASES!r}\n{_CHILD}"
    done = _run_child(script, _module_path("_hotpath"), _module_path("_streams"))
    lines = done.stdout.splitlines()
    assert done.returncode == 0, (
        f"crashed after {lines[-1:]} (exit {done.returncode}):\n{done.stderr[-2000:]}"
    )
    outcomes = dict(zip(lines[::2], lines[1::2], strict=True))
    accepted = [name for name, outcome in outcomes.items() if not outcome.startswith("refused")]
    assert accepted == []
    assert list(outcomes) == list(CASES)


@pytest.mark.parametrize("owner", ["a loop-like object", "an asyncio loop's reader"])
def test_a_poller_left_in_a_reference_cycle_is_collected_and_its_epoll_set_closed(owner):
    """A worker's poller and its loop refer to each other: once both are dropped, the garbage
    collector frees them and the epoll file descriptor is closed, not leaked."""
    require_native_build()
    script = textwrap.dedent(
        """
        import asyncio, gc, importlib.machinery, importlib.util, os, sys
        loader = importlib.machinery.ExtensionFileLoader("twelve.router._streams", sys.argv[1])
        spec = importlib.util.spec_from_file_location(loader.name, sys.argv[1], loader=loader)
        streams = importlib.util.module_from_spec(spec)
        loader.exec_module(streams)
        gc.disable()
        if sys.argv[2] == "a loop-like object":
            class Loop:
                def call_soon(self, *args):
                    pass
            loop = Loop()
            loop.poller = streams.Poller(loop)
        else:
            loop = asyncio.new_event_loop()
            poller = streams.Poller(loop)
            loop.add_reader(poller.fileno(), poller.poll)
            loop.keep = poller
            del poller
        fd = loop.keep.fileno() if hasattr(loop, "keep") else loop.poller.fileno()
        print(gc.is_tracked(loop.keep if hasattr(loop, "keep") else loop.poller))
        assert os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[eventpoll]"
        del loop
        gc.collect()
        try:
            print(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:
            print("closed")
        """
    )
    done = _run_child(script, _module_path("_streams"), owner)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "closed"]
