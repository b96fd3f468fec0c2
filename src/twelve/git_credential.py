"""git's credential helper for twelve remotes: answers ``get`` with the API token.

git runs it on every push, so it reads the token without the CLI (whose commands and HTTP client
take most of a second to import on a busy machine); ``git:remote`` installs it so that git's
``store`` and ``erase`` calls do not start Python at all.
"""

from __future__ import annotations

import sys

from twelve.cli.credentials import credentials_path, read_login, resolve_api
from twelve.settings import Settings


def main(argv: list[str]) -> int:
    sys.stdin.read()  # git writes what it knows of the credential; nothing of it is needed
    if argv[1:2] != ["get"]:
        return 0
    settings = Settings.from_environ()
    _url, token = resolve_api(
        settings.api_url,
        settings.api_token,
        read_login(credentials_path()),
        settings.endpoints_path,
        settings.token_path,
    )
    sys.stdout.write(f"username=twelve\npassword={token}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
