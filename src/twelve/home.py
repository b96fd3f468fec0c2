"""The platform's home on disk as the daemon finds it at start: its directories and their modes,
how processes will be confined there, and the API token."""

from __future__ import annotations

import logging
import os
import secrets

from twelve.settings import Settings
from twelve.supervisor.confine import Confiner
from twelve.supervisor.isolation import Users, isolation_problem
from twelve.supervisor.limits import CgroupManager, cgroup_name

log = logging.getLogger("twelve")


def ensure_token(settings: Settings) -> str:
    """The API token: from TWELVE_API_TOKEN, else generated once into a 0600 file."""
    if settings.api_token:
        return settings.api_token
    path = settings.token_path
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def prepare_home(settings: Settings) -> Confiner:
    """Make the home's directories with their modes; how processes will be confined."""
    s = settings
    for path in (s.home, s.run_dir, s.logs_dir, s.builds_dir, s.scratch_dir):
        path.mkdir(parents=True, exist_ok=True)
    problem = isolation_problem(s.home)
    # With per-app users, they must be able to reach their own slug and scratch directories
    # (and nothing else: home is searchable, not listable, by others).
    os.chmod(s.home, 0o700 if problem else 0o711)
    for shared in (s.builds_dir, s.scratch_dir):
        os.chmod(shared, 0o700 if problem else 0o711)
    users = Users(enabled=problem is None)
    cgroups = CgroupManager(pids_max=s.process_pids_max or None, name=cgroup_name(s.home))
    if problem:
        log.warning("apps are not isolated from each other: %s", problem)
    else:
        log.info("each app runs as its own system user (tw-APP)")
    log.info("process limits are enforced with %s", cgroups.mode)
    return Confiner(users, cgroups)
