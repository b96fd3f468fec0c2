"""The one place ``twelve check`` touches the disk: walk a repository and read what the rules need.

Dependency trees (``node_modules``, virtualenvs) and build output are never entered. Text is read only
for file kinds some rule parses, and only up to a size bound; every other file is listed by name so
rules about tracked data files can see it. Whether a file is tracked comes from ``git ls-files`` when
the tree is a git checkout; otherwise every file present counts as tracked.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from twelve.audit.findings import ScanError

MAX_TEXT_BYTES = 1 << 20

# Directories that hold dependencies, caches or build output: never read.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "jspm_packages",
        ".venv",
        "venv",
        "virtualenv",
        "site-packages",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".eggs",
        "build",
        "dist",
        ".next",
        ".nuxt",
        ".svelte-kit",
        ".parcel-cache",
        "coverage",
        "htmlcov",
        ".cache",
        "staticfiles",
        ".terraform",
        ".serverless",
        "vendor",
        "out",
    }
)

_TEXT_SUFFIXES = frozenset(
    {
        ".py",
        ".pyw",
        ".js",
        ".mjs",
        ".cjs",
        ".jsx",
        ".ts",
        ".mts",
        ".cts",
        ".tsx",
        ".json",
        ".toml",
        ".txt",
        ".in",
        ".cfg",
        ".ini",
        ".yml",
        ".yaml",
        ".conf",
        ".sh",
        ".bash",
        ".env",
        ".example",
        ".sample",
        ".template",
        ".dist",
        ".local",
        ".production",
        ".development",
        ".staging",
    }
)
_TEXT_NAMES = frozenset(
    {"Procfile", "Dockerfile", "Containerfile", "Makefile", "Pipfile", "Capfile", ".env", "Gemfile"}
)
# Listed but never read: large and only their presence matters.
_NEVER_READ = frozenset(
    {"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "uv.lock", "poetry.lock", "Pipfile.lock"}
)


@dataclass(frozen=True)
class SourceFile:
    """One file of the repository: its relative POSIX path, text if read, and whether git tracks it."""

    path: str
    text: str | None
    tracked: bool


@dataclass(frozen=True)
class Snapshot:
    """Everything a check sees of a repository."""

    root: Path
    files: dict[str, SourceFile]
    git: bool

    def text(self, path: str) -> str | None:
        found = self.files.get(path)
        return found.text if found else None


def wants_text(name: str) -> bool:
    """Whether some rule parses a file with this name."""
    if name in _NEVER_READ:
        return False
    if name in _TEXT_NAMES or name.startswith(("Dockerfile", "Procfile", ".env", "requirements")):
        return True
    lowered = name.lower()
    return lowered in {"procfile", "dockerfile"} or os.path.splitext(lowered)[1] in _TEXT_SUFFIXES


def excluded(path: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``path`` or one of its parent directories matches an exclude glob."""
    if not patterns:
        return False
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatchcase(candidate, pattern.rstrip("/"))
        for pattern in patterns
        for candidate in candidates
    )


def read_config_files(root: Path) -> dict[str, str]:
    """The text of ``pyproject.toml`` and ``.twelve.toml`` at the root, where present."""
    found: dict[str, str] = {}
    for name in ("pyproject.toml", ".twelve.toml"):
        try:
            found[name] = (root / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise ScanError(f"cannot read {name}: {exc}") from None
    return found


def take_snapshot(root: Path, exclude: tuple[str, ...] = ()) -> Snapshot:
    """Walk ``root``; raises ScanError when the tree cannot be read at all."""
    if not root.is_dir():
        raise ScanError(f"{root} is not a readable directory")
    tracked = _git_tracked(root)
    files: dict[str, SourceFile] = {}
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS
            and not d.endswith(".egg-info")
            and not os.path.exists(os.path.join(dirpath, d, "pyvenv.cfg"))
            and not excluded(rel_dir + d, exclude)
        )
        for name in sorted(filenames):
            rel = rel_dir + name
            if excluded(rel, exclude):
                continue
            text = _read_text(os.path.join(dirpath, name)) if wants_text(name) else None
            files[rel] = SourceFile(rel, text, tracked is None or rel in tracked)
    if errors and not files:
        raise ScanError(f"cannot read {root}: {errors[0]}")
    return Snapshot(root, files, tracked is not None)


def _read_text(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_TEXT_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_TEXT_BYTES or b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def _git_tracked(root: Path) -> set[str] | None:
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return {p for p in done.stdout.decode("utf-8", "replace").split("\0") if p}
