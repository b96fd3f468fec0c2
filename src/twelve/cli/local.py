"""``local``, ``local:run``, ``local:check``: the app in the foreground, as the server would run it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import click

from twelve.appspec.dotenv import parse_dotenv
from twelve.appspec.procfile import Procfile, parse_procfile
from twelve.cli import output
from twelve.errors import UsageError
from twelve.local.output import line_format
from twelve.local.plan import base_port, parse_formation, plan_processes
from twelve.local.runner import LocalRun, Options
from twelve.supervisor import spawn


def _procfile(path: Path) -> Procfile:
    if not path.is_file():
        raise UsageError(f"{path} not found", "run it in the app's directory or pass -f PROCFILE")
    return parse_procfile(path.read_text(errors="replace"), str(path))


def _dotenv(app_dir: Path, files: tuple[str, ...]) -> dict[str, str]:
    """``.env`` by default (fine when missing); every named file must exist; later ones win."""
    values: dict[str, str] = {}
    for name in files or (".env",):
        path = app_dir / name
        if not path.is_file():
            if files:
                raise UsageError(f"env file {path} not found", "check the -e option")
            continue
        values.update(parse_dotenv(path.read_text(errors="replace"), str(path)))
    return values


procfile_option = click.option("-f", "--procfile", default="Procfile", show_default=True)
env_option = click.option("-e", "--env", "env_files", multiple=True, help="Env file (repeatable).")
root_option = click.option("-d", "--root", default=".", help="The app's directory.")


@click.command("local")
@click.argument("process_types", nargs=-1)
@procfile_option
@env_option
@root_option
@click.option("-m", "--formation", help="How many of each type: web=2,worker=1 or all=1,web=2.")
@click.option("-p", "--port", type=int, help="Base port (default $PORT or 5000).")
@click.option(
    "-t", "--timeout", default=5.0, show_default=True, help="Seconds from SIGTERM to SIGKILL."
)
@click.option("--restart", is_flag=True, help="Restart processes that exit, as the server does.")
@click.option("--no-prefix", is_flag=True, help="Print the processes' lines as they are.")
@click.option("--no-timestamp", is_flag=True, help="Leave the time out of the prefix.")
def local(
    process_types: tuple[str, ...],
    procfile: str,
    env_files: tuple[str, ...],
    root: str,
    formation: str | None,
    port: int | None,
    timeout: float,
    restart: bool,
    no_prefix: bool,
    no_timestamp: bool,
) -> None:
    """Run the Procfile's processes in the foreground, with .env, as the server runs them."""
    app_dir = Path(root).resolve()
    spec = _procfile(app_dir / procfile)
    dotenv = _dotenv(app_dir, env_files)
    shell = dict(os.environ)
    processes = plan_processes(
        spec, parse_formation(formation), list(process_types), base_port(port, {**shell, **dotenv}),
        shell, dotenv,
    )  # fmt: skip
    fmt = line_format(
        [p.name for p in processes],
        prefix=not no_prefix,
        timestamp=not no_timestamp,
        colour=sys.stdout.isatty(),
    )
    run = LocalRun(processes, Options(app_dir, timeout, restart), fmt, output.emit)
    sys.exit(asyncio.run(run.run()))


@click.command("local:run", context_settings={"ignore_unknown_options": True})
@env_option
@root_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def local_run(env_files: tuple[str, ...], root: str, command: tuple[str, ...]) -> None:
    """Run one command with the .env environment, attached to this terminal; exits with its code."""
    app_dir = Path(root).resolve()
    env = {**os.environ, **_dotenv(app_dir, env_files), "PYTHONUNBUFFERED": "1"}
    sys.exit(spawn.run_in_terminal(list(command), cwd=app_dir, env=env))


@click.command("local:check")
@procfile_option
@env_option
@root_option
def local_check(procfile: str, env_files: tuple[str, ...], root: str) -> None:
    """Validate the Procfile and .env; every error names the file and the line."""
    app_dir = Path(root).resolve()
    spec = _procfile(app_dir / procfile)
    values = _dotenv(app_dir, env_files)
    output.emit(f"{procfile}: {len(spec.types)} process types ({', '.join(spec.types)})")
    output.emit(f"env: {len(values)} variables")


commands = [local, local_run, local_check]
