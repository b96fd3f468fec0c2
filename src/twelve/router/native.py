"""The router's compiled build: its per-request modules turned into C extensions by mypyc.

The proxy is plain, fully typed Python; compiled with mypyc, and with ``C_MODULES`` beside it
(the byte work of ``hotpath``, and the connections to web processes of ``_streams``, in C), a
kept-alive request takes about 70% fewer instructions, and one on a new connection about 50%.
``python -m twelve.router.native`` builds them (``scripts/bootstrap`` does it when a C compiler
is there) into ``<sys.prefix>/twelve-native/<digest>/``, where the digest covers the interpreter
and the exact source of those modules and of the files they were type-checked against. ``activate()``, called
first thing in every router process, puts a build on the import path only when its digest
matches the sources on disk, so a stale build is never run: after an edit the router runs the new
code interpreted (and says so) until the next build. ``TWELVE_ROUTER_COMPILED=0`` runs it
interpreted regardless.

``python -m twelve.router.native --sanitized`` makes a second build beside it, ``<digest>-sanitized``:
the same mypyc modules with ``C_MODULES`` compiled under AddressSanitizer and UndefinedBehavior
Sanitizer, which CI runs the router's tests against (``TWELVE_ROUTER_SANITIZED=1``). Its libraries
need the AddressSanitizer runtime loaded before anything else in the process: the build names it
in its ``preload`` file, and the router loads it when ``TWELVE_ROUTER_PRELOAD`` names it
(``twelve.router.preload``); without it the sanitized build is not used."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import twelve.router
from twelve.router import constants  # never compiled: importing it leaves ``activate`` free
from twelve.supervisor import spawn

PACKAGE = Path(twelve.router.__file__).resolve().parent
# The modules every request runs through (and the pure ones they call); the rest stays interpreted.
COMPILED = (
    "accesslog",
    "choice",
    "codes",
    "edge",
    "endings",
    "exchange",
    "head",
    "hotpath",
    "messages",
    "metrics",
    "pool",
    "proxy",
    "request",
    "response",
    "table",
    "upstream",
    "worker",
)
# Files of the ``twelve`` package the compiled code was type-checked against: part of the digest,
# since compiled code relies on the types they declare.
_CONTEXT = (
    "__init__.py",
    "errors.py",
    "settings.py",
    "settings_values.py",
    "router/__init__.py",
    "router/constants.py",
    "router/tls.py",
    "router/transport.py",
)
BUILD_TIMEOUT = 600.0  # seconds the compilation may take
_DONE = "complete"  # written last: a build without it was interrupted and is never used


# Written in C, built beside the compiled modules, each from its files (the first holds the
# module's Python face, a header what they share). ``_hotpath``'s functions each have a Python twin
# the tests compare them to; in place of ``_streams`` the interpreted router uses asyncio's
# transports, and every router test runs on both.
C_MODULES: dict[str, tuple[str, ...]] = {
    "_hotpath": ("_hotpath.c", "_hotpath_write.c", "_hotpath_scan.c", "_hotpath.h"),
    "_streams": (
        "_streams.c",
        "_streams_stream.c",
        "_streams_io.c",
        "_streams_life.c",
        "_streams.h",
    ),
}
# Written by the build beside the C files, from ``constants.py``: their one source.
CONSTANTS_HEADER = "_constants.h"


def _c_files(name: str) -> list[str]:
    """The files compiled into C module ``name`` (its headers are included, not compiled)."""
    return [f for f in C_MODULES[name] if f.endswith(".c")]


def _sources() -> list[str]:
    return [
        *_CONTEXT,
        *(f"router/{name}.py" for name in COMPILED),
        *(f"router/{f}" for files in C_MODULES.values() for f in files),
    ]


def _write_constants(folder: Path) -> None:
    """``_constants.h`` in ``folder``, from ``constants.py``."""
    (folder / CONSTANTS_HEADER).write_text(constants.c_header())


def digest() -> str:
    """What a build must match: the interpreter and the source of every file it was made from."""
    h = hashlib.sha256(str(sysconfig.get_config_var("EXT_SUFFIX")).encode())
    h.update(sys.version.encode())
    top = PACKAGE.parent
    for name in _sources():
        h.update(b"\0" + name.encode() + b"\0")
        h.update((top / name).read_bytes())
    return h.hexdigest()[:20]


def builds_root() -> Path:
    """Where builds live: beside the interpreter's packages, one folder per digest."""
    return Path(sys.prefix) / "twelve-native"


