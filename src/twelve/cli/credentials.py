"""The stored login: the API URL and token ``twelve login`` got, in the user's config directory.

``$XDG_CONFIG_HOME/twelve/credentials.json`` (``~/.config`` when unset), 0600 in a 0700 directory,
as Heroku keeps its token in ``~/.netrc``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Login:
    api_url: str
    token: str
    user: str


def credentials_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "twelve" / "credentials.json"


def read_login(path: Path) -> Login | None:
    try:
        data = json.loads(path.read_text())
        return Login(str(data["api_url"]), str(data["token"]), str(data.get("user", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_login(path: Path, login: Login) -> None:
    """Write the login so only its owner can read it, replacing any earlier one whole."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_suffix(".tmp")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"api_url": login.api_url, "token": login.token, "user": login.user}, handle)
    os.replace(partial, path)


def forget_login(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def resolve_api(
    api_url: str | None,
    api_token: str | None,
    login: Login | None,
    endpoints: Path,
    token_file: Path,
) -> tuple[str | None, str]:
    """The API URL and token a client uses: TWELVE_API_TOKEN wins, then a stored login, then the
    server's own token file; the URL from TWELVE_API_URL, the login, else the running server's."""
    url = api_url or (login.api_url if login else None)
    token = api_token or (login.token if login else None)
    if url is None or token is None:
        try:
            recorded = json.loads(endpoints.read_text())
        except (OSError, ValueError):
            recorded = {}
        if isinstance(recorded, dict):
            url = url or recorded.get("api_url")
        if token is None and token_file.exists():
            token = token_file.read_text().strip()
    return url, token or ""
