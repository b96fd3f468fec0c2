"""``git:remote`` (add the app's remote to this repository) and the credential helper git calls."""

from __future__ import annotations

import subprocess
import sys

import click

from twelve.cli import output
from twelve.cli.common import app_option, client
from twelve.errors import UsageError


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False, timeout=30)


@click.command("git:remote")
@app_option
@click.option("-r", "--remote", default="twelve", show_default=True, help="The remote's name.")
def git_remote(app: str, remote: str) -> None:
    """Add a git remote that deploys APP on 'git push REMOTE main'."""
    if _git("rev-parse", "--is-inside-work-tree").returncode != 0:
        raise UsageError("this is not a git repository", "run it inside the app's repository")
    api = client()
    api.request("GET", f"/apps/{app}")
    url = f"{api.base_url}/git/{app}.git"
    verb = "set-url" if _git("remote", "get-url", remote).returncode == 0 else "add"
    done = _git("remote", verb, remote, url)
    if done.returncode != 0:
        raise UsageError(f"git remote {verb} failed: {done.stderr.strip()}")
    # git asks twelve for the token each time, so it is never written into the repository; only
    # 'get' starts Python ('store' and 'erase' come after every push and need nothing).
    helper = (
        f'!f() {{ if [ "$1" = get ]; then exec "{sys.executable}" -m twelve.git_credential get;'
        " fi; cat >/dev/null; }; f"
    )
    _git("config", f"credential.{api.base_url}.helper", "")
    _git("config", "--add", f"credential.{api.base_url}.helper", helper)
    _git("config", f"credential.{api.base_url}.username", "twelve")
    output.emit(f"git remote {remote} → {url}; deploy with 'git push {remote} main'")


@click.command("git:credential", hidden=True)
@click.argument("operation")
def git_credential(operation: str) -> None:
    """git's credential helper protocol: answer 'get' with the API token."""
    sys.stdin.read()
    if operation != "get":
        return
    api = client()
    output.emit(f"username=twelve\npassword={api.token}\n", nl=False)


commands = [git_remote, git_credential]
