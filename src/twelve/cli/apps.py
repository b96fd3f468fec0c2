"""``apps``, ``apps:create``, ``apps:info``, ``apps:destroy``."""

from __future__ import annotations

import click

from twelve.cli import output
from twelve.cli.common import app_option, client, json_option
from twelve.errors import UsageError


@click.command("apps")
@json_option
def apps(as_json: bool) -> None:
    """List apps."""
    data = client().request("GET", "/apps")
    if as_json:
        output.emit_json(data)
        return
    rows = [(a["name"], f"v{a['release']}" if a["release"] else "-", a["url"]) for a in data]
    output.emit_table(("NAME", "RELEASE", "URL"), rows)


@click.command("apps:create")
@click.argument("name")
@json_option
def apps_create(name: str, as_json: bool) -> None:
    """Create an app."""
    data = client().request("POST", "/apps", json={"name": name})
    if as_json:
        output.emit_json(data)
    else:
        output.emit(f"Created {data['name']}: {data['url']}")


@click.command("apps:info")
@app_option
@json_option
def apps_info(app: str, as_json: bool) -> None:
    """Show an app's release, formation, domains and URL."""
    data = client().request("GET", f"/apps/{app}")
    if as_json:
        output.emit_json(data)
        return
    formation = " ".join(f"{k}={v}" for k, v in data["formation"].items()) or "-"
    rows = [
        ("Name", data["name"]),
        ("URL", data["url"]),
        *([("HTTPS URL", data["https_url"])] if data.get("https_url") else []),
        ("Release", f"v{data['release']}" if data["release"] else "-"),
        ("Commit", data["commit"] or "-"),
        ("Formation", formation),
        ("Domains", ", ".join(data["domains"]) or "-"),
    ]
    output.emit_table(("", ""), rows)


@click.command("apps:destroy")
@click.argument("name")
@click.option("--confirm", help="The app's name again, to confirm.")
@json_option
def apps_destroy(name: str, confirm: str | None, as_json: bool) -> None:
    """Stop every process of an app and delete it with its releases, builds and logs."""
    if confirm != name:
        raise UsageError(f"destroying {name} cannot be undone", f"pass --confirm {name}")
    data = client().request("DELETE", f"/apps/{name}", params={"confirm": confirm})
    if as_json:
        output.emit_json(data)
    else:
        output.emit(f"Destroyed {name}")


commands = [apps, apps_create, apps_info, apps_destroy]
