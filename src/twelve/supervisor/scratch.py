"""A process's private, writable app directory over the immutable slug.

Where the machine allows it (root, overlayfs), the directory is an overlay whose lower layer is the
slug's ``app`` and whose upper layer is thrown away when the process ends: instant, whatever the
size of ``node_modules``. Elsewhere it is a plain copy. Either way the slug itself never changes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from twelve.supervisor import spawn
from twelve.supervisor.isolation import give_to
from twelve.supervisor.launch import Identity

_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}


@dataclass(frozen=True)
class Scratch:
    root: Path  # removed at the end
    path: Path  # the process's working directory
    mounted: bool


async def _mount_overlay(lower: Path, root: Path, owner: Identity | None) -> Path | None:
    upper, work, merged = root / "upper", root / "work", root / "app"
    for directory in (upper, work, merged):
        directory.mkdir(parents=True, exist_ok=True)
    # The upper layer's root takes the owner of the merged directory: the app's user.
    await give_to(root, owner)
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    code = await spawn.run_to_completion(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(merged)],
        cwd=root,
        env=_ENV,
        on_line=lambda _text: None,
        timeout=30,
    )
    return merged if code == 0 else None


@cache
def _overlay_possible() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


async def make_scratch(
    slug_app: Path, parent: Path, name: str, owner: Identity | None = None
) -> Scratch:
    """A fresh private directory holding the slug's app files, for process ``name``.

    With ``owner`` (the app's user) the directory is that user's alone.
    """
    root = parent / f"{name}-{time.monotonic_ns()}"
    root.mkdir(parents=True)
    if _overlay_possible():
        merged = await _mount_overlay(slug_app, root, owner)
        if merged is not None:
            return Scratch(root, merged, True)
    target = root / "app"
    if target.exists():
        target.rmdir()
    await asyncio.to_thread(shutil.copytree, slug_app, target, symlinks=True)
    await give_to(root, owner)
    return Scratch(root, target, False)


async def remove_scratch(scratch: Scratch) -> None:
    """Unmount (when it is an overlay) and delete the directory."""
    if scratch.mounted:
        await unmount(scratch.path)
    await asyncio.to_thread(shutil.rmtree, scratch.root, True)


async def unmount(path: Path) -> None:
    await spawn.run_to_completion(
        ["umount", "-l", str(path)], cwd=Path("/"), env=_ENV, on_line=lambda _t: None, timeout=30
    )


async def clear_all(parent: Path, keep: Collection[Path] = ()) -> None:
    """Remove every scratch directory below ``parent`` (left by a daemon that was killed), but
    the roots in ``keep`` (of processes a new daemon adopts)."""
    if not parent.is_dir():
        return
    kept = {str(root.resolve()) for root in keep}
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    prefix = str(parent.resolve()) + "/"
    for line in mounts:
        fields = line.split()
        if len(fields) > 1 and fields[1].startswith(prefix) and not _inside(fields[1], kept):
            await unmount(Path(fields[1]))
    for entry in parent.iterdir():
        if not any(root.startswith(str(entry.resolve()) + "/") for root in kept):
            await asyncio.to_thread(shutil.rmtree, entry, True)
            continue
        for inner in entry.iterdir():  # an app's directory: its adopted processes' stay
            if str(inner.resolve()) not in kept:
                await asyncio.to_thread(shutil.rmtree, inner, True)


def _inside(path: str, roots: Collection[str]) -> bool:
    return any(path == root or path.startswith(root + "/") for root in roots)
