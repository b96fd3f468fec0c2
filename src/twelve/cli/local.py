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
from twelve.errors import SpecError, UsageError
from twelve.local.output import line_format
from twelve.local.plan import base_port, local_environment, parse_formation, plan_processes
from twelve.local.runner import LocalRun, Options
from twelve.settings import Settings
from twelve.supervisor import spawn
from twelve.supervisor.policy import Backoff


def _app_dir(root: str | None, procfile: str) -> Path:
    """``-d``, else the Procfile's directory when ``-f`` names one elsewhere, else here."""
    path = Path(root) if root is not None else Path(procfile).parent
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory", "pass the app's directory with -d")
    return path.resolve()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _procfile(app_dir: Path, name: str) -> tuple[Path, Procfile]:
    # A bare name is the app directory's; a path is taken as given, as Foreman takes it.
    path = app_dir / name if Path(name).parent == Path() else Path(name)
    if not path.is_file():
        raise UsageError(f"{path} not found", "run it in the app's directory or pass -f PROCFILE")
    spec = parse_procfile(_read(path), str(path))
    if not spec.types:
        raise SpecError(f"{path}: no process types", "add a line such as 'web: python app.py'")
    return path, spec


def _dotenv(app_dir: Path, files: tuple[str, ...]) -> dict[str, str]:
    """``.env`` by default (fine when missing); every named file must exist; later ones win."""
    names = [n.strip() for arg in files for n in arg.split(",") if n.strip()]
    values: dict[str, str] = {}
    for name in names or [".env"]:
        path = app_dir / name
        if not path.is_file():
            if names:
                raise UsageError(f"env file {path} not found", "check the -e option")
            continue
        values.update(parse_dotenv(_read(path), str(path)))
    return values


def _backoff() -> Backoff:
    """The server's restart policy, with the same TWELVE_* settings."""
    settings = Settings.from_environ()
    return Backoff(cap=settings.restart_backoff_max, reset_after=settings.restart_reset_after)


procfile_option = click.option(
    "-f", "--procfile", default="Procfile", show_default=True, help="The Procfile to run."
)
env_option = click.option(
    "-e", "--env", "env_files", multiple=True, help="Env file, repeatable (default: .env)."
)
root_option = click.option("-d", "--root", help="The app's directory (default: the Procfile's).")
port_option = click.option(
    "-p", "--port", type=click.IntRange(1, 65535), help="Base port (default: $PORT or 5000)."
)


@click.command("local")
@click.argument("process_types", nargs=-1)
@procfile_option
@env_option
@root_option
@click.option("-m", "--formation", help="How many of each type: web=2,worker=1 or all=1,web=2.")
@port_option
@click.option(
    "-t",
    "--timeout",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds from SIGTERM to SIGKILL.",
)
@click.option("--restart", is_flag=True, help="Restart processes that exit, as the server does.")
@click.option("--no-prefix", is_flag=True, help="Print the processes' lines as they are.")
@click.option("--no-timestamp", is_flag=True, help="Leave the time out of the prefix.")
def local(
    process_types: tuple[str, ...],
    procfile: str,
    env_files: tuple[str, ...],
    root: str | None,
    formation: str | None,
    port: int | None,
    timeout: float,
    restart: bool,
    no_prefix: bool,
    no_timestamp: bool,
) -> None:
    """Run the Procfile's processes in the foreground, with .env, as the server runs them.

    One of each type (except release) unless PROCESS_TYPES or -m say otherwise. When one
    process exits, the others are stopped and twelve local exits with its code.
    """
    app_dir = _app_dir(root, procfile)
    _, spec = _procfile(app_dir, procfile)
    dotenv = _dotenv(app_dir, env_files)
    shell = dict(os.environ)
    processes = plan_processes(
        spec,
        parse_formation(formation),
        list(process_types),
        base_port(port, {**shell, **dotenv}),
        shell,
        dotenv,
        app_dir.name,
    )
    fmt = line_format(
        [p.name for p in processes],
        prefix=not no_prefix,
        timestamp=not no_timestamp,
        colour=sys.stdout.isatty(),
    )
    options = Options(app_dir, timeout, restart, _backoff())
    sys.exit(asyncio.run(LocalRun(processes, options, fmt, output.emit).run()))


@click.command("local:run", context_settings={"ignore_unknown_options": True})
@env_option
@root_option
@port_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def local_run(
    env_files: tuple[str, ...], root: str | None, port: int | None, command: tuple[str, ...]
) -> None:
    """Run one command with the .env environment, attached to this terminal; exits with its code.

    For example: twelve local:run -- python manage.py shell
    """
    app_dir = _app_dir(root, "Procfile")
    shell = dict(os.environ)
    dotenv = _dotenv(app_dir, env_files)
    env = local_environment(
        shell, dotenv, app=app_dir.name, dyno="run.1", port=base_port(port, {**shell, **dotenv})
    )
    try:
        code = spawn.run_in_terminal(list(command), cwd=app_dir, env=env)
    except (FileNotFoundError, PermissionError) as exc:
        raise UsageError(
            f"cannot run {command[0]!r}: {exc.strerror}", "check the command and your PATH"
        ) from None
    sys.exit(code)


@click.command("local:check")
@procfile_option
@env_option
@root_option
def local_check(procfile: str, env_files: tuple[str, ...], root: str | None) -> None:
    """Validate the Procfile and .env; every error names the file and the line."""
    app_dir = _app_dir(root, procfile)
    path, spec = _procfile(app_dir, procfile)
    values = _dotenv(app_dir, env_files)
    output.emit(f"{path.name}: {len(spec.types)} process types ({', '.join(spec.types)})")
    output.emit(f"env: {len(values)} variables")


commands = [local, local_run, local_check]
