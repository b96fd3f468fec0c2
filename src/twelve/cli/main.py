"""The ``twelve`` entry point and its one error handler."""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from twelve import __version__
from twelve.cli import output
from twelve.errors import TwelveError

# Each module exposes ``commands``: a list of click commands or groups to add to the top level.
COMMAND_MODULES = (
    "server",
    "apps",
    "deploy",
    "config",
    "ps",
    "logs",
    "git",
    "domains",
    "certs",
    "acme",
    "addons",
    "backups",
    "dbshell",
    "runtimes",
    "check",
    "export",
    "local",
    "auth",
    "users",
    "access",
    "audit",
    "metrics",
    "webhooks",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="twelve")
@click.option("--verbose", is_flag=True, help="Show tracebacks of unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """twelve: git push an app, and it is built, released, run, routed and logged."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose


def _register() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"twelve.cli.{name}")
        for command in module.commands:
            cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every error ends as one line on stderr and a non-zero exit."""
    _register()
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
