"""Per-app system users are made and removed even while another program holds the accounts' lock."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from twelve.supervisor.isolation import Users

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd", path="/usr/sbin:/usr/bin") is None,
    reason="making system users needs root and useradd",
)
APP = "lk-accounts"
LOCK = Path("/etc/passwd.lock")


def exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def hold_the_lock_for(seconds: float) -> threading.Thread:
    """What useradd sees while a package install or another twelve changes the accounts: the
    lock file naming a live process, released after ``seconds``."""
    holder = subprocess.Popen(["sleep", str(seconds + 5)])
    fd = os.open(LOCK, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, str(holder.pid).encode())
    os.close(fd)

    def release() -> None:
        time.sleep(seconds)
        LOCK.unlink(missing_ok=True)
        holder.kill()
        holder.wait()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def test_an_app_user_is_made_and_removed_once_the_accounts_lock_is_released() -> None:
    users = Users(enabled=True)
    subprocess.run(["userdel", f"tw-{APP}"], capture_output=True, check=False)
    try:
        holder = hold_the_lock_for(1.0)
        identity = asyncio.run(users.ensure(APP))
        holder.join()
        assert identity is not None and identity.name == f"tw-{APP}" and exists(f"tw-{APP}")
        holder = hold_the_lock_for(1.0)
        asyncio.run(users.remove(APP))
        holder.join()
        assert not exists(f"tw-{APP}")
    finally:
        LOCK.unlink(missing_ok=True)
        subprocess.run(["userdel", f"tw-{APP}"], capture_output=True, check=False)
