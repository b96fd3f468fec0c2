"""The runtime commands: list, install, add (adopt an interpreter) and remove."""

from __future__ import annotations

from typing import Any

import click

from twelve.cli import output
from twelve.cli.common import client, follow_operation, json_option


def _size(count: int) -> str:
    return f"{count / (1 << 20):.0f} MB"


@click.command("runtimes")
@json_option
def runtimes(as_json: bool) -> None:
    """List the Python and Node runtimes apps build and run with."""
    data = client().request("GET", "/runtimes")
    headers = ("LANGUAGE", "VERSION", "SOURCE", "SIZE", "USED BY")
    empty = "No runtimes yet: builds install the ones apps ask for"
    output.emit_rows(data, as_json, headers, _runtime_row, empty)


def _runtime_row(r: dict[str, Any]) -> tuple[str, ...]:
    return (
        r["language"],
        r["version"],
        r["source"],
        _size(r["size"]),
        ", ".join(r["used_by"]) or "-",
    )


def _provide(body: dict[str, str], done_verb: str, as_json: bool) -> None:
    """Install or adopt a runtime, following the server's progress lines."""
    done = follow_operation(client().stream("POST", "/runtimes", json=body), echo=not as_json)
    output.emit_answer(
        done, as_json, lambda d: output.emit(f"{done_verb} {_described(d['runtime'])}")
    )


def _described(runtime: dict[str, str]) -> str:
    return f"{runtime['language']} {runtime['version']} in {runtime['path']}"


@click.command("runtimes:install")
@click.argument("spec")
@json_option
def runtimes_install(spec: str, as_json: bool) -> None:
    """Install SPEC: python@3.12, python@3.12.7, node@20 (the newest match)."""
    _provide({"spec": spec}, "Installed", as_json)


@click.command("runtimes:add")
@click.argument("path")
@json_option
def runtimes_add(path: str, as_json: bool) -> None:
    """Adopt the Python interpreter at PATH (copied, so every app user can run it)."""
    _provide({"path": path}, "Added", as_json)


@click.command("runtimes:remove")
@click.argument("spec")
@json_option
def runtimes_remove(spec: str, as_json: bool) -> None:
    """Remove SPEC (python@3.12.7), unless a live release or a recent one uses it."""
    data = client().request("DELETE", f"/runtimes/{spec}")
    output.emit_answer(data, as_json, lambda d: output.emit(f"Removed {d['removed']}"))


commands = [runtimes, runtimes_install, runtimes_add, runtimes_remove]
