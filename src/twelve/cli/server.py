"""``twelve server``: the platform daemon in the foreground."""

from __future__ import annotations

import dataclasses
import sys

import click

from twelve.settings import Settings


@click.command("server")
@click.option(
    "--stop-apps",
    is_flag=True,
    help="On SIGTERM stop every app process and the router too (default: leave them running "
    "for the next daemon to adopt). Same as TWELVE_STOP_APPS=1.",
)
def server(stop_apps: bool) -> None:
    """Run the platform daemon in the foreground (logs to stdout; stop with Ctrl-C or SIGTERM).

    Apps keep running across a restart or upgrade of the daemon: their processes are held by the
    keeper, and the next daemon adopts them.
    """
    from twelve.daemon import serve  # noqa: PLC0415 (the daemon's imports are for this command only)

    settings = Settings.from_environ()
    if stop_apps:
        settings = dataclasses.replace(settings, stop_apps=True)
    sys.exit(serve(settings))


commands = [server]
