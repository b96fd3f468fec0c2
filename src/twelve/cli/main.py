"""The ``twelve`` entry point and its one error handler."""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from twelve import __version__
from twelve.cli import output
from twelve.errors import TwelveError

# Each module exposes ``commands``, a list of click commands with these names; a module is imported
# only when one of its commands runs (or help lists them all), since some take long to import (the
# audit engine alone, half a second) and git push starts the CLI on every push.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "server": ("server",),
    "apps": ("apps", "apps:create", "apps:info", "apps:destroy"),
    "deploy": ("deploy", "releases", "rollback"),
    "config": ("config", "config:set", "config:unset", "config:get"),
    "ps": ("ps", "ps:scale", "ps:restart", "ps:limits", "ps:stop"),
    "run": ("run",),
    "cron": ("cron", "cron:run", "cron:runs"),
    "logs": ("logs",),
    "git": ("git:remote", "git:credential"),
    "domains": (
        "domains",
        "domains:add",
        "domains:remove",
        "drains",
        "drains:add",
        "drains:remove",
    ),
    "certs": ("certs", "certs:add", "certs:remove"),
    "acme": (
        "certs:auto",
        "certs:auto:enable",
        "certs:auto:disable",
        "features",
        "features:enable",
        "features:disable",
    ),
    "addons": (
        "addons",
        "addons:create",
        "addons:info",
        "addons:destroy",
        "addons:attach",
        "addons:detach",
        "addons:credentials:rotate",
    ),
    "backups": (
        "backups",
        "backups:capture",
        "backups:info",
        "backups:download",
        "backups:delete",
        "backups:verify",
        "backups:restore",
        "backups:schedule",
        "backups:unschedule",
    ),
    "dbshell": ("addons:psql", "addons:redis-cli"),
    "runtimes": ("runtimes", "runtimes:install", "runtimes:add", "runtimes:remove"),
    "check": ("check",),
    "export": ("export",),
    "local": ("local", "local:run", "local:check"),
    "auth": (
        "login",
        "logout",
        "auth:whoami",
        "auth:token",
        "auth:tokens",
        "auth:tokens:create",
        "auth:tokens:revoke",
    ),
    "users": ("users", "users:create", "users:invite"),
    "access": ("access", "access:add", "access:update", "access:remove"),
    "audit": ("audit", "audit:verify"),
    "metrics": ("metrics",),
    "webhooks": (
        "webhooks",
        "webhooks:add",
        "webhooks:remove",
        "webhooks:deliveries",
        "alerts",
        "alerts:set",
    ),
}
MODULE_OF = {name: module for module, names in COMMAND_MODULES.items() for name in names}


class LazyCommands(click.Group):
    """The top-level group: commands are found by name and their module imported on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *MODULE_OF})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = MODULE_OF.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        commands = importlib.import_module(f"twelve.cli.{module}").commands
        return next((c for c in commands if c.name == cmd_name), None)


@click.group(cls=LazyCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="twelve")
@click.option("--verbose", is_flag=True, help="Show tracebacks of unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """twelve: git push an app, and it is built, released, run, routed and logged."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every error ends as one line on stderr and a non-zero exit."""
    args = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in args
    try:
        code = cli.main(args=args, prog_name="twelve", standalone_mode=False)
    except TwelveError as exc:
        output.emit_error(exc)
        sys.exit(1)
    except click.exceptions.Abort:
        output.emit("", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        output.emit(f"twelve: {exc.format_message()} (see 'twelve --help')", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        output.emit_unexpected(exc)
        sys.exit(1)
    # A command's ctx.exit(N) (twelve check's exit codes) comes back as the return value.
    if isinstance(code, int) and code:
        sys.exit(code)
