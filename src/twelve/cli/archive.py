"""Pack a local app directory as the tarball a deploy uploads."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from twelve.errors import UsageError

SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache"}


@dataclass(frozen=True)
class Archive:
    data: bytes
    commit: str | None
    files: int
    dirty: bool


def _git(path: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(path), *args], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _walk(root: Path) -> list[str]:
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            found.append(os.path.relpath(os.path.join(directory, name), root))
    return found


def pack_directory(path: Path, ref: str | None = None) -> Archive:
    """The files of ``path``: in a git work tree, what git tracks or would track (so .gitignore
    holds), with HEAD's commit; at ``ref``, exactly that commit; elsewhere every file but caches."""
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory", "give the app's directory or a git URL")
    inside_git = _git(path, "rev-parse", "--is-inside-work-tree") is not None
    if ref is not None:
        if not inside_git:
            raise UsageError("--ref needs a git repository", f"{path} is not one")
        commit = (_git(path, "rev-parse", "--verify", f"{ref}^{{commit}}") or "").strip()
        if not commit:
            raise UsageError(f"no commit {ref!r} in {path}")
        done = subprocess.run(
            ["git", "-C", str(path), "archive", "--format=tar", commit, "."],
            capture_output=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise UsageError(f"git archive failed: {done.stderr.decode(errors='replace').strip()}")
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as listing:
            count = len(listing.getnames())
        return Archive(done.stdout, commit, count, False)
    if inside_git:
        listed = _git(path, "ls-files", "-z", "--cached", "--others", "--exclude-standard", ".")
        names = sorted(n for n in (listed or "").split("\0") if n and (path / n).exists())
        head: str | None = (_git(path, "rev-parse", "HEAD") or "").strip() or None
        dirty = bool((_git(path, "status", "--porcelain", ".") or "").strip())
    else:
        names, head, dirty = _walk(path), None, False
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        for name in names:
            archive.add(path / name, arcname=name, recursive=False)
    return Archive(buffer.getvalue(), head, len(names), dirty)


def looks_like_git_url(text: str) -> bool:
    return (
        "://" in text
        or text.startswith("git@")
        or (text.endswith(".git") and not Path(text).is_dir())
    )
