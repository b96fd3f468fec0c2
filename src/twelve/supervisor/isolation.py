"""Apps that cannot touch each other: one unprivileged system user per app, when the daemon is root.

Each app's slug is owned by its user and closed to everyone else; its processes, release phase and
one-offs run as that user; config reaches them only through their environment, which the kernel
shows to the same user alone. Without root, apps share the daemon's user and the daemon says so.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import stat
from pathlib import Path

from twelve.supervisor import spawn
from twelve.supervisor.launch import Identity, user_name

_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
# useradd and userdel give up at once when another program holds the lock on /etc/passwd (another
# twelve, a package install): they are tried again for this long.
ACCOUNTS_LOCK_WAIT = 10.0


def world_reachable(path: Path) -> bool:
    """Whether any user can reach ``path``: every directory on the way is searchable by others."""
    real = path.resolve()
    for parent in [*reversed(real.parents)]:
        try:
            mode = parent.stat().st_mode
        except OSError:
            return False
        if not mode & stat.S_IXOTH:
            return False
    return True


def isolation_problem(home: Path) -> str | None:
    """Why per-app users cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "the daemon is not root, so apps share its user"
    for tool in ("useradd", "userdel", "setpriv"):
        if shutil.which(tool, path=_ENV["PATH"]) is None:
            return f"{tool} is not installed, so apps share the daemon's user"
    for parent in reversed(home.resolve().parents):
        if not parent.stat().st_mode & stat.S_IXOTH:
            return (
                f"{parent} is closed to other users, so apps share the daemon's user "
                "(set TWELVE_HOME to a directory such as /var/lib/twelve)"
            )
    return None


class Users:
    """Creates, finds and removes the system users of apps."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._lock = asyncio.Lock()  # this daemon's own changes to the accounts, one at a time

    def identity(self, app: str) -> Identity | None:
        if not self.enabled:
            return None
        try:
            entry = pwd.getpwnam(user_name(app))
        except KeyError:
            return None
        return Identity(entry.pw_name, entry.pw_uid, entry.pw_gid)

    async def ensure(self, app: str) -> Identity | None:
        """The app's user, created on first use."""
        if not self.enabled:
            return None
        found = self.identity(app)
        if found is not None:
            return found
        name = user_name(app)
        argv = [
            "useradd", "--system", "--user-group", "--no-create-home",
            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name,
        ]  # fmt: skip
        code, lines = await self._change(argv)
        if code != 0 and self.identity(app) is None:
            raise OSError(f"could not create the user {name}: {' '.join(lines)}")
        created = self.identity(app)
        assert created is not None
        return created

    async def remove(self, app: str) -> None:
        if self.identity(app) is None:
            return
        await self._change(["userdel", user_name(app)])

    async def _change(self, argv: list[str]) -> tuple[int | None, list[str]]:
        """Run useradd or userdel, again while another program holds the accounts' lock."""
        async with self._lock:
            deadline = asyncio.get_running_loop().time() + ACCOUNTS_LOCK_WAIT
            while True:
                lines: list[str] = []
                code = await spawn.run_to_completion(
                    argv, cwd=Path("/"), env=_ENV, on_line=lines.append
                )
                locked = code != 0 and any("lock" in line for line in lines)
                if not locked or asyncio.get_running_loop().time() > deadline:
                    return code, lines
                await asyncio.sleep(0.2)


async def give_to(
    path: Path, identity: Identity | None, mode: int = 0o700, *, recursive: bool = True
) -> None:
    """Make ``path`` (recursively) the app user's own and close it to everyone else."""
    if identity is None:
        return

    def walk() -> None:
        os.lchown(path, identity.uid, identity.gid)
        for root, dirs, files in os.walk(path) if recursive else ():
            for name in dirs + files:
                os.lchown(os.path.join(root, name), identity.uid, identity.gid)
        os.chmod(path, mode)

    await asyncio.to_thread(walk)