def build_dir(sanitized: bool = False) -> Path:
    """The folder a build of the current sources has, or would have."""
    return builds_root() / (digest() + ("-sanitized" if sanitized else ""))


def built(sanitized: bool = False) -> bool:
    """Whether a compiled build of the current sources exists."""
    return (build_dir(sanitized) / _DONE).is_file()


def runtime_preload(sanitized: bool = True) -> list[str]:
    """The libraries a build needs loaded first in the process (the sanitizers' runtime)."""
    listed = build_dir(sanitized) / _PRELOAD
    return listed.read_text().split() if listed.is_file() else []


def _preloaded(paths: list[str]) -> bool:
    loaded = os.environ.get("LD_PRELOAD", "").replace(":", " ").split()
    return all(path in loaded for path in paths)


def activate(sanitized: bool = False) -> bool:
    """Use the compiled build of these exact sources if there is one; True when it is in use.

    Must run before any module in ``COMPILED`` is imported: it only changes where they are found.
    The sanitized build is used only in a process that loaded its runtime first (else its C
    modules would abort the process as they load).
    """
    if any(f"twelve.router.{name}" in sys.modules for name in COMPILED):
        return False
    if not built(sanitized) or (sanitized and not _preloaded(runtime_preload())):
        return False
    where = build_dir(sanitized)
    sys.path.insert(0, str(where))  # the shared library every compiled module links against
    twelve.router.__path__.insert(0, str(where / "twelve" / "router"))
    return True


def build() -> Path:
    """Compile ``COMPILED`` into ``build_dir()`` (a no-op when it exists); return that folder.

    Raises ``BuildError`` with one line to show when mypyc, setuptools or a C compiler is missing
    or the compilation fails.
    """
    target = build_dir()
    if built():
        return target
    if shutil.which(os.environ.get("CC", "cc")) is None:
        raise BuildError("no C compiler (cc) on PATH: the router runs interpreted")
    root = builds_root()
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=root) as tmp:
        work = Path(tmp)
        for name in _sources():
            copy = work / "src" / "twelve" / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(PACKAGE.parent / name, copy)
        out = work / "out"
        _write_constants(work / "src" / "twelve" / "router")
        script = _SETUP.format(
            modules=[f"twelve/router/{n}.py" for n in COMPILED],
            c_modules=[
                (f"twelve.router.{n}", [f"twelve/router/{f}" for f in _c_files(n)])
                for n in C_MODULES
            ],
        )
        output: list[str] = []
        code = asyncio.run(
            spawn.run_to_completion(
                [sys.executable, "-c", script, "build_ext", "--build-lib", str(out)],
                cwd=work / "src",
                env={**os.environ, "MYPY_CACHE_DIR": str(work / "mypy-cache"), "MYPYPATH": ""},
                on_line=output.append,
                timeout=BUILD_TIMEOUT,
            )
        )
        if code != 0:
            last = [line for line in output if line.strip()][-1:] or [spawn.describe_exit(code)]
            raise BuildError(f"mypyc could not compile the router: {last[0].strip()}")
        (out / _DONE).write_text(digest() + "\n")
        if target.exists():  # another build finished first
            return target
        out.rename(target)
    for old in root.iterdir():  # builds of earlier sources are never used again
        if not old.name.startswith((target.name, "build-")):
            shutil.rmtree(old, ignore_errors=True)
    return target


