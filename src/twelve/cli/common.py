"""Options and helpers shared by the command modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from twelve.cli import output
from twelve.cli.client import Client, error_from_payload
from twelve.cli.credentials import credentials_path, read_login
from twelve.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def app_option(func: F) -> F:
    return click.option("-a", "--app", "app", required=True, help="The app's name.")(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def client() -> Client:
    """The API client; closed when the command ends."""
    ctx = click.get_current_context()
    api = Client(Settings.from_environ(), read_login(credentials_path()))
    ctx.call_on_close(api.close)
    return api


def follow_operation(events: Iterator[dict[str, Any]], echo: bool = True) -> dict[str, Any]:
    """Print an operation's output as it streams; its ``done`` event, or raise its error."""
    for event in events:
        kind = event.get("event")
        if kind == "output" and echo:
            output.emit(str(event.get("line", "")))
        elif kind == "done":
            return event
        elif kind == "error":
            raise error_from_payload(event)
    raise error_from_payload({"message": "the server ended the operation without a result"})


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
