"""Deploy by ``git push``: per-app bare repositories and the pre-receive hook that deploys.

git does the protocol (``git http-backend`` behind the API's token check); twelve does the hook.
The hook runs inside the push, so the build and release output reach the pusher as ``remote:``
lines and a failed deploy rejects the push. The hook calls back the API with a token made for that
one push and that one app, never the API token.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from twelve.errors import ConfigError
from twelve.supervisor import spawn

HOOK = """#!/bin/sh
# twelve: every push to main or master deploys the pushed commit.
exec "{python}" -m twelve.git_hook
"""


def repo_path(repos_dir: Path, app: str) -> Path:
    return repos_dir / f"{app}.git"


async def ensure_repo(repos_dir: Path, app: str) -> Path:
    """The app's bare repository with twelve's hook installed (created on first use)."""
    path = repo_path(repos_dir, app)
    hook = path / "hooks" / "pre-receive"
    if hook.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    commands = [
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)],
        ["git", "-C", str(path), "config", "http.receivepack", "true"],
        ["git", "-C", str(path), "config", "receive.denyNonFastForwards", "false"],
    ]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repos_dir)}
    lines: list[str] = []
    for argv in commands:
        code = await spawn.run_to_completion(argv, cwd=repos_dir, env=env, on_line=lines.append)
        if code != 0:
            raise ConfigError(f"could not create the git repository of {app}: {' '.join(lines)}")
    hook.write_text(HOOK.format(python=sys.executable))
    hook.chmod(0o755)
    return path


class PushTokens:
    """One-time tokens that let a push's hook deploy exactly one app, and nothing else."""

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}

    def issue(self, app: str) -> str:
        token = secrets.token_urlsafe(24)
        self._tokens[token] = app
        return token

    def app_for(self, token: str) -> str | None:
        return self._tokens.get(token)

    def revoke(self, token: str) -> None:
        self._tokens.pop(token, None)
