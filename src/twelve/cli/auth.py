"""``login``, ``logout``, ``auth:whoami``, ``auth:token`` and the ``auth:tokens`` commands."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import click
import httpx

from twelve.cli import output
from twelve.cli.client import NOT_RUNNING_HINT, _read_json, error_from_payload
from twelve.cli.common import client, format_age, json_option
from twelve.cli.credentials import Login, credentials_path, forget_login, write_login
from twelve.errors import ServerUnavailable
from twelve.settings import Settings


def _redeem(url: str, code: str) -> dict[str, Any]:
    try:
        response = httpx.post(f"{url}/auth/login", json={"invitation": code}, timeout=30)
    except httpx.TransportError:
        raise ServerUnavailable(
            f"cannot reach the twelve server at {url}", NOT_RUNNING_HINT
        ) from None
    try:
        data = response.json()
    except ValueError:
        data = {"error": {"message": f"HTTP {response.status_code} from {url}"}}
    if response.status_code >= 400:
        raise error_from_payload(data.get("error", {}))
    return dict(data)


@click.command("login")
@click.option("--invitation", help="The code 'twelve users:create' printed for you.")
def login(invitation: str | None) -> None:
    """Exchange an invitation for a token, kept in ~/.config/twelve (0600)."""
    settings = Settings.from_environ()
    url = settings.api_url or click.prompt(
        "API URL", default=_read_json(settings.endpoints_path).get("api_url")
    )
    code = invitation or click.prompt("Invitation code", hide_input=True)
    data = _redeem(str(url).rstrip("/"), code.strip())
    path = credentials_path()
    write_login(path, Login(str(url).rstrip("/"), data["token"], data["user"]))
    output.emit(f"Logged in as {data['user']}; token stored in {path}")


@click.command("logout")
def logout() -> None:
    """Revoke this login's token and forget it."""
    path = credentials_path()
    try:
        client().request("DELETE", "/auth/session")
    finally:
        removed = forget_login(path)
    output.emit("Logged out" if removed else "No stored login; nothing to forget")


@click.command("auth:whoami")
@json_option
def whoami(as_json: bool) -> None:
    """Show who the current token belongs to."""
    data = client().request("GET", "/auth/whoami")
    output.emit_answer(data, as_json, lambda d: output.emit(_described(d)))


def _described(whoami: dict[str, Any]) -> str:
    role = " (platform admin)" if whoami["admin"] else ""
    return f"{whoami['user']}{role}, {whoami['scope']} token"


@click.command("auth:token")
def token() -> None:
    """Print the token the CLI uses (for scripts and other tools)."""
    output.emit(client().token)


def _when(at: float | None, now: float, empty: str) -> str:
    if at is None:
        return empty
    return f"in {format_age(at - now)}" if at > now else f"{format_age(now - at)} ago"


@click.command("auth:tokens")
@json_option
def tokens(as_json: bool) -> None:
    """List your tokens (never the tokens themselves)."""
    data = client().request("GET", "/auth/tokens")
    headers = ("ID", "DESCRIPTION", "SCOPE", "CREATED", "EXPIRES", "STATE")
    output.emit_rows(data, as_json, headers, partial(_token_row, now=time.time()))


def _token_row(t: dict[str, Any], now: float) -> tuple[str, ...]:
    return (
        t["id"],
        t["description"],
        t["scope"],
        _when(t["created_at"], now, ""),
        _when(t["expires_at"], now, "never"),
        "revoked" if t["revoked_at"] else "live",
    )


@click.command("auth:tokens:create")
@click.option("--description", required=True, help="What the token is for.")
@click.option("--expires-in", help="Lifetime such as 30d, 12h or 2w (default: none).")
@click.option(
    "--scope",
    type=click.Choice(["read", "deploy", "write"]),
    default="write",
    show_default=True,
    help="read: view only; deploy: also deploy, scale, restart, run; write: all you may.",
)
@json_option
def tokens_create(description: str, expires_in: str | None, scope: str, as_json: bool) -> None:
    """Create a token; it is shown this once (the last line)."""
    body = {"description": description, "scope": scope}
    if expires_in:
        body["expires_in"] = expires_in
    data = client().request("POST", "/auth/tokens", json=body)
    output.emit_answer(data, as_json, lambda d: _emit_created(d, scope))


def _emit_created(data: dict[str, str], scope: str) -> None:
    output.emit(f"Created token {data['id']} ({scope}); it is shown only now:")
    output.emit(data["token"])


@click.command("auth:tokens:revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str) -> None:
    """Revoke one of your tokens: refused from the next request on, open streams included."""
    client().request("DELETE", f"/auth/tokens/{token_id}")
    output.emit(f"Revoked token {token_id}")


commands = [login, logout, whoami, token, tokens, tokens_create, tokens_revoke]
