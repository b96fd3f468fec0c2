"""The add-on commands: list, create, info, destroy, attach and detach."""

from __future__ import annotations

from typing import Any

import click

from twelve.cli import output
from twelve.cli.common import app_option, client, json_option


def _release_line(app: str, data: dict[str, Any]) -> str:
    release = data.get("release")
    if release:
        return f"restarting {app}: v{release['version']} ({release['description']})"
    return "no release yet: the variable is in the config the next deploy uses"


@click.command("addons")
@click.option("-a", "--app", "app", help="Only this app's add-ons.")
@json_option
def addons(app: str | None, as_json: bool) -> None:
    """List add-ons (of one app with -a)."""
    data = client().request("GET", f"/apps/{app}/addons" if app else "/addons")
    headers = ("NAME", "APP", "SERVICE", "AS", "SERVER", "PROVIDER")
    empty = f"{app or 'No app'} has no add-ons" if app else "No add-ons"
    output.emit_rows(data, as_json, headers, _addon_row, empty)


def _addon_row(a: dict[str, Any]) -> tuple[str, ...]:
    attached_as = a["config_var"] if a["attached"] else "(detached)"
    return a["name"], a["app"], a["service"], attached_as, a["server"], a["provider"]


@click.command("addons:create")
@click.argument("service")
@app_option
@click.option("--as", "as_name", help="Attach as NAME_URL instead of DATABASE_URL / REDIS_URL.")
@click.option("--name", help="The add-on's name (default: SERVICE-APP-xxxxx).")
@json_option
def addons_create(
    service: str, app: str, as_name: str | None, name: str | None, as_json: bool
) -> None:
    """Provision a postgres database or a redis key space for APP and attach it."""
    body = {"service": service, "as": as_name, "name": name}
    data = client().request("POST", f"/apps/{app}/addons", json=body)
    output.emit_answer(data, as_json, lambda d: _emit_created(app, d))


def _emit_created(app: str, data: dict[str, Any]) -> None:
    addon = data["addon"]
    output.emit(f"Created {addon['name']} on {addon['server']} ({addon['provider']})")
    output.emit(f"Attached as {addon['config_var']}; {_release_line(app, data)}")
    if data.get("notice"):
        output.emit(f"Warning: {data['notice']}", err=True)


@click.command("addons:info")
@click.argument("name")
@json_option
def addons_info(name: str, as_json: bool) -> None:
    """Show one add-on (its URL with the password masked)."""
    data = client().request("GET", f"/addons/{name}")
    output.emit_answer(data, as_json, _emit_info)


def _emit_info(data: dict[str, Any]) -> None:
    rows = [
        ("Name", data["name"]),
        ("App", data["app"]),
        ("Service", data["service"]),
        ("Provider", data["provider"]),
        ("Server", data["server"]),
        ("Attached as", data["config_var"] if data["attached"] else "(detached)"),
        ("URL", data["url"]),
    ]
    output.emit_table(("FIELD", "VALUE"), rows)


@click.command("addons:destroy")
@click.argument("name")
@click.option("-a", "--app", "app", help="The app (only checked by --confirm).")
@click.option("--confirm", help="The add-on's app, to confirm that its data is deleted.")
@json_option
def addons_destroy(name: str, app: str | None, confirm: str | None, as_json: bool) -> None:
    """Detach NAME and delete its database or key space, with all its data."""
    data = client().request("DELETE", f"/addons/{name}", params={"confirm": confirm or ""})
    output.emit_answer(data, as_json, lambda d: _emit_destroyed(name, confirm or app or "", d))


def _emit_destroyed(name: str, app: str, data: dict[str, Any]) -> None:
    output.emit(f"Destroyed {name} and its data")
    if data.get("release"):
        output.emit(_release_line(app, data).capitalize())


@click.command("addons:attach")
@click.argument("target")
@app_option
@click.option("--as", "as_name", help="The variable: NAME_URL (default: from the URL's scheme).")
@click.option(
    "--replace", is_flag=True, help="Take the variable from the add-on attached as it now."
)
@json_option
def addons_attach(target: str, app: str, as_name: str | None, replace: bool, as_json: bool) -> None:
    """Attach an external service by URL (smtp://, s3://, …), or a detached add-on by name."""
    body = {"target": target, "as": as_name, "replace": replace}
    data = client().request("POST", f"/apps/{app}/addon-attachments", json=body)
    output.emit_answer(data, as_json, lambda d: output.emit(_attached_line(app, d)))


def _attached_line(app: str, data: dict[str, Any]) -> str:
    addon = data["addon"]
    return f"Attached {addon['name']} as {addon['config_var']}; {_release_line(app, data)}"


@click.command("addons:detach")
@click.argument("name")
@app_option
@json_option
def addons_detach(name: str, app: str, as_json: bool) -> None:
    """Remove an add-on's variable from APP (a provisioned add-on keeps its data)."""
    data = client().request("DELETE", f"/apps/{app}/addon-attachments/{name}")
    output.emit_answer(data, as_json, lambda d: output.emit(_detached_line(name, app, d)))


def _detached_line(name: str, app: str, data: dict[str, Any]) -> str:
    return f"Detached {name} from {app}; {_release_line(app, data)}"


@click.command("addons:credentials:rotate")
@click.argument("name")
@app_option
@json_option
def addons_credentials_rotate(name: str, app: str, as_json: bool) -> None:
    """Give NAME a new password: APP is released with it, then the old one stops working."""
    data = client().request("POST", f"/apps/{app}/addons/{name}/credentials/rotate")
    output.emit_answer(data, as_json, lambda d: _emit_rotated(app, name, d))


def _emit_rotated(app: str, name: str, data: dict[str, Any]) -> None:
    output.emit(f"Rotated the credentials of {name}; {_release_line(app, data)}")
    output.emit("The old credentials are revoked: the processes that used them have ended")


commands = [
    addons,
    addons_create,
    addons_info,
    addons_destroy,
    addons_attach,
    addons_detach,
    addons_credentials_rotate,
]