def build_sanitized() -> Path:
    """The compiled build with ``C_MODULES`` under AddressSanitizer and UndefinedBehaviorSanitizer,
    into ``build_dir(sanitized=True)`` (a no-op when it exists); return that folder.

    The mypyc modules are copied from the plain build, made first if need be: their C is
    generated, and compiling it again with sanitizers would take minutes of CI for code that is
    mypyc's, not ours. Raises ``BuildError`` as ``build`` does.
    """
    target = build_dir(sanitized=True)
    if built(sanitized=True):
        return target
    plain = build()
    cc = os.environ.get("CC", "cc")
    runtime = subprocess.run(
        [cc, "-print-file-name=libasan.so"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not os.path.isabs(runtime):
        raise BuildError(f"{cc} has no AddressSanitizer runtime (libasan): install libasan")
    with tempfile.TemporaryDirectory(prefix="build-", dir=builds_root()) as tmp:
        work = Path(tmp)
        out = work / "out"
        shutil.copytree(plain, out)
        for name, files in C_MODULES.items():
            for old in (out / "twelve" / "router").glob(f"{name}.*.so"):
                old.unlink()
            for file in files:
                shutil.copyfile(PACKAGE / file, work / file)
        _write_constants(work)
        (out / _DONE).unlink()
        script = _SETUP_SANITIZED.format(
            c_modules=[(f"twelve.router.{n}", _c_files(n)) for n in C_MODULES],
            flags=SANITIZER_FLAGS,
        )
        output: list[str] = []
        code = asyncio.run(
            spawn.run_to_completion(
                [sys.executable, "-c", script, "build_ext", "--build-lib", str(out)],
                cwd=work,
                env=dict(os.environ),
                on_line=output.append,
                timeout=BUILD_TIMEOUT,
            )
        )
        if code != 0:
            last = [line for line in output if line.strip()][-1:] or [spawn.describe_exit(code)]
            raise BuildError(f"the sanitized C modules did not compile: {last[0].strip()}")
        (out / _PRELOAD).write_text(os.path.realpath(runtime) + "\n")
        (out / _DONE).write_text(digest() + "\n")
        if not target.exists():
            out.rename(target)
    return target


class BuildError(Exception):
    """The compiled build could not be made; the router still runs, interpreted."""


# Run in a child process with the copied sources as its working directory, so mypyc names the
# modules ``twelve.router.*`` and writes its generated C and objects in that temporary folder.
_SETUP = """
import sys
from setuptools import Extension, setup
from mypyc.build import mypycify
c_modules = [Extension(name, paths, extra_compile_args=["-O2"]) for name, paths in {c_modules!r}]
setup(name="twelve-router-native", ext_modules=[*mypycify({modules!r}, opt_level="3"), *c_modules])
"""


# The C modules alone, with the sanitizers; -O1 keeps stack traces true to the source.
_SETUP_SANITIZED = """
from setuptools import Extension, setup
flags = {flags!r}
c_modules = [
    Extension(name, paths, extra_compile_args=flags, extra_link_args=flags)
    for name, paths in {c_modules!r}
]
setup(name="twelve-router-sanitized", ext_modules=c_modules)
"""
# Any undefined behaviour aborts (no recovery), so CI sees it fail rather than scroll by.
SANITIZER_FLAGS = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
    "-O1",
]
_PRELOAD = "preload"  # the sanitized build's runtime libraries, one path a line


def main(argv: list[str] | None = None) -> int:
    """``python -m twelve.router.native [--sanitized]``: build, printing one line either way
    (for the sanitized build, the ``TWELVE_ROUTER_PRELOAD`` it needs)."""
    sanitized = (sys.argv[1:] if argv is None else argv) == ["--sanitized"]
    try:
        where = build_sanitized() if sanitized else build()
    except BuildError as exc:
        print(f"twelve: {exc}", file=sys.stderr)
        return 1
    if sanitized:
        print(f"TWELVE_ROUTER_PRELOAD={':'.join(runtime_preload())}")
        return 0
    print(f"twelve: compiled router in {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
