"""Coverage-guided fuzzing of the compiled build's byte work (``_hotpath.c``) against its Python
twins in ``hotpath.py``: every input goes to both, and any difference in result or in the kind of
exception raised, or a crash, stops the run with the input that caused it.

    .venv/bin/python tests/fuzz/hotpath.py [-max_total_time=60] [libFuzzer options] [corpus dirs]

Run by ``scripts/fuzz`` in CI, under the sanitized build when ``TWELVE_ROUTER_SANITIZED=1`` (then
AddressSanitizer also stops it at the first bad read or write). Coverage comes from the Python
twins, which atheris instruments: gcc builds the C without libFuzzer's counters. So the inputs
are built from the pieces of HTTP messages the twins branch on, not from bytes alone.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import atheris

from twelve.router import native
from twelve.settings import Settings

with atheris.instrument_imports():
    from twelve.router import hotpath, messages

INT64 = (-(2**63), 2**63 - 1)
VERSIONS = (b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.2", b"HTTP/2.0", b"http/1.1", b"HTTP/1.", b"")
NAMES = (
    b"Content-Length", b"content-length", b"CONTENT-LENGTH", b"Transfer-Encoding", b"Connection",
    b"Keep-Alive", b"Upgrade", b"TE", b"Trailer", b"Proxy-Connection", b"Host", b"X-A",
    b"Content-Length ", b"Content_Length", b"",
)  # fmt: skip
ENDINGS = (b"\r\n", b"\n", b"\r", b"\r\r\n", b" \r\n")


def load_c_module() -> ModuleType:
    """``_hotpath`` of the compiled build of these sources (the sanitized one when asked)."""
    sanitized = Settings.from_environ().router_sanitized
    if not native.built(sanitized):
        raise SystemExit("fuzz: no compiled router build (python -m twelve.router.native)")
    path = sorted((native.build_dir(sanitized) / "twelve" / "router").glob("_hotpath.*.so"))[0]
    loader = importlib.machinery.ExtensionFileLoader("twelve.router._hotpath", str(path))
    spec = importlib.util.spec_from_file_location(loader.name, path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class Mismatch(AssertionError):
    """The C function and its Python twin disagreed on one input."""


def outcome(function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
    """What a call gives: its result, or the kind of exception it raised."""
    try:
        return "result", function(*args)
    except (TypeError, ValueError, OverflowError) as exc:
        return "raised", type(exc).__name__


def chooser(fdp: atheris.FuzzedDataProvider) -> Callable[[tuple[bytes, ...]], bytes]:
    """Picks one of a few byte strings, as the input says."""
    return lambda options: options[fdp.ConsumeIntInRange(0, len(options) - 1)]


def response(fdp: atheris.FuzzedDataProvider) -> bytes:
    """A response head built from the pieces a parser decides on, with fuzzed bytes between."""
    pick = chooser(fdp)
    status = fdp.ConsumeIntInRange(0, 1000)
    head = pick(VERSIONS) + pick((b" ", b"", b"  ")) + b"%03d" % status
    head += pick((b"", b" OK", b" ", b" \x7f", b"\tOK")) + fdp.ConsumeBytes(
        fdp.ConsumeIntInRange(0, 3)
    )
    head += pick(ENDINGS)
    for _ in range(fdp.ConsumeIntInRange(0, 5)):
        value = pick((b"%d" % fdp.ConsumeIntInRange(0, 10**20), b"chunked", b"close", b""))
        value = pick((b"", b" ", b"\t")) + value + pick((b"", b" ", b"\t", b"x", b"\x00"))
        head += pick(NAMES) + pick((b":", b": ", b" :", b"")) + value + pick(ENDINGS)
    head += pick(ENDINGS) + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 16))
    return head[: fdp.ConsumeIntInRange(0, len(head))] if fdp.ConsumeBool() else head


def request_line(fdp: atheris.FuzzedDataProvider) -> bytes:
    """A request line's pieces in a fuzzed order and spacing, or raw bytes."""
    if fdp.ConsumeBool():
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 40))
    pick = chooser(fdp)
    line = pick((b"GET", b"POST", b"")) + pick((b" ", b"", b"  ")) + pick((b"/", b"/a", b""))
    line += pick((b" ", b"", b"\t")) + pick(VERSIONS) + pick(ENDINGS)
    return line + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 8))


def field(fdp: atheris.FuzzedDataProvider) -> bytes:
    return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 3000 if fdp.ConsumeBool() else 12))


def number(fdp: atheris.FuzzedDataProvider) -> int:
    return fdp.ConsumeIntInRange(*INT64) if fdp.ConsumeBool() else fdp.ConsumeIntInRange(-9, 999)


class Harness:
    """One input: a function picked by the first byte, its arguments from the rest."""

    def __init__(self, c_module: ModuleType) -> None:
        self.c = c_module
        self.c_table = c_module.header_table(messages.REQUEST_HEADERS)
        self.py_table = hotpath.header_table_py(messages.REQUEST_HEADERS)

    def __call__(self, data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        which = fdp.ConsumeIntInRange(0, 4)
        if which == 0:
            self.same("plain_response", (response(fdp),))
        elif which == 1:
            self.same("line_version", (request_line(fdp),))
        elif which == 2:
            name = chooser(fdp)(NAMES) if fdp.ConsumeBool() else field(fdp)
            ours = self.c.header_kind(name, self.c_table, -1)
            theirs = hotpath.header_kind_py(name, self.py_table, -1)
            if ours != theirs:
                raise Mismatch(f"header_kind({name!r}): C {ours!r}, Python {theirs!r}")
        elif which == 3:
            count = fdp.ConsumeIntInRange(0, 12)
            parts = [field(fdp) for _ in range(count)]
            tail = (field(fdp), field(fdp), field(fdp), number(fdp), field(fdp))
            self.same("upstream_head", (parts, *tail))
        else:
            texts = tuple(field(fdp) for _ in range(8))
            self.same("access_line", (*texts, *(number(fdp) for _ in range(4))))

    def same(self, name: str, args: tuple[Any, ...]) -> None:
        ours = outcome(getattr(self.c, name), args)
        theirs = outcome(getattr(hotpath, f"{name}_py"), args)
        if ours != theirs:
            raise Mismatch(f"{name}{args!r}:\n  C      {ours!r}\n  Python {theirs!r}")


def main() -> None:
    atheris.Setup(sys.argv, Harness(load_c_module()))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
