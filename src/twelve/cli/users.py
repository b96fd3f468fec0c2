"""``users``, ``users:create`` and ``users:invite`` (platform admins)."""

from __future__ import annotations

import click

from twelve.cli import output
from twelve.cli.common import client, json_option


@click.command("users")
@json_option
def users(as_json: bool) -> None:
    """List the platform's users."""
    data = client().request("GET", "/users")
    output.emit_rows(
        data, as_json, ("NAME", "ADMIN"), lambda u: (u["name"], "yes" if u["admin"] else "")
    )


def _invitation(data: dict[str, str], as_json: bool, said: str) -> None:
    output.emit_answer(data, as_json, lambda d: _emit_invitation(d, said))


def _emit_invitation(data: dict[str, str], said: str) -> None:
    output.emit(said)
    output.emit("They log in within 24 hours with: twelve login --invitation CODE")
    output.emit(data["invitation"])


@click.command("users:create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="A platform admin: creates apps and users.")
@json_option
def users_create(name: str, admin: bool, as_json: bool) -> None:
    """Create a user; prints their one-time invitation code (the last line)."""
    data = client().request("POST", "/users", json={"name": name, "admin": admin})
    kind = "platform admin" if admin else "user"
    _invitation(data, as_json, f"Created {kind} {name}.")


@click.command("users:invite")
@click.argument("name")
@json_option
def users_invite(name: str, as_json: bool) -> None:
    """A new one-time invitation code for an existing user (the last line)."""
    data = client().request("POST", f"/users/{name}/invitations")
    _invitation(data, as_json, f"New invitation for {name}.")


commands = [users, users_create, users_invite]
