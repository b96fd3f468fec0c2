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
interpreted regardless."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

import twelve.router
from twelve.supervisor import spawn

PACKAGE = Path(twelve.router.__file__).resolve().parent
# The modules every request runs through (and the pure ones they call); the rest stays interpreted.
COMPILED = (
    "accesslog",
    "codes",
    "endings",
    "exchange",
    "hotpath",
    "messages",
    "pool",
    "proxy",
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
    "router/__init__.py",
    "router/tls.py",
)
BUILD_TIMEOUT = 600.0  # seconds the compilation may take
_DONE = "complete"  # written last: a build without it was interrupted and is never used


# Written in C, built beside the compiled modules. ``_hotpath``'s functions each have a Python twin
# the tests compare them to; in place of ``_streams`` the interpreted router uses asyncio's
# transports, and every router test runs on both.
C_MODULES = ("_hotpath", "_streams")


def _sources() -> list[str]:
    return [
        *_CONTEXT,
        *(f"router/{name}.py" for name in COMPILED),
        *(f"router/{name}.c" for name in C_MODULES),
    ]


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


def build_dir() -> Path:
    """The folder a build of the current sources has, or would have."""
    return builds_root() / digest()


def built() -> bool:
    """Whether a compiled build of the current sources exists."""
    return (build_dir() / _DONE).is_file()


def activate() -> bool:
    """Use the compiled build of these exact sources if there is one; True when it is in use.

    Must run before any module in ``COMPILED`` is imported: it only changes where they are found.
    """
    if any(f"twelve.router.{name}" in sys.modules for name in COMPILED):
        return False
    if not built():
        return False
    where = build_dir()
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
        script = _SETUP.format(
            modules=[f"twelve/router/{n}.py" for n in COMPILED],
            c_modules=[(f"twelve.router.{n}", f"twelve/router/{n}.c") for n in C_MODULES],
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
        if old.name != target.name and not old.name.startswith("build-"):
            shutil.rmtree(old, ignore_errors=True)
    return target


class BuildError(Exception):
    """The compiled build could not be made; the router still runs, interpreted."""


# Run in a child process with the copied sources as its working directory, so mypyc names the
# modules ``twelve.router.*`` and writes its generated C and objects in that temporary folder.
_SETUP = """
import sys
from setuptools import Extension, setup
from mypyc.build import mypycify
c_modules = [Extension(name, [path], extra_compile_args=["-O2"]) for name, path in {c_modules!r}]
setup(name="twelve-router-native", ext_modules=[*mypycify({modules!r}, opt_level="3"), *c_modules])
"""


def main() -> int:
    """``python -m twelve.router.native``: build, printing one line either way."""
    try:
        where = build()
    except BuildError as exc:
        print(f"twelve: {exc}", file=sys.stderr)
        return 1
    print(f"twelve: compiled router in {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
