"""``access``, ``access:add``, ``access:update``, ``access:remove``: who may do what to an app."""

from __future__ import annotations

import click

from twelve.cli import output
from twelve.cli.common import app_option, client, json_option

ROLE = click.Choice(["viewer", "deployer", "admin"])
ROLE_HELP = "viewer: read; deployer: also deploy, scale, restart, run; admin: everything"


@click.command("access")
@app_option
@json_option
def access(app: str, as_json: bool) -> None:
    """List who has which role on an app (platform admins have every role)."""
    data = client().request("GET", f"/apps/{app}/access")
    output.emit_rows(data, as_json, ("USER", "ROLE"), lambda r: (r["user"], r["role"]))


@click.command("access:add")
@app_option
@click.argument("user")
@click.option("--role", type=ROLE, required=True, help=ROLE_HELP)
def access_add(app: str, user: str, role: str) -> None:
    """Give USER a role on the app."""
    client().request("POST", f"/apps/{app}/access", json={"user": user, "role": role})
    output.emit(f"{user} is now a {role} of {app}")


@click.command("access:update")
@app_option
@click.argument("user")
@click.option("--role", type=ROLE, required=True, help=ROLE_HELP)
def access_update(app: str, user: str, role: str) -> None:
    """Change USER's role on the app; it holds from their next request."""
    client().request("PATCH", f"/apps/{app}/access/{user}", json={"role": role})
    output.emit(f"{user} is now a {role} of {app}")


@click.command("access:remove")
@app_option
@click.argument("user")
def access_remove(app: str, user: str) -> None:
    """Remove USER's role on the app."""
    client().request("DELETE", f"/apps/{app}/access/{user}")
    output.emit(f"{user} no longer has access to {app}")


commands = [access, access_add, access_update, access_remove]
