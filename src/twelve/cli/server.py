"""``twelve server``: the platform daemon in the foreground."""

from __future__ import annotations

import sys

import click

from twelve.settings import Settings


@click.command("server")
def server() -> None:
    """Run the platform daemon in the foreground (logs to stdout; stop with Ctrl-C or SIGTERM)."""
    from twelve.daemon import serve  # noqa: PLC0415 (the daemon's imports are for this command only)

    sys.exit(serve(Settings.from_environ()))


commands = [server]
