"""``addons:psql`` and ``addons:redis-cli``: an interactive client on an add-on, as the app.

On the twelve server itself the client runs here, with the app's own credentials (from its config,
so an app admin's role is needed), the password in its environment, never its command line. From
anywhere else (or with ``--on-server``) it runs as a one-off of the app, attached to this terminal
through ``twelve run``'s transport, and reads the credentials from the one-off's own environment.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import sys
from urllib.parse import SplitResult, unquote, urlsplit

import click

from twelve.cli.attach import Request, run_attached
from twelve.cli.client import Client
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


def _addon(api: Client, app: str, name: str | None, service: str) -> dict[str, str]:
    """The attached add-on of ``service`` (``name``, else the one of the default variable)."""
    found = [
        a
        for a in api.request("GET", f"/apps/{app}/addons")
        if a["service"] == service and a["attached"] and (name is None or a["name"] == name)
    ]
    if not found:
        raise NotFound(f"{app} has no attached {service} add-on{f' named {name}' if name else ''}")
    found.sort(key=lambda a: a["config_var"] not in ("DATABASE_URL", "REDIS_URL"))
    return dict(found[0])


# What the one-off runs: the add-on's URL (in $URL) taken apart by the shell into the client's own
# variables, so the password is in no command line (any user on the server may read those). The
# URLs twelve makes need no percent-decoding (URL-safe passwords).
_SPLIT_URL = (
    'u="${URL#*://}"; c="${u%%@*}"; h="${u#*@}"; d=""; case "$h" in */*) d="${h#*/}";; esac; '
    'd="${d%%\\?*}"; h="${h%%/*}"; user="${c%%:*}"; pass="${c#*:}"; '
)
_CLIENTS = {
    "postgres": 'export PGUSER="$user" PGPASSWORD="$pass" PGHOST="${h%:*}" PGPORT="${h##*:}" '
    'PGDATABASE="$d"; exec psql',
    "redis": 'export REDISCLI_AUTH="$pass"; set -- -h "${h%:*}" -p "${h##*:}"; '
    'if [ -n "$user" ]; then set -- "$@" --user "$user"; fi; '
    'if [ -n "$d" ]; then set -- "$@" -n "$d"; fi; exec redis-cli "$@"',
}


def _on_server(api: Client, app: str, addon: dict[str, str], service: str) -> None:
    """The client as a one-off of ``app`` on this terminal; exits with its code."""
    line = f'URL="${addon["config_var"]}"; {_SPLIT_URL}{_CLIENTS[service]}'
    sys.exit(run_attached(api, Request(app, line, os.isatty(0) and os.isatty(1), {})))


def _addon_url(api: Client, app: str, found: dict[str, str]) -> str:
    value = api.request("GET", f"/apps/{app}/config").get(found["config_var"], "")
    if "***" in value or "://" not in value:
        raise UsageError(f"the credentials of {found['name']} are shown to {app}'s admins only")
    return str(value)


def _url_here(app: str, name: str | None, service: str, on_server: bool) -> SplitResult:
    """The add-on's URL, for a client run here; away from the twelve server, or ``on_server``,
    the client runs as a one-off instead and this never returns."""
    api = client()
    found = _addon(api, app, name, service)
    if on_server or not _local(api.base_url):
        _on_server(api, app, found, service)
    return urlsplit(_addon_url(api, app, found))


def _exec(program: str, argv: list[str], env: dict[str, str]) -> None:
    path = shutil.which(program)
    if path is None:
        package = "postgresql-client" if program == "psql" else "redis-tools"
        raise UsageError(f"{program} is not installed here", f"install {package}")
    # The client takes over this process: the terminal is its, as with `heroku pg:psql`.
    os.execve(path, [program, *argv], {**os.environ, **env})  # noqa: S606


ON_SERVER = click.option(
    "--on-server",
    is_flag=True,
    help="Run the client as a one-off of the app (the default away from the twelve server).",
)


@click.command("addons:psql")
@app_option
@ON_SERVER
@click.argument("addon", required=False)
def addons_psql(app: str, on_server: bool, addon: str | None) -> None:
    """Open psql on APP's database (ADDON, else DATABASE_URL's) with the app's credentials."""
    parts = _url_here(app, addon, "postgres", on_server)
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
@ON_SERVER
@click.argument("addon", required=False)
def addons_redis_cli(app: str, on_server: bool, addon: str | None) -> None:
    """Open redis-cli on APP's Redis (ADDON, else REDIS_URL's) with the app's credentials."""
    parts = _url_here(app, addon, "redis", on_server)
    argv = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    if parts.username:
        argv += ["--user", unquote(parts.username)]
    if parts.path.strip("/"):
        argv += ["-n", parts.path.strip("/")]
    _exec("redis-cli", argv, {"REDISCLI_AUTH": unquote(parts.password or "")})


commands = [addons_psql, addons_redis_cli]
