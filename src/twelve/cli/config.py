"""``config``, ``config:set``, ``config:unset``, ``config:get``."""

from __future__ import annotations

from typing import Any

import click

from twelve.appspec.dotenv import format_dotenv, parse_assignments
from twelve.appspec.names import validate_config_key
from twelve.cli import output
from twelve.cli.common import app_option, client, json_option
from twelve.errors import NotFound


def mask(value: str) -> str:
    """Show a value's shape, not its content."""
    return "*" * min(len(value), 8) if value else ""


@click.command("config")
@app_option
@click.option("--reveal", is_flag=True, help="Show the values instead of masking them.")
@click.option("--shell", is_flag=True, help="Print as a .env file (values shown).")
@json_option
def config(app: str, reveal: bool, shell: bool, as_json: bool) -> None:
    """Show an app's config vars (values masked unless --reveal)."""
    data: dict[str, str] = client().request("GET", f"/apps/{app}/config")
    if shell:
        output.emit(format_dotenv(data), nl=False)
        return
    shown = data if reveal else {k: mask(v) for k, v in data.items()}
    output.emit_answer(
        shown, as_json, lambda s: output.emit_table(("KEY", "VALUE"), sorted(s.items()))
    )


def _changed(app: str, body: dict[str, str | None], as_json: bool) -> None:
    data = client().request("PATCH", f"/apps/{app}/config", json=body)
    output.emit_answer(data, as_json, lambda d: _emit_changed(app, body, d))


def _emit_changed(app: str, body: dict[str, str | None], data: dict[str, Any]) -> None:
    release = data["release"]
    keys = ", ".join(sorted(body))
    if release:
        output.emit(f"{keys} changed; restarting {app}: v{release['version']}")
    else:
        output.emit(f"{keys}: nothing to release (unchanged, or the app has no release yet)")


@click.command("config:set")
@app_option
@click.argument("pairs", nargs=-1, required=True)
@json_option
def config_set(app: str, pairs: tuple[str, ...], as_json: bool) -> None:
    """Set KEY=VALUE pairs; makes a new release and restarts the processes."""
    _changed(app, dict(parse_assignments(list(pairs))), as_json)


@click.command("config:unset")
@app_option
@click.argument("keys", nargs=-1, required=True)
@json_option
def config_unset(app: str, keys: tuple[str, ...], as_json: bool) -> None:
    """Remove config vars; makes a new release and restarts the processes."""
    _changed(app, {validate_config_key(k): None for k in keys}, as_json)


@click.command("config:get")
@app_option
@click.argument("key")
def config_get(app: str, key: str) -> None:
    """Print one config value."""
    data = client().request("GET", f"/apps/{app}/config")
    if key not in data:
        raise NotFound(f"{app} has no config var {key}", "see 'twelve config'")
    output.emit(data[key])


commands = [config, config_set, config_unset, config_get]
