"""The runtimes folder: ``TWELVE_HOME/runtimes/LANGUAGE/X.Y.Z/`` with a ``runtime.json`` each.

Every runtime is owned by the daemon's user (root on a server), readable and executable by every
app user and writable by none of them, so an app's build, processes and one-offs can run it while
no app can change what another app runs.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twelve.errors import UsageError
from twelve.runtimes.resolve import Version, label

LANGUAGES = ("python", "node")
METADATA = "runtime.json"


@dataclass(frozen=True)
class Runtime:
    language: str
    version: Version
    path: Path
    source: str  # where it came from, e.g. "copied from /root/.pyenv/versions/3.12.1"
    executable: str  # relative to path: bin/python3.12, bin/node

    @property
    def label(self) -> str:
        return label(self.version)

    @property
    def key(self) -> str:
        return f"{self.language}@{self.label}"

    @property
    def program(self) -> Path:
        return self.path / self.executable

    @property
    def bin_dir(self) -> Path:
        return self.path / "bin"


def parse_spec(text: str) -> tuple[str, tuple[int, ...]]:
    """``python@3.12``, ``python@3.12.7`` or ``node@20`` as (language, version numbers)."""
    language, _, version = text.partition("@")
    parts = version.split(".")
    if language not in LANGUAGES or not version or not all(p.isdigit() for p in parts):
        raise UsageError(
            f"{text!r} is not a runtime", "write LANGUAGE@VERSION, e.g. python@3.12 or node@20"
        )
    if len(parts) > 3 or (language == "python" and len(parts) < 2):
        raise UsageError(f"{text!r} is not a runtime version", "e.g. python@3.12 or node@20.18.1")
    return language, tuple(int(p) for p in parts)


def installed(root: Path, language: str | None = None) -> list[Runtime]:
    """Runtimes in the folder, newest first; half-copied ones (no runtime.json) are skipped."""
    found: list[Runtime] = []
    for lang in (language,) if language else LANGUAGES:
        folder = root / lang
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            meta = entry / METADATA
            if entry.name.startswith(".") or not meta.is_file():
                continue
            data = json.loads(meta.read_text())
            version = tuple(int(p) for p in entry.name.split("."))
            found.append(
                Runtime(lang, version, entry, str(data["source"]), str(data["executable"]))  # type: ignore[arg-type]
            )
    return sorted(found, key=lambda r: (r.language, r.version), reverse=True)


def find(root: Path, language: str, version: Version) -> Runtime | None:
    return next((r for r in installed(root, language) if r.version == version), None)


def staging_dir(root: Path, language: str, version: Version) -> Path:
    """A fresh hidden directory beside the final one; ``commit`` renames it into place."""
    folder = root / language
    folder.mkdir(parents=True, exist_ok=True)
    for path in (root, folder):
        path.chmod(0o755)
    staging = folder / f".{label(version)}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    return staging


def commit(
    root: Path, language: str, version: Version, staging: Path, source: str, executable: str
) -> Runtime:
    """Seal a staged runtime (read-only for others, metadata written) and move it into place."""
    (staging / METADATA).write_text(
        json.dumps(
            {
                "language": language,
                "version": label(version),
                "source": source,
                "executable": executable,
                "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        )
    )
    seal(staging)
    final = root / language / label(version)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return Runtime(language, version, final, source, executable)


def seal(path: Path) -> None:
    """Everyone may read and run; only the owner may write (no set-id bits, nothing group-writable)."""
    for dirpath, _dirs, filenames in os.walk(path):
        os.chmod(dirpath, 0o755)  # noqa: S103 (runtimes are meant to be run by every app user)
        for name in filenames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                continue
            mode = os.stat(full).st_mode
            os.chmod(full, 0o755 if mode & stat.S_IXUSR else 0o644)


def size_of(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total


def describe(runtime: Runtime, users: list[str]) -> dict[str, Any]:
    """The JSON shape of one runtime in the API and ``twelve runtimes --json``."""
    return {
        "language": runtime.language,
        "version": runtime.label,
        "path": str(runtime.path),
        "source": runtime.source,
        "size": size_of(runtime.path),
        "used_by": users,
    }
