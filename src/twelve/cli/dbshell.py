"""``addons:psql`` and ``addons:redis-cli``: an interactive client on an add-on, as the app.

The client runs here, with the app's own credentials (from its config, so an app admin's role is
needed), which works where the add-on's server is reachable: on the twelve server itself. The
password reaches the client through its environment, never its command line.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from urllib.parse import unquote, urlsplit

import click

from twelve.cli.common import app_option, client
from twelve.errors import NotFound, UsageError


def _local(api_url: str) -> bool:
    host = urlsplit(api_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _addon_url(app: str, name: str | None, service: str) -> str:
    api = client()
    if not _local(api.base_url):
        raise UsageError(
            f"addons:{'psql' if service == 'postgres' else 'redis-cli'} runs the client on this "
            "machine, and the twelve server is elsewhere",
            "run it on the server (ssh there first)",
        )
    found = [
        a
        for a in api.request("GET", f"/apps/{app}/addons")
        if a["service"] == service and a["attached"] and (name is None or a["name"] == name)
    ]
    if not found:
        raise NotFound(f"{app} has no attached {service} add-on{f' named {name}' if name else ''}")
    found.sort(key=lambda a: a["config_var"] not in ("DATABASE_URL", "REDIS_URL"))
    value = api.request("GET", f"/apps/{app}/config").get(found[0]["config_var"], "")
    if "***" in value or "://" not in value:
        raise UsageError(f"the credentials of {found[0]['name']} are shown to {app}'s admins only")
    return str(value)


def _exec(program: str, argv: list[str], env: dict[str, str]) -> None:
    path = shutil.which(program)
    if path is None:
        package = "postgresql-client" if program == "psql" else "redis-tools"
        raise UsageError(f"{program} is not installed here", f"install {package}")
    # The client takes over this process: the terminal is its, as with `heroku pg:psql`.
    os.execve(path, [program, *argv], {**os.environ, **env})  # noqa: S606


@click.command("addons:psql")
@app_option
@click.argument("addon", required=False)
def addons_psql(app: str, addon: str | None) -> None:
    """Open psql on APP's database (ADDON, else DATABASE_URL's) with the app's credentials."""
    parts = urlsplit(_addon_url(app, addon, "postgres"))
    _exec(
        "psql",
        [],
        {
            "PGHOST": parts.hostname or "127.0.0.1",
            "PGPORT": str(parts.port or 5432),
            "PGUSER": unquote(parts.username or ""),
            "PGPASSWORD": unquote(parts.password or ""),
            "PGDATABASE": unquote(parts.path.lstrip("/")),
        },
    )


@click.command("addons:redis-cli")
@app_option
@click.argument("addon", required=False)
def addons_redis_cli(app: str, addon: str | None) -> None:
    """Open redis-cli on APP's Redis (ADDON, else REDIS_URL's) with the app's credentials."""
    parts = urlsplit(_addon_url(app, addon, "redis"))
    argv = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    if parts.username:
        argv += ["--user", unquote(parts.username)]
    if parts.path.strip("/"):
        argv += ["-n", parts.path.strip("/")]
    _exec("redis-cli", argv, {"REDISCLI_AUTH": unquote(parts.password or "")})


commands = [addons_psql, addons_redis_cli]
