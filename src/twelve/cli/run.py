"""``run``: a one-off command in the live release's environment, attached or detached."""

from __future__ import annotations

import os
import shlex
import sys

import click

from twelve.cli import output
from twelve.cli.attach import Request, run_attached
from twelve.cli.common import app_option, client
from twelve.cli.logs import logs
from twelve.errors import UsageError


@click.command("run", context_settings={"ignore_unknown_options": True})
@app_option
@click.option("--detached", "-d", is_flag=True, help="Return at once; the output goes to the log.")
@click.option(
    "--tty/--no-tty",
    default=None,
    help="Give the command a terminal (the default when this one is a terminal).",
)
@click.option("-e", "--env", "env", help="Variables for this run only: 'FOO=1;BAR=2'.")
@click.option("--tail", "-t", is_flag=True, help="With --detached: follow its output.")
@click.option("--exit-code", "-x", is_flag=True, hidden=True)  # Heroku's; the code always passes
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def run(
    ctx: click.Context,
    app: str,
    detached: bool,
    tty: bool | None,
    env: str | None,
    tail: bool,
    exit_code: bool,
    command: tuple[str, ...],
) -> None:
    """Run a one-off command in the live release's environment; exits with its code.

    On a terminal the command gets one (a REPL, a shell, top); otherwise stdin is passed to it and
    its stdout and stderr stay apart. One argument is run as a shell command line ('twelve run -a
    APP "echo $PORT; env"'); several are quoted word by word ('twelve run -a APP -- python -c
    "print(1)"').
    """
    # One argument is a shell command line, as Heroku takes it; several are quoted word by word.
    text = command[0] if len(command) == 1 else shlex.join(command)
    if not text.strip():
        raise UsageError("run needs a command", "twelve run -a APP -- COMMAND")
    variables = parse_env(env)
    api = client()
    if detached:
        body = {"command": text, "detached": True, "env": variables}
        data = api.request("POST", f"/apps/{app}/run", json=body)
        output.emit(f"Running `{text}` on {app}... up, {data['name']}")
        if tail:
            ctx.invoke(logs, app=app, num=100, tail=True, process=data["name"])
        else:
            output.emit(f"See its output with 'twelve logs -a {app} -p {data['name']} --tail'")
        return
    wants_tty = tty if tty is not None else (os.isatty(0) and os.isatty(1))
    sys.exit(run_attached(api, Request(app, text, wants_tty, variables)))


def parse_env(text: str | None) -> dict[str, str]:
    """Heroku's ``--env 'FOO=1;BAR=2'``."""
    variables: dict[str, str] = {}
    for pair in (text or "").split(";"):
        if not pair.strip():
            continue
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise UsageError(f"--env {pair!r} is not NAME=value", "for example --env 'FOO=1;BAR=2'")
        variables[name.strip()] = value
    return variables


commands = [run]
