"""Which Python an app gets: parse what it asks for (pure) and find what the machine has (I/O)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from twelve.errors import BuildError

_VERSION = re.compile(r"^(?:python-?)?(\d+)\.(\d+)(?:\.(\d+))?$")


@dataclass(frozen=True, order=True)
class Interpreter:
    version: tuple[int, int, int]
    path: str

    @property
    def label(self) -> str:
        return ".".join(map(str, self.version))


@dataclass(frozen=True)
class Choice:
    interpreter: Interpreter
    note: str | None  # said in the build output, e.g. when a patch version fell back


def parse_requested(text: str, filename: str) -> tuple[int, int, int | None]:
    """Parse ``3.12``, ``3.12.4`` or ``python-3.12.4`` (first non-comment line of the file)."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _VERSION.fullmatch(line)
        if not match:
            raise BuildError(
                f"{filename}: {line!r} is not a Python version",
                "write a version such as 3.12 or python-3.12.4",
            )
        patch = match.group(3)
        return int(match.group(1)), int(match.group(2)), int(patch) if patch else None
    raise BuildError(f"{filename} is empty", "write a version such as 3.12")


def choose(
    requested: tuple[int, int, int | None] | None,
    available: list[Interpreter],
    default: str | None = None,
) -> Choice:
    """Pick an interpreter: the exact version, else the same minor (with a note), else an error.

    With nothing requested, ``default`` (a version such as ``3.12``) decides, else the newest.
    """
    if not available:
        raise BuildError("no Python interpreter was found on this machine", "install python3")
    ranked = sorted(available, reverse=True)
    if requested is None:
        if default:
            return choose(parse_requested(default, "TWELVE_PYTHON_DEFAULT"), available)
        return Choice(ranked[0], None)
    major, minor, patch = requested
    same_minor = [i for i in ranked if i.version[:2] == (major, minor)]
    if not same_minor:
        have = ", ".join(sorted({f"{i.version[0]}.{i.version[1]}" for i in ranked}))
        raise BuildError(
            f"Python {major}.{minor} is not available on this machine",
            f"this machine has {have}; change .python-version or runtime.txt",
        )
    if patch is None:
        return Choice(same_minor[0], None)
    exact = [i for i in same_minor if i.version[2] == patch]
    if exact:
        return Choice(exact[0], None)
    fallback = same_minor[0]
    note = f"Python {major}.{minor}.{patch} is not installed; using {fallback.label} instead"
    return Choice(fallback, note)


def _candidates() -> list[Path]:
    names = [f"python3.{minor}" for minor in range(8, 20)] + ["python3"]
    dirs = [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    dirs += [Path("/usr/local/bin"), Path("/usr/bin")]
    pyenv = Path.home() / ".pyenv" / "versions"
    if pyenv.is_dir():
        dirs += sorted(p / "bin" for p in pyenv.iterdir())
    found = [Path(sys.executable)]
    for directory in dirs:
        if "shims" in directory.parts:
            continue  # pyenv shims fail for versions that are not selected
        found += [directory / n for n in names if (directory / n).is_file()]
    return found


@cache
def discover() -> tuple[Interpreter, ...]:
    """Every working CPython 3 on this machine, one per real path (asked once per daemon)."""
    seen: dict[str, Interpreter] = {}
    for candidate in _candidates():
        real = str(candidate.resolve())
        if real in seen or not os.access(real, os.X_OK):
            continue
        try:
            out = subprocess.run(
                [real, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        major, minor, patch = (int(x) for x in out.split("."))
        if major == 3:
            seen[real] = Interpreter((major, minor, patch), str(candidate))
    # Keep one path per version, preferring the shortest (the plainest install).
    by_version: dict[tuple[int, int, int], Interpreter] = {}
    for interp in sorted(seen.values(), key=lambda i: len(i.path)):
        by_version.setdefault(interp.version, interp)
    return tuple(sorted(by_version.values(), reverse=True))
