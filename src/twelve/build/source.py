"""Put an app's source into a fresh build directory: from an uploaded tarball or a git URL."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import tarfile
from pathlib import Path

from twelve.errors import BuildError

MAX_SOURCE_BYTES = 1 << 30
MAX_SOURCE_FILES = 100_000


def extract_tarball(data: bytes, dest: Path) -> None:
    """Unpack an uploaded tarball into ``dest``, refusing anything that would land outside it.

    The ``data`` filter rejects absolute paths, ``..`` components, links that point outside and
    device files; the counts bound what one upload can make.
    """
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            members = archive.getmembers()
            if len(members) > MAX_SOURCE_FILES:
                raise BuildError(
                    f"the source has {len(members)} files, more than {MAX_SOURCE_FILES}",
                    "leave build output and dependencies out of the source",
                )
            for m in members:
                if m.name.startswith("/") or ".." in m.name.split("/"):
                    raise BuildError(
                        f"the source was refused: {m.name!r} points outside the app",
                        "remove paths that leave the app",
                    )
            if sum(m.size for m in members) > MAX_SOURCE_BYTES:
                raise BuildError("the source is larger than 1 GiB", "leave large files out")
            archive.extractall(dest, filter="data")
    except tarfile.FilterError as exc:
        raise BuildError(
            f"the source was refused: {exc}", "remove paths that leave the app"
        ) from None
    except tarfile.TarError as exc:
        raise BuildError(f"the uploaded source is not a valid tarball: {exc}") from None


async def _git(args: list[str], cwd: Path) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "GIT_TERMINAL_PROMPT": "0",
        "LANG": "C.UTF-8",
    }
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace").strip()
    if proc.returncode != 0:
        last = text.splitlines()[-1] if text else f"git exited {proc.returncode}"
        raise BuildError(f"git {args[0]} failed: {last}", "check the URL and the ref")
    return text


async def fetch_git(url: str, ref: str | None, dest: Path) -> str:
    """Check out ``ref`` (a branch, tag or commit; default the remote HEAD) of ``url`` into ``dest``.

    Returns the commit SHA. The ``.git`` directory is removed: a slug holds files, not history.
    """
    dest.mkdir(parents=True, exist_ok=True)
    await _git(["init", "--quiet"], dest)
    try:
        await _git(["fetch", "--quiet", "--depth", "1", url, ref or "HEAD"], dest)
    except BuildError:
        # Some servers refuse a shallow fetch of a bare commit id: fetch everything instead.
        await _git(["fetch", "--quiet", url, "+refs/heads/*:refs/remotes/origin/*"], dest)
        await _git(["update-ref", "FETCH_HEAD", ref or "origin/HEAD"], dest)
    await _git(["checkout", "--quiet", "--detach", "FETCH_HEAD"], dest)
    commit = await _git(["rev-parse", "HEAD"], dest)
    await _remove_tree(dest / ".git")
    await asyncio.to_thread(check_tree, dest)
    return commit


def check_tree(root: Path) -> None:
    """Hold a checked-out tree to what an uploaded tarball is held to: no link that leads out of
    ``root``, at most ``MAX_SOURCE_FILES`` entries and ``MAX_SOURCE_BYTES`` of files.

    A repository can hold a symlink to any path (``/etc/shadow``, another app's directory): the
    build, the audit and the app would then read what lies outside the app.
    """
    top = root.resolve()
    count = size = 0
    for folder, dirs, files in os.walk(top):
        count += len(dirs) + len(files)
        if count > MAX_SOURCE_FILES:
            raise BuildError(
                f"the source has more than {MAX_SOURCE_FILES} files",
                "leave build output and dependencies out of the source",
            )
        for name in (*dirs, *files):
            path = Path(folder, name)
            if path.is_symlink():
                target = path.resolve()
                if target != top and top not in target.parents:
                    shown = path.relative_to(top)
                    raise BuildError(
                        f"the source was refused: the link {str(shown)!r} points outside the app",
                        "make it point inside the app, or commit the file itself",
                    )
            elif name in files:
                size += path.lstat().st_size
        if size > MAX_SOURCE_BYTES:
            raise BuildError("the source is larger than 1 GiB", "leave large files out")


async def _remove_tree(path: Path) -> None:
    await asyncio.to_thread(shutil.rmtree, path, True)
